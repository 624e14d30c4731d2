#!/bin/sh
# The dracut VM test's hook, after the package's (pre-udev 90): says on the
# console who started the relay, starts the fake scheduler where the relay
# looks for it and keeps the guest in its initramfs (there is no root file
# system to go on to).
if [ -f /var/run/ktstats-relay.pid ]; then
  echo "ktstats-test: relay started by the image's boot script" >/dev/console
else
  echo "ktstats-test: no relay started" >/dev/console
fi
if [ -L /sbin ]; then
  echo "ktstats-test: /sbin is a symlink" >/dev/console
else
  echo "ktstats-test: /sbin is not a symlink" >/dev/console
fi
mkdir -p /var/run/scx/root
/usr/bin/fake-scheduler --socket /var/run/scx/root/stats >/dev/console 2>&1 &
while :; do sleep 3600; done
