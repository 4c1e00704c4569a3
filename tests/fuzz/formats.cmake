# Fuzz targets for the STIX and MISP importers (protocol/formats/stix.h, misp.h).
set(_ff ${CMAKE_CURRENT_LIST_DIR})
caravan_add_fuzzer(fuzz_stix_import
  SOURCES ${_ff}/fuzz_stix_import.cc LIBS caravan_formats
  CORPUS ${_ff}/corpus/stix)
caravan_add_fuzzer(fuzz_misp_import
  SOURCES ${_ff}/fuzz_misp_import.cc LIBS caravan_formats
  CORPUS ${_ff}/corpus/misp)
# The streaming importers (stix_stream.h, misp_stream.h) against the
# whole-document ones: same items for every input.
caravan_add_fuzzer(fuzz_stream_import
  SOURCES ${_ff}/fuzz_stream_import.cc LIBS caravan_formats
  CORPUS ${_ff}/corpus/stream)
