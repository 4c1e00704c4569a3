# Benchmarks of crypto/ (included from tests/bench/CMakeLists.txt).
caravan_add_bench(crypto_bench
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/crypto_bench.cc
  LIBS caravan_crypto)
