# Benchmarks of daemon/sync (included from tests/bench/CMakeLists.txt).
caravan_add_bench(sync_bench
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/sync_bench.cc
  LIBS caravan_sync caravan_policy)
