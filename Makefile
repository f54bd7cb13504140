# fount — one hand-written Makefile. `make help` lists the targets.
#   make serve        install missing packages, build, start the service
#   make test         install missing packages, build, run every test (CI runs this)
#   make              build build/fount (and its integrity file build/fount.hmac)
#   make check        build and run every CUnit suite (SUITE=name runs one)
#   make check SAN=1  the same under AddressSanitizer + UBSan (in build-san/)
#   make bench        benchmarks against OpenSSL, getrandom, AES-CTR and pkcs11-tool
#   make deps         install the Debian packages fount needs (root)
#   V=1               show the full compiler command lines

include mk/flags.mk

ifeq ($(FUZZER),1)
  B := build-fuzz
else ifeq ($(SAN),1)
  B := build-san
else
  B := build
endif

ifeq ($(V),1)
  Q :=
  say = @true
else
  Q := @
  say = @printf '  %-7s %s\n'
endif

PKGS    := libcrypto inih jansson libpkcs11-helper-1
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lcrypto -linih -ljansson -lpkcs11-helper) -ldl -lm
CPPFLAGS += $(shell pkg-config --cflags libpkcs11-helper-1 2>/dev/null)
TESTLIBS := -lcunit

# The key of the build-time integrity HMAC over the fount binary. It is not a
# secret (FIPS 140-3 integrity tests use a fixed, public key); it only has to
# match between this Makefile and selftest/integrity.c, which gets it from here.
INTEGRITY_KEY := 666f756e742d696e746567726974792d686d61632d736861323536
HMAC_FILE = openssl dgst -sha256 -mac HMAC -macopt hexkey:$(INTEGRITY_KEY) -r $(1) | cut -d' ' -f1 > $(1).hmac

MODULES := util entropy keygen hsm selftest
LIB_SRC := $(foreach m,$(MODULES),$(wildcard $(m)/*.c))
CLI_SRC := $(wildcard cli/*.c)
TEST_SRC := $(wildcard tests/*.c)
BENCH_SRC := $(wildcard bench/*.c)
FUZZ_SRC := $(wildcard fuzz/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/%.o)
CLI_LIB_OBJ := $(filter-out $(B)/cli/main.o,$(CLI_OBJ))
TEST_OBJ := $(TEST_SRC:%.c=$(B)/%.o)
BENCH_OBJ := $(BENCH_SRC:%.c=$(B)/%.o)

LIBFOUNT := $(B)/libfount.a
FOUNT    := $(B)/fount
TESTRUN  := $(B)/tests/run
BENCHRUN := $(B)/bench/bench

# Stricter conversion warnings where sizes come from outside.
$(B)/entropy/%.o: CFLAGS += $(WARN_STRICT)
$(B)/selftest/integrity.o: CPPFLAGS += -DFOUNT_INTEGRITY_KEY=\"$(INTEGRITY_KEY)\"

.PHONY: all check bench fuzz fuzz-libfuzzer analyze deps clean help serve test
all: $(FOUNT)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBFOUNT): $(LIB_OBJ) $(CLI_LIB_OBJ)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(FOUNT): $(B)/cli/main.o $(LIBFOUNT)
	$(say) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
	$(say) HMAC $@.hmac
	$(Q)$(call HMAC_FILE,$@)

$(TESTRUN): $(TEST_OBJ) $(LIBFOUNT)
	@mkdir -p $(@D)
	$(say) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(TESTLIBS)
	$(Q)$(call HMAC_FILE,$@)

check: $(TESTRUN) $(FOUNT)
	$(Q)FOUNT_BIN=$(FOUNT) FOUNT_SRCDIR=$(CURDIR) $(TESTRUN) $(SUITE)

$(BENCHRUN): $(BENCH_OBJ) $(LIBFOUNT)
	@mkdir -p $(@D)
	$(say) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
	$(Q)$(call HMAC_FILE,$@)

bench: $(BENCHRUN)
	$(Q)$(BENCHRUN) $(BENCH_ARGS)

# Fuzz targets: each fuzz/<name>.c has LLVMFuzzerTestOneInput and a replay main().
# `make fuzz` builds them with gcc and replays their corpora;
# `make fuzz-libfuzzer FUZZ_SECONDS=60` builds real fuzzers with clang and runs each.
FUZZ_BINS := $(FUZZ_SRC:fuzz/%.c=$(B)/fuzz/%)
$(B)/fuzz/%: fuzz/%.c $(LIBFOUNT)
	@mkdir -p $(@D)
	$(say) LD $@
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(FUZZ_MAIN) $(LDFLAGS) -o $@ $^ $(LIBS)
fuzz: $(FUZZ_BINS)
	$(Q)for f in $(FUZZ_BINS); do n=$$(basename $$f); $$f fuzz/corpus/$$n/* || exit 1; done

FUZZ_SECONDS ?= 60
fuzz-libfuzzer:
	$(Q)$(MAKE) --no-print-directory FUZZER=1 $(FUZZ_SRC:fuzz/%.c=build-fuzz/fuzz/%)
	$(Q)for n in $(FUZZ_SRC:fuzz/%.c=%); do mkdir -p build-fuzz/corpus/$$n; \
	  build-fuzz/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$n fuzz/corpus/$$n || exit 1; done

analyze:
	$(Q)for f in $(LIB_SRC) $(CLI_SRC); do $(CC) $(CPPFLAGS) $(WARN) -fanalyzer -fsyntax-only $$f || exit 1; done

deps:
	$(Q)sh mk/deps.sh

serve: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)exec $(FOUNT) serve

# Every test: the suites, the suites again under ASan+UBSan, and the fuzz
# targets' replay over their corpora.
test: deps
	$(Q)$(MAKE) --no-print-directory -j2 all $(TESTRUN)
	$(Q)$(MAKE) --no-print-directory check
	$(Q)$(MAKE) --no-print-directory -j2 SAN=1 all $(TESTRUN:build/%=build-san/%)
	$(Q)$(MAKE) --no-print-directory SAN=1 check
	$(Q)$(MAKE) --no-print-directory fuzz

clean:
	rm -rf build build-san build-fuzz

help:
	@sed -n '2,10p' Makefile | sed 's/^# //'

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BENCH_OBJ:.o=.d)
