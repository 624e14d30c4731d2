#!/bin/bash
# The dracut VM test's own module (not the package's): the fake scheduler
# and a hook after the package's that keeps the guest in its initramfs.
check() { return 0; }
depends() { return 0; }
install() {
  inst_simple "$KTSTATS_TEST_SCHEDULER" /usr/bin/fake-scheduler
  inst_multiple sleep mkdir
  inst_hook pre-udev 99 "$moddir/ktstats-test.sh"
}
