# taxii_bench: TAXII lookups by id and paging (daemon/feeds/taxii_handler.h)
# against raw SQLite and the store's own query pages, on one store.
caravan_add_bench(taxii_bench
  SOURCES taxii_bench.cc
  LIBS caravan_feeds caravan_store SQLite::SQLite3 PkgConfig::SODIUM)
