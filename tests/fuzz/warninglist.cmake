# Fuzz target for MISP warninglist files (protocol/formats/warninglist.h). Seeds:
# the small real lists and heads of the large ones from
# shared/testdata/real/warninglists, plus regex/substring/IPv6 samples.
set(_fw ${CMAKE_CURRENT_LIST_DIR})
caravan_add_fuzzer(fuzz_warninglist
  SOURCES ${_fw}/fuzz_warninglist.cc LIBS caravan_formats
  CORPUS ${_fw}/corpus/warninglist)
