# Fuzz target of hub mode (included from tests/fuzz/CMakeLists.txt).
caravan_add_fuzzer(fuzz_hub_envelope
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_hub_envelope.cc
  LIBS caravan_sync
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/hub)

# Hub accountability: the inner header (chain link, receipt) and the
# recipient's path behind the seal.
caravan_add_fuzzer(fuzz_hub_inner
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_hub_inner.cc
  LIBS caravan_sync
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/hub_inner)

# Forward secrecy: the signed prekey statement members and hubs relay.
caravan_add_fuzzer(fuzz_prekey_statement
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_prekey_statement.cc
  LIBS caravan_sync
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/prekey)

# Compromise notices (issue 16): the signed notice peers send each other.
caravan_add_fuzzer(fuzz_compromise_notice
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_compromise_notice.cc
  LIBS caravan_sync
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/compromise_notice)

# `caravan key compromised --key TEXT` (issue 16): the operator's text
# matched against our retired keys.
caravan_add_fuzzer(fuzz_retired_key_choice
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_retired_key_choice.cc
  LIBS caravan_node
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/retired_key_choice)
