#!/bin/bash
# dracut module: ktstats-relay and the virtio console modules, started in
# the initramfs when the kernel command line has "ktstats.relay" and
# stopped before switch_root (ktstats-relay.service takes over there).
# Installed as /usr/lib/dracut/modules.d/90ktstats-relay/.

check() {
  require_binaries /usr/sbin/ktstats-relay || return 1
  # In every image built while the package is installed, host-only or not,
  # as the initramfs-tools hook does: it costs nothing until asked for on
  # the command line.
  return 0
}

depends() {
  return 0
}

installkernel() {
  instmods virtio_pci virtio_console
}

install() {
  inst_simple /usr/sbin/ktstats-relay /usr/sbin/ktstats-relay
  inst_simple /usr/share/ktstats-relay/start-relay /etc/ktstats/start-relay
  inst_simple /usr/share/ktstats-relay/stop-relay /etc/ktstats/stop-relay
  inst_multiple mkdir sleep
  inst_hook pre-udev 90 "$moddir/ktstats-relay-start.sh"
  inst_hook cleanup 90 "$moddir/ktstats-relay-stop.sh"
}
