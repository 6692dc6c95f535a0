# k1s - build, test, bench, static release, dependencies.
# Sources are found by directory: adding a .c file to a module needs no edit here.

VERSION ?= v0.1.0-dev
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

CC      ?= cc
BUILD   ?= build
PKGS    := libuv sqlite3 libcjson libnftnl libmnl yaml-0.1 zlib libzstd libarchive
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2
CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -I. -I$(BUILD)/gen \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
           -DK1S_VERSION='"$(VERSION)"' -DK1S_COMMIT='"$(COMMIT)"' -MMD -MP
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) \
           -lmbedtls -lmbedx509 -lmbedcrypto -lhttp_parser -lpthread -lm

MODULES := lib store server server/gen server/controllers agent proxy net images dns cmd
SRCS    := $(filter-out cmd/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
OBJS    := $(SRCS:%.c=$(BUILD)/obj/%.o)
MAINOBJ := $(BUILD)/obj/cmd/main.o

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o)

.PHONY: all test unit e2e asan static bench install-deps clean fuzz
all: $(BUILD)/k1s

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libk1s.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/k1s: $(MAINOBJ) $(BUILD)/libk1s.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The unit-test table is generated from the TEST(name) lines of tests/unit/*.c.
$(BUILD)/gen/unit_tests.h: $(UNIT_SRCS)
	@mkdir -p $(dir $@)
	@grep -h '^TEST(' $(UNIT_SRCS) | sed 's/^TEST(\([A-Za-z0-9_]*\)).*/X(\1)/' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(UNIT_OBJS): $(BUILD)/gen/unit_tests.h

$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/libk1s.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

e2e: $(BUILD)/k1s
	BUILD=$(BUILD) tests/e2e/run.sh

# The one test command: unit tests, then end-to-end tests, one closing line.
test: $(BUILD)/k1s $(BUILD)/unit-tests
	BUILD=$(BUILD) tests/run.sh

asan:
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" build/asan/unit-tests build/asan/k1s
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/asan/unit-tests

bench: $(BUILD)/k1s
	BUILD=$(BUILD) bench/run.sh

install-deps:
	tests/install-deps.sh

clean:
	rm -rf build

-include mk/*.mk
-include $(OBJS:.o=.d) $(MAINOBJ:.o=.d) $(UNIT_OBJS:.o=.d)
