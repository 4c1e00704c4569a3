# End-to-end benchmarks of caravand + caravan (tests/bench/e2e), driven by
# scripts/bench; not part of ctest.
#   raw_insert     the raw-SQLite baseline for bulk submit
#   query_latency  exact-value query latency over the control socket
add_executable(raw_insert e2e/raw_insert.cc)
target_link_libraries(raw_insert PRIVATE caravan_store caravan_protocol
  SQLite::SQLite3 PkgConfig::SODIUM)
add_executable(query_latency e2e/query_latency.cc)
target_link_libraries(query_latency PRIVATE caravan_protocol)
