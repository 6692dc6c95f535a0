# mk/fuzz.mk - libFuzzer targets (tests/fuzz/*.c), included by the Makefile.
#
# `make fuzz` builds every tests/fuzz/NAME.c into $(BUILD)/fuzz/NAME with
# clang -fsanitize=fuzzer,address,undefined, linked against lib/ compiled
# the same way (so coverage reaches the library), and runs each one for
# FUZZ_SECONDS (default 20) on its seed corpus tests/fuzz/corpus/NAME/ plus a
# scratch corpus in $(BUILD)/fuzz/. A crash fails the target and leaves the
# reproducer in $(BUILD)/fuzz/. Not part of `make test`.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS   = -g -O1 -fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -I. \
		$(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
		-DK1S_VERSION='"$(VERSION)"' -DK1S_COMMIT='"$(COMMIT)"' $(FUZZ_SAN)
FUZZ_SRCS    := $(wildcard tests/fuzz/*.c)
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_LIBOBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(wildcard lib/*.c server/*.c server/controllers/*.c server/gen/*.c store/*.c))

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/libk1s-fuzz.a: $(FUZZ_LIBOBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BINS): $(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/fuzz/libk1s-fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(BUILD)/fuzz/libk1s-fuzz.a $(LDLIBS)

fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
		n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
		echo "== fuzz $$n for $(FUZZ_SECONDS)s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/$$n- \
			$(BUILD)/fuzz/corpus-$$n $$(ls -d tests/fuzz/corpus/$$n 2>/dev/null); \
	done

# tar_fuzz compiles images/*.c in by #include: rebuild it when they change.
$(BUILD)/fuzz/tar_fuzz: $(wildcard images/*.c images/*.h)
