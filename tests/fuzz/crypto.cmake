# Fuzz targets of crypto/ (included from tests/fuzz/CMakeLists.txt).
caravan_add_fuzzer(fuzz_noise_read
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_noise_read.cc
  LIBS caravan_crypto
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/noise)

caravan_add_fuzzer(fuzz_link_certificate
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_link_certificate.cc
  LIBS caravan_crypto
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/link_certificate)

caravan_add_fuzzer(fuzz_key_backup_header
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_key_backup_header.cc
  LIBS caravan_crypto
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/key_backup)

# Identity key rotation statements (a peer relays them; docs/federation.md).
caravan_add_fuzzer(fuzz_identity_rotation
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_identity_rotation.cc
  LIBS caravan_crypto
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/identity_rotation)

# The identity payload of a handshake with its rotation chain (docs/wire.md).
caravan_add_fuzzer(fuzz_handshake_chain
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_handshake_chain.cc
  LIBS caravan_crypto
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/handshake_chain)
