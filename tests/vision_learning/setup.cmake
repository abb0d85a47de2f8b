# One training run shared by every case: a ctest fixture trains the slice (slice.json) into
# <build>/vision_learning/model before the cases run; run alone, the executable trains it itself.
# One thread: ctest runs suites side by side, and two OpenMP threads sharing two busy cores with
# another suite wait on each other (measured 234 s against 27 s for one thread under load 6).
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/vision_learning)
add_test(NAME vision_learning_train
         COMMAND bash -c "rm -rf model train.out train.status; \"$<TARGET_FILE:focus_cli>\" train --config '${CMAKE_CURRENT_SOURCE_DIR}/vision_learning/slice.json' --out '${PROJECT_BINARY_DIR}/vision_learning/model' --threads 1 --quiet > train.out 2>&1; s=$?; echo $s > train.status; exit $s"
         WORKING_DIRECTORY ${PROJECT_BINARY_DIR}/vision_learning)
set_tests_properties(vision_learning_train PROPERTIES FIXTURES_SETUP vision_slice
                     LABELS vision_learning TIMEOUT 300)
target_compile_definitions(test_${kind} PRIVATE
                           FOCUS_VISION_SLICE="${CMAKE_CURRENT_SOURCE_DIR}/vision_learning/slice.json")
list(APPEND extra FIXTURES_REQUIRED vision_slice)
