# Package.cmake - the Debian package: `cpack -G DEB` in a build configured
# with -DHM_DEB=ON -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_SYSCONFDIR=/etc
# (contrib/build-deb.sh does all of it) builds hosted-milter_<version>_<arch>.deb.
#
# Owns what only the package installs: the systemd unit in /lib/systemd/system,
# the sysusers.d and tmpfiles.d entries, the man pages gzipped, the Debian
# copyright and changelogs, the maintainer scripts (contrib/debian) and the
# CPack settings.  A plain `cmake --install` (HM_DEB off) installs none of it.

set(HM_DEB_RELEASE 1 CACHE STRING "Debian revision of the package (the -N of its version)")
set(HM_DEB_VERSION "${PROJECT_VERSION}-${HM_DEB_RELEASE}")
set(HM_DEB_MAINTAINER "hosted-milter maintainers <hosted-milter@lists.example.org>")
set(HM_DEB_DIR ${CMAKE_CURRENT_SOURCE_DIR}/contrib/debian)
set(HM_DEB_BUILD ${CMAKE_CURRENT_BINARY_DIR}/deb)

if(HM_DEB)
  if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr" OR NOT CMAKE_INSTALL_FULL_SYSCONFDIR STREQUAL "/etc")
    message(FATAL_ERROR "HM_DEB=ON needs -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_SYSCONFDIR=/etc")
  endif()
  find_program(HM_GZIP gzip REQUIRED)
  # gzip -9n: no name or time stamp in the header, as Debian wants.
  set(hm_gz_outputs)
  foreach(pair "${HM_MAN8};hosted-milter.8" "${HM_MAN5};hosted-milter.conf.5"
               "${HM_DEB_DIR}/changelog.upstream;changelog"
               "${HM_DEB_BUILD}/changelog.Debian;changelog.Debian")
    list(GET pair 0 src)
    list(GET pair 1 name)
    add_custom_command(OUTPUT ${HM_DEB_BUILD}/gz/${name}.gz
                       COMMAND ${CMAKE_COMMAND} -E copy ${src} ${HM_DEB_BUILD}/gz/${name}
                       COMMAND ${HM_GZIP} -9nf ${HM_DEB_BUILD}/gz/${name}
                       DEPENDS ${src} VERBATIM)
    list(APPEND hm_gz_outputs ${HM_DEB_BUILD}/gz/${name}.gz)
  endforeach()
  add_custom_target(deb-files ALL DEPENDS ${hm_gz_outputs})
  configure_file(${HM_DEB_DIR}/changelog.in ${HM_DEB_BUILD}/changelog.Debian @ONLY)
  configure_file(${HM_DEB_DIR}/lintian-overrides ${HM_DEB_BUILD}/lintian-overrides COPYONLY)
  file(WRITE ${HM_DEB_BUILD}/conffiles "/etc/hosted-milter/hosted-milter.conf\n")

  install(FILES ${HM_DEB_BUILD}/gz/hosted-milter.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
  install(FILES ${HM_DEB_BUILD}/gz/hosted-milter.conf.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
  install(FILES ${HM_DEB_DIR}/copyright ${HM_DEB_BUILD}/gz/changelog.gz
                ${HM_DEB_BUILD}/gz/changelog.Debian.gz DESTINATION ${HM_DOCDIR})
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/hosted-milter.service DESTINATION /lib/systemd/system)
  install(FILES ${HM_DEB_DIR}/hosted-milter.sysusers DESTINATION lib/sysusers.d
          RENAME hosted-milter.conf)
  install(FILES ${HM_DEB_DIR}/hosted-milter.tmpfiles DESTINATION lib/tmpfiles.d
          RENAME hosted-milter.conf)
  install(FILES ${HM_DEB_BUILD}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
          RENAME hosted-milter)
endif()

set(CPACK_GENERATOR DEB)
# DESTDIR staging: the absolute destinations (/etc, /lib/systemd) land in
# the package, and the install-time prefix check sees the configured prefix.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGE_NAME hosted-milter)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${HM_DEB_MAINTAINER}")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "recipient policy milter for the mail domains hosted on a server")
# The synopsis is the summary above; this is the long description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "hosted-milter is a libmilter filter for Postfix (smtpd_milters) and
Sendmail (INPUT_MAIL_FILTER).  For every hosted domain it accepts mail
only for addresses that exist there and refuses the rest at RCPT time, so
there is no accept-then-bounce backscatter; it delivers secondary (proxy)
addresses, aliases, catch-alls and alias domains to their mailboxes, and
makes postmaster@ every hosted domain reach a mailbox.
.
Mailboxes come from its configuration file, Postfix virtual(5) files, an
LDAP directory (Active Directory, iRedMail or a custom schema) or an SQL
database (PostgreSQL, MariaDB/MySQL, e.g. Postfix Admin).  A reload
(SIGUSR1) checks the new configuration beside the running one and swaps
it in only when it is valid.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE ${HM_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${HM_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser: the postinst creates the service user with it.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postfix | sendmail")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${HM_DEB_DIR}/postinst ${HM_DEB_DIR}/prerm ${HM_DEB_DIR}/postrm ${HM_DEB_DIR}/triggers
    ${HM_DEB_BUILD}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
