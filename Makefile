# Thin wrapper over CMake + Ninja. Every target installs what it needs first (scripts/deps.sh).
BUILD ?= build/release
ASAN  ?= build/asan
JOBS  ?= $(shell nproc)

.PHONY: all deps build run test test-fast test-asan bench fixtures format clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The main job: a vision transformer learns Fashion-MNIST (configs/fashion_mnist.json) with a
# progress bar, then reports test accuracy, the confusion matrix, attention maps, per-class
# accuracy and learning curves into out/fashion_mnist; its last line is `test accuracy: NN.NN%`.
run: build
	$(BUILD)/focus train --config configs/fashion_mnist.json --out out/fashion_mnist

# Every test in the release build, then the fast suites again under ASan + UBSan (the learning,
# CLI and end-to-end suites, and each application's <app>_learning suite, train real models: too
# slow for a sanitizer build, run above).
ASAN_LABELS ?= unit|grad|parity|attention|nn|optim|data|train|vision|text|speech

test: test-fast test-asan

# ctest runs $(JOBS) suites at once, each with its own OpenMP threads: passive waiting keeps an
# oversubscribed core from spinning at a barrier while the thread it waits for is descheduled.
test-fast: build
	cd $(BUILD) && OMP_WAIT_POLICY=PASSIVE ctest --output-on-failure -j $(JOBS)

test-asan: deps
	@cmake -S . -B $(ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
	  -DFOCUS_SANITIZE=ON -DFOCUS_BENCH=OFF >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && OMP_WAIT_POLICY=PASSIVE ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest -L '^($(ASAN_LABELS))$$' --output-on-failure -j $(JOBS)

# Benchmarks: Focus and its PyTorch peer side by side; `make bench-ops` runs one.
bench: build
	python3 scripts/bench.py all

bench-%: build
	python3 scripts/bench.py $*

# Regenerates the committed PyTorch fixtures (needs Debian's python3-torch).
fixtures: deps
	for g in scripts/gen_fixtures.py scripts/gen_attention_fixtures.py scripts/gen_nn_fixtures.py \
	         scripts/gen_optim_fixtures.py; do /usr/bin/python3 $$g || exit 1; done
	/usr/bin/python3 scripts/gen_vision_fixtures.py
	/usr/bin/python3 scripts/gen_image_fixtures.py

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build
