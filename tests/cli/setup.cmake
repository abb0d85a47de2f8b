# Cli.CheckReadsEveryShippedConfig reads configs/ from the source tree.
target_compile_definitions(test_${kind} PRIVATE FOCUS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
