# A Debian package of the install tree, for CI runners: `cmake --build build --target package`
# (or `cd build && cpack`) writes build/portsafe_<version>_<arch>.deb. Installed under /usr, the
# programs find their siblings (bin/../lib/libportsafe.so, bin/portsafed) as in any install tree.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME portsafe)
set(CPACK_PACKAGE_VENDOR portsafe)
set(CPACK_PACKAGE_CONTACT "portsafe maintainers <portsafe@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "ends 'address already in use' flakes in parallel test runs")
set(CPACK_PACKAGE_DESCRIPTION
    "portsafe-run wraps a test command or a CI job: a preloaded library coordinates port-0 picks through a shared table, and a supervisor holds ports for the job.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
# Dependencies from the binaries themselves (dpkg-shlibdeps): libc6, and libstdc++6 for the
# tools that link it dynamically.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
# Maintainer scripts: enable and start the host daemon's units on the first install (when
# systemd runs), keep the admin's choice on upgrades, stop and disable them on removal.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
