/*
 * lib/util.h - the few macros and allocation rules every k1s module uses.
 *
 * Memory policy: k1s does not half-handle allocation failure. xmalloc() and
 * friends abort the process with a message when memory is exhausted, so a
 * caller never checks their result. Code that must survive hostile sizes
 * checks the size against a named limit *before* allocating.
 *
 * BUG() marks a broken invariant: it logs file:line and aborts. It is never
 * used for bad input, which always gets an error return.
 */
#ifndef K1S_LIB_UTIL_H
#define K1S_LIB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define K1S_UNUSED __attribute__((unused))
#define K1S_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define K1S_NORETURN __attribute__((noreturn))

void k1s_bug(const char *file, int line, const char *fmt, ...)
	K1S_PRINTF(3, 4) K1S_NORETURN;
#define BUG(...) k1s_bug(__FILE__, __LINE__, __VA_ARGS__)
#define BUG_ON(cond) do { if (cond) BUG("%s", #cond); } while (0)

/* Allocation: never returns NULL; aborts on exhaustion. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) K1S_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap);

/* Growing an array of *nr elements of size sz to hold at least want. */
#define ALLOC_GROW(arr, want, alloc) do { \
	if ((size_t)(want) > (alloc)) { \
		size_t n_ = (alloc) ? (alloc) * 2 : 8; \
		while (n_ < (size_t)(want)) n_ *= 2; \
		(arr) = xrealloc((arr), n_ * sizeof(*(arr))); \
		(alloc) = n_; \
	} \
} while (0)

/* True when s starts with prefix. */
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);

/*
 * Go strconv.ParseBool semantics: "1 t T TRUE true True" are true and
 * "0 f F FALSE false False" false. Returns 0 and sets *out, or -EINVAL.
 */
int parse_bool(const char *s, bool *out);

/* Parses a base-10 integer that must fill the whole string. 0 or -EINVAL/-ERANGE. */
int parse_i64(const char *s, int64_t *out);

/* Monotonic clock in nanoseconds / milliseconds; wall clock in nanoseconds. */
uint64_t mono_ns(void);
static inline uint64_t mono_ms(void) { return mono_ns() / 1000000; }
uint64_t wall_ns(void);

/* Writes all of buf to fd, retrying on EINTR/short writes. 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);
/* mkdir -p with mode for each created component. 0 or -errno. */
int mkdir_p(const char *path, unsigned mode);
/* Reads a whole file (at most max bytes) into a NUL-terminated malloc'd buffer. */
int read_file(const char *path, size_t max, char **out, size_t *len);
/* Writes a file atomically (tmp + fsync + rename) with the given mode. */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* The same without fsync when !durable: readers never see a partial file,
 * but a crash of the machine may leave an empty one. */
int write_file_replace(const char *path, const void *data, size_t len, unsigned mode,
		       bool durable);

/* Sends "READY=1" to systemd's $NOTIFY_SOCKET when set (lib/sdnotify.c). 0 or -errno. */
int sd_notify_ready(void);

#endif
