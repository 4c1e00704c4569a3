# Fuzz target for spool format sniffing and progress markers
# (daemon/feeds/spool_format.h, spool_state.h).
set(_fs ${CMAKE_CURRENT_LIST_DIR})
caravan_add_fuzzer(fuzz_spool
  SOURCES ${_fs}/fuzz_spool.cc LIBS caravan_feeds
  CORPUS ${_fs}/corpus/spool)
