/*
 * Unit tests for lib/quantity: parse + canonical form as kube-apiserver
 * serves it, comparison, arithmetic, and rejection messages.
 */
#include "test.h"
#include "lib/quantity.h"

#include <errno.h>

static void canon(const char *in, const char *want)
{
	char out[QUANTITY_STR_MAX];
	const char *err = NULL;

	if (quantity_canonicalize(in, out, sizeof(out), &err))
		test_fail(__FILE__, __LINE__, "\"%s\": %s", in, err);
	if (strcmp(out, want))
		test_fail(__FILE__, __LINE__, "\"%s\" -> \"%s\", want \"%s\"", in, out, want);
}

static struct quantity Q(const char *s)
{
	struct quantity q;
	const char *err;

	if (quantity_parse(s, &q, &err))
		test_fail(__FILE__, __LINE__, "\"%s\": %s", s, err);
	return q;
}

TEST(quantity_canonical_forms)
{
	canon("0", "0");
	canon("0m", "0");
	canon("0Mi", "0");
	canon("100m", "100m");
	canon("0.5", "500m");
	canon(".5", "500m");
	canon("1.5", "1500m");
	canon("1000m", "1");
	canon("1000", "1k");
	canon("1k", "1k");
	canon("1500", "1500");
	canon("1.5k", "1500");
	canon("12e6", "12e6");
	canon("2e3", "2e3");
	canon("1E3", "1E3");		/* already canonical: served verbatim */
	canon("1e-3", "1e-3");
	canon("-1", "-1");
	canon("+1", "+1");
	canon("01", "01");
	canon("1024Mi", "1Gi");
	canon("1.5Gi", "1536Mi");
	canon("0.5Gi", "512Mi");
	canon("0.1Ki", "102400m");
	canon("512Ki", "512Ki");
	canon("1Ki", "1Ki");
	canon("1536", "1536");
	canon("8Mi", "8Mi");
	canon("1Ei", "1Ei");
	canon("1.0000000001", "1000000001n");	/* rounded up to nanos */
	canon("1e-12", "1e-9");
	canon("0.0000000001", "1n");
	canon("-0.0000000001", "-1n");		/* away from zero */
	canon("1000E", "1e21");
	canon("100n", "100n");
	canon("1.G", "1.G");		/* upstream keeps this text too */
	canon("123456789012345678", "123456789012345678");
	canon("1234567890123456789", "1234567890123456789");
	canon("10000000000000000000000", "10e21");
	canon("20Ei", "9223372036854775807");	/* capped at 2^63-1 */
}

TEST(quantity_rejects_bad_strings)
{
	static const char *const bad[] = { "", "abc", "1.5.5", "1Kb", "1 ", " 1", "--1",
					   "1e", "1Gi1", "1k1", "1e1.5", "0x10" };
	struct quantity q;
	const char *err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (!quantity_parse(bad[i], &q, &err))
			test_fail(__FILE__, __LINE__, "\"%s\" accepted", bad[i]);
		ASSERT_NOT_NULL(err);
	}
	ASSERT_EQ(quantity_parse("1.5.5", &q, &err), -EINVAL);
	ASSERT_STR_EQ(err, "quantities must match the regular expression "
		      "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
	ASSERT_EQ(quantity_parse("1Kb", &q, &err), -EINVAL);
	ASSERT_STR_EQ(err, "quantities must match the regular expression "
		      "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
	ASSERT_EQ(quantity_parse("1kk", &q, &err), -EINVAL);
	ASSERT_STR_EQ(err, "unable to parse quantity's suffix");
}

TEST(quantity_compare_and_values)
{
	struct quantity a = Q("1"), b = Q("1000m"), c = Q("1Ki"), d = Q("1024"), e = Q("1E");
	struct quantity n = Q("-1n"), z = Q("0");

	ASSERT_EQ(quantity_cmp(&a, &b), 0);
	ASSERT_EQ(quantity_cmp(&c, &d), 0);
	ASSERT_EQ(quantity_cmp(&a, &c), -1);
	ASSERT_EQ(quantity_cmp(&e, &n), 1);
	ASSERT_EQ(quantity_cmp(&n, &z), -1);
	ASSERT_EQ(quantity_cmp(&z, &n), 1);
	ASSERT_EQ(quantity_value(&c), 1024);
	ASSERT_EQ(quantity_milli_value(&a), 1000);
	a = Q("100m");
	ASSERT_EQ(quantity_value(&a), 1);
	ASSERT_EQ(quantity_milli_value(&a), 100);
	a = Q("1.5");
	ASSERT_EQ(quantity_value(&a), 2);
	a = Q("-1.5");
	ASSERT_EQ(quantity_value(&a), -2);
	a = Q("1n");
	ASSERT_EQ(quantity_milli_value(&a), 1);
	ASSERT_EQ(quantity_value(&e), 1000000000000000000LL);
	a = Q("100E");
	ASSERT_EQ(quantity_value(&a), INT64_MAX);
	ASSERT_TRUE(quantity_is_zero(&z));
}

TEST(quantity_arithmetic)
{
	struct quantity a = Q("100m"), b = Q("1.5"), big = Q("9E"), one = Q("1");
	char out[QUANTITY_STR_MAX];

	ASSERT_OK(quantity_add(&a, &b));
	quantity_format(&a, out, sizeof(out));
	ASSERT_STR_EQ(out, "1600m");
	ASSERT_OK(quantity_sub(&a, &b));
	quantity_format(&a, out, sizeof(out));
	ASSERT_STR_EQ(out, "100m");
	a = Q("1Gi");
	b = Q("512Mi");
	ASSERT_OK(quantity_add(&a, &b));
	quantity_format(&a, out, sizeof(out));
	ASSERT_STR_EQ(out, "1536Mi");
	/* zero takes the other side's format */
	a = Q("0");
	ASSERT_OK(quantity_add(&a, &b));
	quantity_format(&a, out, sizeof(out));
	ASSERT_STR_EQ(out, "512Mi");
	/* 9E + 1: needs more than 64 bits at one scale -> refused, a unchanged */
	ASSERT_OK(quantity_add(&big, &big));
	ASSERT_EQ(quantity_add(&big, &one), -ERANGE);
	quantity_format(&big, out, sizeof(out));
	ASSERT_STR_EQ(out, "18E");
}

TEST(quantity_from_json_numbers)
{
	struct quantity q;
	const char *err;
	char out[QUANTITY_STR_MAX];
	cJSON *n = cJSON_CreateNumber(2), *f = cJSON_CreateNumber(0.5), *s = cJSON_CreateString("1Gi");
	cJSON *b = cJSON_CreateTrue();

	ASSERT_OK(quantity_from_json(n, &q, &err));
	quantity_format(&q, out, sizeof(out));
	ASSERT_STR_EQ(out, "2");
	ASSERT_OK(quantity_from_json(f, &q, &err));
	quantity_format(&q, out, sizeof(out));
	ASSERT_STR_EQ(out, "500m");
	ASSERT_OK(quantity_from_json(s, &q, &err));
	ASSERT_EQ(quantity_value(&q), 1073741824);
	ASSERT_EQ(quantity_from_json(b, &q, &err), -EINVAL);
	cJSON_Delete(n);
	cJSON_Delete(f);
	cJSON_Delete(s);
	cJSON_Delete(b);
}
