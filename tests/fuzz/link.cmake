# Fuzz targets of daemon/link (included from tests/fuzz/CMakeLists.txt).
caravan_add_fuzzer(fuzz_link_decoder
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_link_decoder.cc
  LIBS caravan_link
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/link)

# Compressed application messages (docs/wire.md 4.3): zstd frames from a peer.
caravan_add_fuzzer(fuzz_link_decompress
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_link_decompress.cc
  LIBS caravan_link
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/link_decompress)
