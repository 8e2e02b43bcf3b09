# roster: `make run` installs what is missing, builds and serves; `make test` runs every test.
BUILD      ?= build
BUILD_SAN  ?= build-san
BUILD_TSAN ?= build-tsan
BUILD_FUZZ ?= build-fuzz
JOBS       ?= $(shell nproc)

.PHONY: all build deps run test test-unit test-contract test-api san tsan fuzz bench format lint clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) -- -s --no-print-directory

san: deps
	@cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DROSTER_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_SAN) -j $(JOBS) -- -s --no-print-directory

# ThreadSanitizer (gcc): the unit tests and the contract suite (scripts/test.sh runs them)
tsan: deps
	@cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROSTER_TSAN=ON >/dev/null
	@cmake --build $(BUILD_TSAN) -j $(JOBS) -- -s --no-print-directory

# libFuzzer targets (clang, ASan+UBSan): only the fuzz_* programs are built; scripts/fuzz.sh
# runs them (make test: each for a bounded time)
fuzz: deps
	@cmake -S . -B $(BUILD_FUZZ) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DROSTER_FUZZ=ON >/dev/null
	@cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzz -- -s --no-print-directory

run: build
	@exec $(BUILD)/roster serve

test: build san tsan fuzz
	@scripts/test.sh

bench: build
	@bench/bulk_create

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	@cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	  --std=c11 --inline-suppr -I include -I src --suppress=missingIncludeSystem src

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_TSAN) $(BUILD_FUZZ)
