# formats_bench: STIX import/export and MISP import throughput, each next to
# plain nlohmann::json::parse of the same bytes.
caravan_add_bench(formats_bench
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/formats_bench.cc
  LIBS caravan_formats)
