# What `cmake --install` puts besides the binaries (which their own
# CMakeLists install): man pages, shell completion, the documentation and
# example configuration. The Debian package (deb.cmake) ships exactly this.

# Man pages, compressed as Debian installs them (gzip -n: no name or time
# in the header, so the same page gives the same bytes).
set(CARAVAN_MAN_PAGES
  docs/man/caravan.1
  docs/man/caravand.8
  docs/man/caravand.toml.5
  docs/man/caravan-policy.5)
find_program(CARAVAN_GZIP gzip REQUIRED)
set(caravan_man_outputs)
foreach(page IN LISTS CARAVAN_MAN_PAGES)
  get_filename_component(name "${page}" NAME)
  string(REGEX MATCH "[0-9]$" section "${name}")
  set(out "${PROJECT_BINARY_DIR}/man/${name}.gz")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${PROJECT_BINARY_DIR}/man"
    COMMAND "${CARAVAN_GZIP}" -9n -c "${PROJECT_SOURCE_DIR}/${page}" > "${out}"
    DEPENDS "${PROJECT_SOURCE_DIR}/${page}"
    COMMENT "gzip ${name}"
    VERBATIM)
  list(APPEND caravan_man_outputs "${out}")
  install(FILES "${out}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man${section}")
endforeach()
add_custom_target(caravan_man_pages ALL DEPENDS ${caravan_man_outputs})

# Shell completion, where bash-completion and Debian's zsh look.
install(FILES tools/completion/caravan.bash
  DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
  RENAME caravan)
install(FILES tools/completion/caravan.bash
  DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
  RENAME caravand)
install(FILES tools/completion/_caravan
  DESTINATION "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions")

# Documentation an operator needs on the machine, and the example policies
# next to the example config (CMakeLists.txt installs caravand.toml there).
install(FILES README.md docs/deploy.md docs/config.md docs/policy.md
              docs/cli.md docs/audit.md docs/federation.md docs/taxii.md
              docs/spool.md docs/metrics.md docs/warninglists.md docs/stix.md
  DESTINATION "${CMAKE_INSTALL_DOCDIR}")
install(DIRECTORY systemd/policies/
  DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples/policies"
  FILES_MATCHING PATTERN "*.toml")
