/*
 * tests/unit/test.h - the unit-test harness.
 *
 * A test is `TEST(name) { ... }` at the start of a line in any
 * C file under tests/unit; the Makefile collects those lines into the test table,
 * so there is nothing to register by hand. Each test runs in its own child
 * process with a timeout (TEST_TIMEOUT seconds, default 120) and a fresh
 * temporary directory, test_tmpdir(), that the runner removes afterwards
 * whether the test passed or not. An ASSERT that fails prints file:line and
 * both values, and ends the test as failed.
 *
 * A static function of a module is tested by including its .c file.
 */
#ifndef K1S_TEST_H
#define K1S_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST(name) void test_##name(void)

void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
/* This test's private temporary directory (removed by the runner). */
const char *test_tmpdir(void);
/* The k1s built beside the running test binary (build/k1s for
 * build/unit-tests), or $K1S_BIN; NULL when there is none. */
const char *test_k1s_binary(void);

#define ASSERT_TRUE(c) do { if (!(c)) \
	test_fail(__FILE__, __LINE__, "expected true: %s", #c); } while (0)
#define ASSERT_FALSE(c) do { if (c) \
	test_fail(__FILE__, __LINE__, "expected false: %s", #c); } while (0)
#define ASSERT_EQ(a, b) do { int64_t a_ = (int64_t)(a), b_ = (int64_t)(b); \
	if (a_ != b_) test_fail(__FILE__, __LINE__, "%s == %s: %" PRId64 " != %" PRId64, \
				#a, #b, a_, b_); } while (0)
#define ASSERT_NE(a, b) do { int64_t a_ = (int64_t)(a), b_ = (int64_t)(b); \
	if (a_ == b_) test_fail(__FILE__, __LINE__, "%s != %s: both %" PRId64, \
				#a, #b, a_); } while (0)
#define ASSERT_LT(a, b) do { int64_t a_ = (int64_t)(a), b_ = (int64_t)(b); \
	if (!(a_ < b_)) test_fail(__FILE__, __LINE__, "%s < %s: %" PRId64 " >= %" PRId64, \
				  #a, #b, a_, b_); } while (0)
#define ASSERT_LE(a, b) do { int64_t a_ = (int64_t)(a), b_ = (int64_t)(b); \
	if (!(a_ <= b_)) test_fail(__FILE__, __LINE__, "%s <= %s: %" PRId64 " > %" PRId64, \
				   #a, #b, a_, b_); } while (0)
#define ASSERT_OK(e) do { int64_t r_ = (int64_t)(e); if (r_ != 0) \
	test_fail(__FILE__, __LINE__, "%s returned %" PRId64 " (%s)", #e, r_, \
		  r_ < 0 ? strerror((int)-r_) : "nonzero"); } while (0)
#define ASSERT_STR_EQ(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_)) test_fail(__FILE__, __LINE__, \
		"%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)", \
		b_ ? b_ : "(null)"); } while (0)
#define ASSERT_NULL(p) ASSERT_TRUE((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT_TRUE((p) != NULL)

#endif
