#!/bin/sh
# dracut cleanup hook: stops the relay the pre-udev hook started, before the
# switch to the root file system (see /etc/ktstats/stop-relay:
# ktstats-relay.service takes over there).
. /etc/ktstats/stop-relay
