# taxii_paging_client: TAXII paging throughput of a running caravand with
# its same-run baselines (raw SQLite read, nlohmann DOM STIX); driven by
# taxii_paging_bench.sh. Not part of ctest.
add_executable(taxii_paging_client taxii_paging_client.cc)
target_link_libraries(taxii_paging_client PRIVATE caravan_feeds
  SQLite::SQLite3 Boost::headers)
