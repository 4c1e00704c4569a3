# Fuzz targets for protocol/ parsers of untrusted input.
set(_pf ${CMAKE_CURRENT_LIST_DIR})
caravan_add_fuzzer(fuzz_indicator_parse
  SOURCES ${_pf}/fuzz_indicator_parse.cc LIBS caravan_protocol
  CORPUS ${_pf}/corpus/indicator)
caravan_add_fuzzer(fuzz_record_decode
  SOURCES ${_pf}/fuzz_record_decode.cc LIBS caravan_protocol
  CORPUS ${_pf}/corpus/record)
caravan_add_fuzzer(fuzz_control_frame
  SOURCES ${_pf}/fuzz_control_frame.cc LIBS caravan_protocol
  CORPUS ${_pf}/corpus/control)
caravan_add_fuzzer(fuzz_bulk_reader
  SOURCES ${_pf}/fuzz_bulk_reader.cc LIBS caravan_formats
  CORPUS ${_pf}/corpus/bulk)
caravan_add_fuzzer(fuzz_url_host
  SOURCES ${_pf}/fuzz_url_host.cc LIBS caravan_protocol
  CORPUS ${_pf}/corpus/url_host)
caravan_add_fuzzer(fuzz_ip_embedded
  SOURCES ${_pf}/fuzz_ip_embedded.cc LIBS caravan_protocol
  CORPUS ${_pf}/corpus/ip_embedded)
caravan_add_fuzzer(fuzz_id_prefix
  SOURCES ${_pf}/fuzz_id_prefix.cc LIBS caravan_protocol
  CORPUS ${_pf}/corpus/id_prefix)
