# Benchmarks for daemon/policy (run with scripts/bench or directly).
caravan_add_bench(policy_bench
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/policy_bench.cc
  LIBS caravan_policy SQLite::SQLite3)
