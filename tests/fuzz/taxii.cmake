# Fuzz target for the TAXII 2.1 request path (daemon/feeds/taxii_handler.h):
# raw HTTP bytes through Beast's parser and the handler, on an empty store.
set(_ft ${CMAKE_CURRENT_LIST_DIR})
caravan_add_fuzzer(fuzz_taxii_request
  SOURCES ${_ft}/fuzz_taxii_request.cc LIBS caravan_feeds
  CORPUS ${_ft}/corpus/taxii)
