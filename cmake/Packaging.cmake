# Two Debian packages: ktstats (the host command) and ktstats-relay (the
# static guest relay with its initramfs, dracut and systemd files).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ktstats)
set(CPACK_PACKAGE_VENDOR "ktstats")
set(CPACK_PACKAGE_CONTACT "ktstats developers <ktstats@invalid>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL cli relay)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)

set(CPACK_DEBIAN_CLI_PACKAGE_NAME ktstats)
set(CPACK_DEBIAN_CLI_PACKAGE_SHLIBDEPS ON)
set(CPACK_COMPONENT_CLI_DESCRIPTION
  "sched_ext scheduler statistics from VMs and local schedulers\n ktstats reads a sched_ext scheduler's scx_stats statistics through a VM's\n virtio-console port (with ktstats-relay in the guest) or from a local socket,\n as JSON, a table or OpenMetrics.")

set(CPACK_DEBIAN_RELAY_PACKAGE_NAME ktstats-relay)
set(CPACK_COMPONENT_RELAY_DESCRIPTION
  "guest relay for ktstats: scx_stats over a virtio-console port\n ktstats-relay bridges a virtio-console port to the sched_ext scheduler's\n scx_stats socket inside a guest. The binary is static, for initramfs images;\n the package adds initramfs-tools and dracut support and a systemd unit.")

include(CPack)
