# mk/flags.mk — the compiler policy in one place: warnings, hardening, sanitizers.

CC      ?= cc
OPT     ?= -O2 -g

WARN := -std=c11 -Wall -Wextra -Werror -Wpedantic -Wshadow -Wformat=2 -Wvla \
        -Wwrite-strings -Wmissing-prototypes -Wstrict-prototypes \
        -Wimplicit-fallthrough -Wswitch-enum -Wcast-qual -Wcast-align \
        -Wmissing-field-initializers -Wundef -Wnull-dereference

# -Wconversion where untrusted sizes are handled (noise sources, protocol parsers).
WARN_STRICT := -Wconversion -Wsign-conversion

HARDEN  := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection \
           -fcf-protection -fPIE
LDHARDEN := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack

ifeq ($(SAN),1)
  # ASan replaces FORTIFY's checks; the two do not mix.
  HARDEN  := -fstack-protector-strong -fPIE
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
  OPT     := -O1 -g
endif

ifeq ($(FUZZER),1)
  # libFuzzer: clang, coverage instrumentation in every object, ASan+UBSan.
  CC      := clang
  HARDEN  := -fPIE
  SANFLAGS := -fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer
  OPT     := -O1 -g
  FUZZ_MAIN := -fsanitize=fuzzer -DFOUNT_LIBFUZZER
endif

CPPFLAGS += -I. -D_GNU_SOURCE -MMD -MP
CFLAGS   += $(OPT) $(WARN) $(HARDEN) $(SANFLAGS) -pthread
LDFLAGS  += $(LDHARDEN) $(SANFLAGS) -pthread
