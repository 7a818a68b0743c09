# Front end for the Meson build. `make demo` builds and runs the tour,
# `make check` builds and runs every test (plain build + ASan/UBSan build).
DEPS     := meson ninja-build pkg-config liblua5.4-dev libcmocka-dev
# What only some tests need: GNU parallel (the shard recipe), chromium
# (the HTML report, loaded in a headless browser).
TESTDEPS := parallel chromium fonts-dejavu-core
BUILD    ?= build
SANBUILD ?= build-san
RELBUILD ?= build-rel
NDBUILD  ?= build-ndebug
MESON    ?= meson

.PHONY: all deps testdeps demo check test bench clean fuzz

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@./tools/ensure-deps.sh $(DEPS)

testdeps:
	@./tools/ensure-deps.sh $(TESTDEPS)

$(BUILD)/build.ninja: | deps
	$(MESON) setup $(BUILD) --buildtype=debugoptimized -Ddebug_checks=true

$(SANBUILD)/build.ninja: | deps
	$(MESON) setup $(SANBUILD) --buildtype=debug -Ddebug_checks=true \
	    -Db_sanitize=address,undefined -Db_lundef=false

demo: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	./$(BUILD)/vmlab tour

# `make check T=name` (or T="name1 name2") runs only those tests.
check: deps testdeps $(BUILD)/build.ninja $(SANBUILD)/build.ninja
	ninja -C $(BUILD)
	$(MESON) test -C $(BUILD) --print-errorlogs $(T)
	ninja -C $(SANBUILD)
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    $(MESON) test -C $(SANBUILD) --print-errorlogs --timeout-multiplier 4 $(T)
	@# The instruction-count guard needs the release build (README).
	$(MAKE) $(RELBUILD)/build.ninja
	ninja -C $(RELBUILD)
	$(MESON) test -C $(RELBUILD) --print-errorlogs --no-rebuild perf-guard
	@# Asserts compiled out (-Db_ndebug=true) must still build under
	@# -Werror: no variable or parameter used only by an assert.
	$(MAKE) $(NDBUILD)/build.ninja
	ninja -C $(NDBUILD)

$(RELBUILD)/build.ninja: | deps
	$(MESON) setup $(RELBUILD) --buildtype=release -Ddebug_checks=false

$(NDBUILD)/build.ninja: | deps
	$(MESON) setup $(NDBUILD) --buildtype=release -Db_ndebug=true

# Figures come from a release build without the debug-only invariant walks.
# Only the vmlab binary (the benchmarks are in it), not every test.
bench: deps $(RELBUILD)/build.ninja
	ninja -C $(RELBUILD) vmlab
	./$(RELBUILD)/vmlab bench $(BENCH)

# libFuzzer targets (clang, ASan+UBSan), each run FUZZ_TIME seconds on
# its seed corpus (fuzz/corpus/NAME, copied to a scratch directory so the
# tree stays as committed).  Prints each target's figures.
FUZZBUILD ?= build-fuzz
FUZZ_TIME ?= 60
FUZZ_TARGETS ?= fuzz_ops fuzz_lua fuzz_parse fuzz_replay
$(FUZZBUILD)/build.ninja: | deps
	CC=clang $(MESON) setup $(FUZZBUILD) --buildtype=debugoptimized \
	    -Ddebug_checks=true -Dfuzz=true -Db_sanitize=address,undefined \
	    -Db_lundef=false

fuzz: deps testdeps $(FUZZBUILD)/build.ninja
	ninja -C $(FUZZBUILD)
	./tools/fuzz.sh $(FUZZBUILD) $(FUZZ_TIME) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD) $(SANBUILD) $(RELBUILD) $(NDBUILD) $(FUZZBUILD)
