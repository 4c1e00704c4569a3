# warninglist_bench: matching real indicators against the real MISP
# warninglists, next to a plain std::unordered_set lookup of the same values.
caravan_add_bench(warninglist_bench
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/warninglist_bench.cc
  LIBS caravan_formats)
