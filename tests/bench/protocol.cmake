# protocol_bench: parsing/normalization over the real corpus and record
# codec throughput, each next to a trivial baseline over the same data.
caravan_add_bench(protocol_bench
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/protocol_bench.cc
  LIBS caravan_protocol)
