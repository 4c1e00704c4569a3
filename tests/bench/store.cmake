# store_bench: group-commit writes vs raw SQLite, query latency (daemon/store).
caravan_add_bench(store_bench
  SOURCES store_bench.cc
  LIBS caravan_store SQLite::SQLite3 PkgConfig::SODIUM)
