#!/bin/sh
# dracut pre-udev hook: starts ktstats-relay when asked on the command line.
type getargbool >/dev/null 2>&1 || . /lib/dracut-lib.sh
if getargbool 0 ktstats.relay; then
  modprobe -q virtio_console
  . /etc/ktstats/start-relay
fi
