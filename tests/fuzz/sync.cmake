# Fuzz target of the sync path (included from tests/fuzz/CMakeLists.txt):
# a peer's Records message, whole batches included.
caravan_add_fuzzer(fuzz_records_message
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_records_message.cc
  LIBS caravan_sync
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/records_message)
