# mk/static.mk - `make static`: $(BUILD)/k1s-static, one fully static
# executable (glibc, libuv, mbedtls, SQLite, cJSON, libnftnl, libmnl,
# http-parser, libyaml, zlib, zstd, libarchive). See docs/static-build.md.
#
# It links the very objects of the normal build ($(MAINOBJ), $(BUILD)/libk1s.a,
# same CFLAGS) against static archives:
# - Debian's own .a files for every dependency that ships one;
# - cJSON, built from its Debian source package (apt-get source, needs the
#   deb-src entries tests/install-deps.sh adds) into $(STATIC_DIR)/lib;
# - libmnl, whose source package this machine's mirror does not serve:
#   mk/static/libmnl.c implements its API (checked against the real library
#   by tests/e2e/static.test.sh).
# Downloads and archives are cached in $(STATIC_DIR): a second run only
# relinks. `make clean` removes them with the rest of build/.
#
# Every library sits in one --start-group/--end-group: an archive only
# contributes the members something references, so libraries no code uses
# yet cost nothing, and order does not matter as modules land.

STATIC_DIR  := $(BUILD)/static
STATIC_LIB  := $(STATIC_DIR)/lib
STATIC_SRC  := $(STATIC_DIR)/src
STATIC_CC_FLAGS := -O2 -g -fno-strict-aliasing

# What pkg-config says a static link of $(PKGS) needs (libarchive's
# private libs: nettle, acl, lzma, lz4, bz2 ...), plus LDLIBS' extras that
# have no .pc file. Debian names libuv's archive libuv_a.a. libxml2 is left
# out on purpose: only libarchive's xar reader needs it, and it drags in
# ICU's 30 MB data table, so a call to archive_read_support_format_all()
# fails the static link instead of tripling the binary (STATIC_HINT).
STATIC_PC_LIBS  = $(shell pkg-config --static --libs $(PKGS) 2>/dev/null)
STATIC_LDLIBS   = -L$(STATIC_LIB) -Wl,--start-group \
	$(filter-out -lxml2,$(patsubst -luv,-luv_a,$(STATIC_PC_LIBS))) \
	$(filter-out $(shell pkg-config --libs $(PKGS) 2>/dev/null),$(LDLIBS)) \
	-ldl -lrt -lpthread -lm -Wl,--end-group
STATIC_HINT := static: undefined xml symbols come from libarchive's xar reader: \
	enable formats one by one (archive_read_support_format_tar ...), not _all

# Sources of Debian packages built here: package name -> installed version
# of the -dev package whose headers the objects were compiled against.
static_src_version = $(shell dpkg-query -W -f='$${source:Version}' $(1) 2>/dev/null)

.PHONY: static static-size
static: $(BUILD)/k1s-static

$(BUILD)/k1s-static: $(MAINOBJ) $(BUILD)/libk1s.a $(STATIC_LIB)/libcjson.a $(STATIC_LIB)/libmnl.a
	$(CC) $(CFLAGS) $(LDFLAGS) -static -o $@.tmp $(MAINOBJ) $(BUILD)/libk1s.a $(STATIC_LDLIBS) \
		2> $(STATIC_DIR)/link.log || { cat $(STATIC_DIR)/link.log >&2; rm -f $@.tmp; \
		! grep -q "undefined reference to .xml" $(STATIC_DIR)/link.log || echo "$(STATIC_HINT)" >&2; \
		exit 1; }
	@nss=$$(sed -n "s/.*Using '\([a-z_0-9]*\)' in statically linked.*/\1/p" \
		$(STATIC_DIR)/link.log | sort -u | tr '\n' ' '); \
	[ -z "$$nss" ] || echo "static: glibc calls with run-time caveats: $$nss(docs/static-build.md)"
	@grep -v -e 'in statically linked applications requires' -e ': in function ' \
		$(STATIC_DIR)/link.log >&2 || true
	@mv $@.tmp $@

# Stripped size, the figure docs/static-build.md quotes (target < 10 MiB).
static-size: $(BUILD)/k1s-static
	@strip -o $(STATIC_DIR)/k1s-static.stripped $<
	@echo "static-size: $$(stat -c %s $(STATIC_DIR)/k1s-static.stripped) bytes stripped" \
		"($$(stat -c %s $<) unstripped)"

# cJSON: Debian source package (with Debian's patches applied), built the
# way Debian's CMake build does (locales on; cJSON_Utils is not in libcjson).
$(STATIC_SRC)/cjson/cJSON.c:
	@rm -rf $(STATIC_SRC)/cjson $(STATIC_SRC)/cjson.tmp && mkdir -p $(STATIC_SRC)/cjson.tmp
	cd $(STATIC_SRC)/cjson.tmp && { \
		apt-get source -qq cjson=$(call static_src_version,libcjson-dev) 2>dl.log || \
		apt-get source -qq cjson 2>dl.log || \
		{ cat dl.log >&2; echo "static: cannot fetch cjson's source package;" \
		  "run 'make install-deps' (it enables deb-src)" >&2; exit 1; }; }
	mv $(STATIC_SRC)/cjson.tmp/cjson-*/ $(STATIC_SRC)/cjson
	rm -rf $(STATIC_SRC)/cjson.tmp

$(STATIC_LIB)/libcjson.a: $(STATIC_SRC)/cjson/cJSON.c
	@mkdir -p $(STATIC_LIB)
	$(CC) $(STATIC_CC_FLAGS) -DENABLE_LOCALES -c $< -o $(STATIC_SRC)/cjson/cJSON.o
	@rm -f $@
	ar rcs $@ $(STATIC_SRC)/cjson/cJSON.o

$(STATIC_LIB)/libmnl.a: mk/static/libmnl.c
	@mkdir -p $(STATIC_LIB) $(STATIC_DIR)/obj
	$(CC) $(STATIC_CC_FLAGS) -std=gnu11 $(WARN) -c $< -o $(STATIC_DIR)/obj/libmnl.o
	@rm -f $@
	ar rcs $@ $(STATIC_DIR)/obj/libmnl.o
