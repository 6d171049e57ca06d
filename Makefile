# A thin front for meson + ninja. The targets a user types: demo, check, bench.
#   make demo    build (release) and run the demo on embedded defaults
#   make check   build every configuration a user builds with -Werror (the release
#                one of make demo first: -O3 shows warnings the others do not);
#                unit tests under ASan+UBSan; system tests against the real
#                binary; a short run of every fuzz target
#   make bench   the side-by-side benchmark (docs/BENCHMARKS.md)
#   make install the release binary, lifeline(1) and the systemd unit lifeline-watch.service
#                (PREFIX/lib/systemd/system) under PREFIX (default /usr/local), staged
#                under DESTDIR when given (packaging)
SHELL := /bin/bash
BUILD := build
SAN := build-san
FUZZ := build-fuzz
FUZZ_SECONDS ?= 8
PREFIX ?= /usr/local
DESTDIR ?=
# Sanitizer findings must fail the run, not scroll by.
export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS ?= halt_on_error=1:print_stacktrace=1

.PHONY: all build deps demo check unit system fuzz bench install clean

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
	bench/restore-busy $(BUILD)/lifeline
	LOOP_DIO=on bench/restore-busy $(BUILD)/lifeline
	bench/pg $(BUILD)/lifeline
	bench/redis $(BUILD)/lifeline
	bench/watch $(BUILD)/lifeline
	bench/ha $(BUILD)/lifeline

# meson install: bin/lifeline, share/man/man1/lifeline.1 and lib/systemd/system/
# lifeline-watch.service (its ExecStart naming PREFIX/bin/lifeline) under PREFIX. The prefix
# is set on every run, so `make install PREFIX=/usr` after a default one is honoured.
install: build
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	meson install -C $(BUILD) $(if $(DESTDIR),--destdir "$(DESTDIR)")

clean:
	rm -rf $(BUILD) $(SAN) $(FUZZ)
