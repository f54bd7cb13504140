# fount — one hand-written Makefile. `make help` lists the targets.
#   make serve        install missing packages, build, start the service
#   make test         install missing packages, build, run every test (CI runs this)
#   make              build build/fount (and its integrity file build/fount.hmac)
#   make check        build and run every CUnit suite on the FIPS provider (SUITE="a b" runs some)
#   make check SAN=1  the same under AddressSanitizer + UBSan (in build-san/)
#   make check-default  the crypto suites (CRYPTO_SUITES) on OpenSSL's default provider
#   make check-layers   fail on an #include that breaks util <- entropy <- keygen <- hsm <- store <- api
#   make fips         build OpenSSL's FIPS provider into build/fips (FIPS_TARBALL=: from a validated release)
#   make bench        benchmarks against OpenSSL, getrandom, AES-CTR and pkcs11-tool
#   make deps         install the packages fount needs; upgrade libssl3 only if the mirror lacks its source (root)
#   make install      install fount, its FIPS provider, /etc/fount/fount.conf and the systemd units (PREFIX=/usr/local, DESTDIR=)
#   make uninstall    remove what make install put (an edited fount.conf, the fount user and /var/lib/fount stay)
#   make check-units  systemd-analyze verify every unit in a DESTDIR install
#   make deb          a Debian package of the same files (build/fount_VERSION_ARCH.deb)
#   make distclean    also remove build/fips (make clean keeps it)
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

PKGS    := libssl libcrypto inih jansson libpkcs11-helper-1 sqlite3 libpq libmicrohttpd
LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto -linih -ljansson -lpkcs11-helper -lsqlite3 -lpq -lmicrohttpd) -ldl -lm
CPPFLAGS += $(shell pkg-config --cflags libpkcs11-helper-1 libpq 2>/dev/null)
TESTLIBS := -lcunit

# The key of the build-time integrity HMAC over the fount binary. It is not a
# secret (FIPS 140-3 integrity tests use a fixed, public key); it only has to
# match between this Makefile and selftest/integrity.c, which gets it from here.
INTEGRITY_KEY := 666f756e742d696e746567726974792d686d61632d736861323536
HMAC_FILE = openssl dgst -sha256 -mac HMAC -macopt hexkey:$(INTEGRITY_KEY) -r $(1) | cut -d' ' -f1 > $(1).hmac

MODULES := util entropy keygen hsm store selftest api
LIB_SRC := $(foreach m,$(MODULES),$(wildcard $(m)/*.c))
CLI_SRC := $(wildcard cli/*.c)
TEST_SRC := $(wildcard tests/*.c tests/lib/*.c)
BENCH_SRC := $(wildcard bench/*.c)
FUZZ_SRC := $(wildcard fuzz/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o) $(B)/gen/status_page.o
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(B)/%.o)
BENCH_OBJ := $(BENCH_SRC:%.c=$(B)/%.o)

LIBFOUNT := $(B)/libfount.a
FOUNT    := $(B)/fount
TESTRUN  := $(B)/tests/run
BENCHRUN := $(B)/bench/bench

# Stricter conversion warnings where sizes come from outside.
$(B)/entropy/%.o: CFLAGS += $(WARN_STRICT)
$(B)/api/%.o: CFLAGS += $(WARN_STRICT)
$(B)/selftest/integrity.o: CPPFLAGS += -DFOUNT_INTEGRITY_KEY=\"$(INTEGRITY_KEY)\"

# OpenSSL's FIPS provider, built by mk/fips.sh from Debian's openssl source
# (the version mk/openssl-version.sh selects) or, with
# FIPS_TARBALL=/path/openssl-3.1.2.tar.gz, from a validated release tarball
# whose published SHA-256 it checks. One folder that every build variant
# shares: fount looks for it in <exe dir>/fips, then <exe dir>/../fips, so
# build-san/ and build-fuzz/ get a symlink. mk/fips.sh runs on every `make`
# and exits at once when $(FIPS_DIR)/VERSION matches the installed libssl3
# (or names an operator's tarball build), so a second `make` builds nothing
# and a libssl3 upgrade rebuilds.
FIPS_DIR ?= build/fips
FIPS_TARBALL ?=
FIPS_LINK := $(if $(filter build,$(B)),,$(B)/fips)

# Suites that exercise the library context; `make test` runs them a second
# time on the default provider (FOUNT_CRYPTO_FIPS=off). Branches adding
# crypto suites add them here.
CRYPTO_SUITES ?= ctr_drbg drbg_tree acvp selftest rand keygen wrap export cli_keys store store_backup kmip_crypto kmip_server

.PHONY: all check check-default check-layers check-units bench fuzz fuzz-libfuzzer analyze deps clean distclean help serve test fips install uninstall deb qemu-guest
all: $(FOUNT) fips

fips:
	$(Q)FIPS_TARBALL='$(FIPS_TARBALL)' sh mk/fips.sh $(FIPS_DIR)
ifneq ($(FIPS_LINK),)
	@mkdir -p $(dir $(FIPS_LINK))
	$(Q)[ -L $(FIPS_LINK) ] || ln -sfn $(if $(filter /%,$(FIPS_DIR)),$(FIPS_DIR),../$(FIPS_DIR)) $(FIPS_LINK)
endif

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Files built into the binary (mk/embed.sh): the status page of GET /.
$(B)/gen/status_page.c: api/status_page.html mk/embed.sh
	@mkdir -p $(@D)
	$(say) EMBED $<
	$(Q)sh mk/embed.sh api_status_page $< > $@.tmp && mv $@.tmp $@
$(B)/gen/%.o: $(B)/gen/%.c
	$(say) CC $<
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# libfount.a holds the modules only; cli/ is the fount program and is linked
# into build/fount alone, so nothing the tests, benchmarks or fuzz targets
# need can hide in it.
$(LIBFOUNT): $(LIB_OBJ)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(FOUNT): $(CLI_OBJ) $(LIBFOUNT)
	$(say) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
	$(say) HMAC $@.hmac
	$(Q)$(call HMAC_FILE,$@)

$(TESTRUN): $(TEST_OBJ) $(LIBFOUNT)
	@mkdir -p $(@D)
	$(say) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(TESTLIBS)
	$(Q)$(call HMAC_FILE,$@)

check: $(TESTRUN) $(FOUNT) fips
	$(Q)FOUNT_BIN=$(FOUNT) FOUNT_SRCDIR=$(CURDIR) $(TESTRUN) $(SUITE)

# The module layering (DESIGN.md): a module includes only its own headers
# and the public <folder>/<folder>.h of modules below it; mk/check-layers.sh
# names every file:line that does not. The layers suite tests the checker.
check-layers:
	$(Q)sh mk/check-layers.sh

check-default: $(TESTRUN) $(FOUNT)
	$(Q)FOUNT_CRYPTO_FIPS=off FOUNT_BIN=$(FOUNT) FOUNT_SRCDIR=$(CURDIR) $(TESTRUN) $(CRYPTO_SUITES)

BENCH_TESTLIB := $(addprefix $(B)/tests/,helpers.o lib/kmipc.o lib/kmipload.o lib/kmip_serve.o lib/port.o lib/pgtest.o)
$(BENCHRUN): $(BENCH_OBJ) $(BENCH_TESTLIB) $(LIBFOUNT)
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
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(FUZZ_MAIN) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LIBS)
fuzz: $(FUZZ_BINS)
	$(Q)for f in $(FUZZ_BINS); do n=$$(basename $$f); $$f fuzz/corpus/$$n/* || exit 1; done

FUZZ_SECONDS ?= 60
fuzz-libfuzzer:
	$(Q)$(MAKE) --no-print-directory FUZZER=1 $(FUZZ_SRC:fuzz/%.c=build-fuzz/fuzz/%)
	$(Q)for n in $(FUZZ_SRC:fuzz/%.c=%); do mkdir -p build-fuzz/corpus/$$n; \
	  build-fuzz/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$n fuzz/corpus/$$n || exit 1; done

# gcc's static analyzer over every source file: it runs only when gcc
# generates code (-c), never with -fsyntax-only; findings fail the target.
analyze:
	$(Q)for f in $(LIB_SRC) $(CLI_SRC); do echo "  ANALYZE $$f"; \
	  $(CC) $(CPPFLAGS) -DFOUNT_INTEGRITY_KEY=\"$(INTEGRITY_KEY)\" $(OPT) $(WARN) \
	    -fanalyzer -c -o /dev/null $$f || exit 1; done

deps:
	$(Q)sh mk/deps.sh

# Installing: mk/install.sh has the layout. $(B)/fount.conf is the
# documented /etc/fount/fount.conf, generated from the config table
# (`fount config --template`), so every key is in it with its default.
PREFIX ?= /usr/local
DESTDIR ?=
INSTALL_ENV = DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' B='$(B)' FIPS_DIR='$(FIPS_DIR)' \
	$(if $(UNITDIR),UNITDIR='$(UNITDIR)') $(if $(SYSUSERSDIR),SYSUSERSDIR='$(SYSUSERSDIR)')
$(B)/fount.conf: $(FOUNT)
	$(say) GEN $@
	$(Q)FOUNT_CONFIG=/nonexistent/fount.conf FOUNT_SECURITY_MLOCK=off $(FOUNT) config --template > $@.tmp
	$(Q)mv $@.tmp $@

install: $(FOUNT) $(B)/fount.conf fips
	$(Q)$(INSTALL_ENV) sh mk/install.sh install

uninstall: $(B)/fount.conf
	$(Q)$(INSTALL_ENV) sh mk/install.sh uninstall

# Every unit, verified by systemd itself in a DESTDIR install (so the
# ExecStart= programs exist under --root).
UNITS_ROOT := $(B)/units-root
check-units: $(FOUNT) $(B)/fount.conf fips
	$(Q)rm -rf $(UNITS_ROOT)
	$(Q)DESTDIR='$(CURDIR)/$(UNITS_ROOT)' PREFIX=/usr/local B='$(B)' FIPS_DIR='$(FIPS_DIR)' sh mk/install.sh install >/dev/null
	$(Q)sh mk/check-units.sh $(UNITS_ROOT) /usr/local

# A Debian package over a DESTDIR tree with PREFIX=/usr (mk/deb.sh).
deb: $(FOUNT) $(B)/fount.conf fips
	$(Q)B='$(B)' FIPS_DIR='$(FIPS_DIR)' sh mk/deb.sh

serve: deps
	$(Q)$(MAKE) --no-print-directory fips
	$(Q)$(MAKE) --no-print-directory all
	$(Q)exec $(FOUNT) serve

# The egd suite boots a tiny QEMU guest on Debian's kernel: `make test`
# fetches it first (apt-get download + dpkg-deb of the image
# linux-image-amd64 names, nothing installed; ~70 MB once, kept in
# build/qemu-guest) so the suites need no network. Not fatal: the test then
# fetches it itself or says why it skipped.
qemu-guest:
	$(Q)sh tests/interop/qemu_egd.sh fetch build/qemu-guest || echo "fount: no guest kernel for the QEMU EGD test" >&2

# Every test: the include layering, the systemd units, the suites on the FIPS provider and the crypto suites on the
# default provider, the same again under ASan+UBSan, and the fuzz targets'
# replay over their corpora.
test: deps
	$(Q)$(MAKE) --no-print-directory qemu-guest
	$(Q)$(MAKE) --no-print-directory check-layers
	$(Q)$(MAKE) --no-print-directory fips
	$(Q)$(MAKE) --no-print-directory -j2 all $(TESTRUN) $(BENCHRUN)
	$(Q)$(MAKE) --no-print-directory check-units
	$(Q)$(MAKE) --no-print-directory check
	$(Q)$(MAKE) --no-print-directory check-default
	$(Q)$(MAKE) --no-print-directory -j2 SAN=1 all $(TESTRUN:build/%=build-san/%)
	$(Q)FOUNT_SOAK_SECONDS=15 $(MAKE) --no-print-directory SAN=1 check
	$(Q)$(MAKE) --no-print-directory SAN=1 check-default
	$(Q)$(MAKE) --no-print-directory fuzz

# clean keeps build/fips (the FIPS provider and its source): rebuilding it
# means downloading the source again. distclean removes it too.
clean:
	rm -rf build-san build-fuzz
	[ ! -d build ] || find build -mindepth 1 -maxdepth 1 ! -name fips -exec rm -rf {} +

distclean: clean
	rm -rf build

help:
	@sed -n '2,18p' Makefile | sed 's/^# //'

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BENCH_OBJ:.o=.d) $(FUZZ_BINS:=.d)
