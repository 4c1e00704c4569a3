target_sources(caravan_protocol PRIVATE ${CMAKE_CURRENT_LIST_DIR}/stix.cc ${CMAKE_CURRENT_LIST_DIR}/misp.cc)
