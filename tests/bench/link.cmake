# Benchmarks of daemon/link (included from tests/bench/CMakeLists.txt).
caravan_add_bench(link_compression_bench
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/link_compression_bench.cc
  LIBS caravan_link caravan_sync PkgConfig::ZSTD)
