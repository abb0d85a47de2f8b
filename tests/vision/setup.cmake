# The IDX tests write gzip'd files of their own.
find_package(ZLIB REQUIRED)
target_link_libraries(test_${kind} PRIVATE ZLIB::ZLIB)
