# Two Debian packages: ktstats (the host command) and ktstats-relay (the
# static guest relay with its initramfs, dracut and systemd files).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ktstats)
set(CPACK_PACKAGE_VENDOR "ktstats")
# KTSTATS_MAINTAINER: a cache variable (packaging/CMakeLists.txt), so a
# distributor sets their own with -DKTSTATS_MAINTAINER="Name <address>".
set(CPACK_PACKAGE_CONTACT "${KTSTATS_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL cli relay)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
# Control files and directories with the modes Debian expects (0644, 0755),
# whatever the umask of the checkout and of the build.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

# Each package's description starts with its own synopsis line: without
# this, CPack puts the project's summary before it as both packages' synopsis.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME ktstats)
set(CPACK_DEBIAN_CLI_PACKAGE_SHLIBDEPS ON)
# /etc/ktstats/serve.toml is a conffile; the maintainer scripts make the
# ktstats group and enable, start, stop ktstats-serve.service.
set(CPACK_DEBIAN_CLI_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/ktstats/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/debian/ktstats/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/ktstats/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/ktstats/postrm)
set(CPACK_COMPONENT_CLI_DESCRIPTION
  "sched_ext scheduler statistics from VMs and local schedulers\nktstats reads a sched_ext scheduler's scx_stats statistics through a VM's\nvirtio-console port (with ktstats-relay in the guest) or from a local socket,\nas JSON, a table or OpenMetrics. Its daemon, ktstats serve\n(ktstats-serve.service), gives each VM's scheduler a local scx_stats socket\nfor any number of unmodified scx_stats clients.")

set(CPACK_DEBIAN_RELAY_PACKAGE_NAME ktstats-relay)
# The update-initramfs trigger, as packages with initramfs hooks have: images
# are rebuilt with the relay's hook and module when it is installed or removed.
set(CPACK_DEBIAN_RELAY_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/debian/triggers)
set(CPACK_COMPONENT_RELAY_DESCRIPTION
  "guest relay for ktstats: scx_stats over a virtio-console port\nktstats-relay bridges a virtio-console port to the sched_ext scheduler's\nscx_stats socket inside a guest. The binary is static, for initramfs images;\nthe package adds initramfs-tools and dracut support and a systemd unit.")

include(CPack)
