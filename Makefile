# A thin front for meson + ninja. The targets a user types: demo, check, bench.
#   make demo    build (release) and run the demo on embedded defaults
#   make check   build every configuration a user builds with -Werror (the release
#                one of make demo first: -O3 shows warnings the others do not);
#                unit tests under ASan+UBSan; system tests against the real
#                binary; a short run of every fuzz target
#   make bench   the side-by-side benchmark (docs/BENCHMARKS.md)
SHELL := /bin/bash
BUILD := build
SAN := build-san
FUZZ := build-fuzz
FUZZ_SECONDS ?= 8
# Sanitizer findings must fail the run, not scroll by.
export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS ?= halt_on_error=1:print_stacktrace=1

.PHONY: all build deps demo check unit system fuzz bench clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release -Dtests=false

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	scripts/demo $(BUILD)/lifeline

$(SAN)/build.ninja:
	meson setup $(SAN) --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false

$(FUZZ)/build.ninja:
	CC=clang meson setup $(FUZZ) --buildtype=debugoptimized -Dfuzz=true -Dtests=false \
	  -Db_sanitize=address,undefined -Db_lundef=false

unit: deps $(SAN)/build.ninja
	ninja -C $(SAN)
	meson test -C $(SAN) --suite unit --print-errorlogs

system: deps $(SAN)/build.ninja
	ninja -C $(SAN)
	tests/system/run $(SAN)/lifeline

fuzz: deps $(FUZZ)/build.ninja
	ninja -C $(FUZZ)
	tests/fuzz/run $(FUZZ) $(FUZZ_SECONDS)

# The release build of `make demo`, exactly, so CI fails on what only -O3 warns about.
check: build unit system fuzz

bench: build
	scripts/install-deps --bench
	bench/run $(BUILD)/lifeline
	bench/pg $(BUILD)/lifeline
	bench/redis $(BUILD)/lifeline

clean:
	rm -rf $(BUILD) $(SAN) $(FUZZ)
