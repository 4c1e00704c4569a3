# The Debian package (CPack DEB): `cpack -G DEB` in a build tree, or
# scripts/package, which builds a release tree first. Produces
#   caravan_<version>_<arch>.deb          stripped binaries, unit, sysusers,
#                                         tmpfiles, man pages, completion,
#                                         docs and example config/policies
#   caravan-dbgsym_<version>_<arch>.ddeb  their debug symbols, by build id
#                                         (/usr/lib/debug/.build-id/...)
# Maintainer scripts (systemd/package/deb/): postinst creates the caravan
# user and group and the directories and enables nothing; prerm stops the
# daemon on removal; postrm purge keeps /var/lib/caravan unless
# CARAVAN_PURGE_STATE=yes.
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "caravan")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "caravan")
set(CPACK_PACKAGE_CONTACT "caravan maintainers <caravan@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "threat-indicator sharing between national CERTs")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"caravand lets national CERTs share signed threat indicators over\n\
mutually authenticated Noise links, or sealed through a relay hub, under\n\
per-country sharing policies (default deny), with every decision audited.\n\
The caravan CLI, STIX 2.1, MISP, TAXII 2.1, spool directory and Prometheus\n\
metrics connect it to a CERT's tools. Runs sandboxed under systemd.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# zstd: dpkg 1.21 (Debian 12) reads it; xz took minutes for the ~150 MB of
# debug symbols on a loaded 2-core CI machine, zstd a few seconds.
set(CPACK_DEBIAN_COMPRESSION_TYPE "zstd")
# Library dependencies from dpkg-shlibdeps; the user is made by
# systemd-sysusers, or adduser without systemd.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "sqlite3")
# Debug symbols split out of the binaries into caravan-dbgsym; the binaries
# in caravan are stripped (--strip-unneeded) with a debuglink.
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_CURRENT_LIST_DIR}/deb/postinst"
    "${CMAKE_CURRENT_LIST_DIR}/deb/prerm"
    "${CMAKE_CURRENT_LIST_DIR}/deb/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# Only the package's own files: the tests and benchmarks install nothing.
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
