# The learning tests read a small corpus synthesised once by this setup test (cached in the build
# folder, so reruns skip the synthesis).
add_test(NAME speech_learning_data
         COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/make_speech.sh ${PROJECT_BINARY_DIR}/focus
                 ${CMAKE_CURRENT_SOURCE_DIR}/speech_learning/tiny.json
                 --set data.cache=${PROJECT_BINARY_DIR}/speech_cache)
set_tests_properties(speech_learning_data PROPERTIES FIXTURES_SETUP speech_data
                     LABELS speech_learning TIMEOUT 120)
list(APPEND extra FIXTURES_REQUIRED speech_data)
target_compile_definitions(test_${kind} PRIVATE
                           FOCUS_SPEECH_CONFIG="${CMAKE_CURRENT_SOURCE_DIR}/speech_learning/tiny.json"
                           FOCUS_SPEECH_CACHE="${PROJECT_BINARY_DIR}/speech_cache")
