/*
 * tests/unit/json_test.c - lib/json: exact int64 numbers through parse,
 * print, copy, the three patch kinds and YAML; the printer matches cJSON's
 * for everything else.
 */
#include "test.h"
#include "lib/json.h"
#include "lib/jsonpatch.h"
#include "lib/mergepatch.h"
#include "lib/smp.h"
#include "lib/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NS "1795776525801326301"	/* Unix ns: no double holds it */

static cJSON *parse(const char *s)
{
	cJSON *o = json_parse(s, strlen(s));

	if (!o)
		BUG("test json does not parse: %s", s);
	return o;
}

/* Prints o, frees it, compares. */
static int printed_is(cJSON *o, const char *want)
{
	char *s = json_print(o);
	int same = !strcmp(s, want);

	if (!same)
		fprintf(stderr, "printed %s\n   want %s\n", s, want);
	free(s);
	cJSON_Delete(o);
	return same;
}

TEST(json_int64_parse_print_exact)
{
	const char *in = "{\"t\":" NS ",\"n\":-" NS ",\"s\":\"" NS "1\",\"a\":[1,"
			 "9007199254740993,{\"x\":-9223372036854775808}],\"f\":1.5,"
			 "\"big\":123456789012345678901234567890}";
	cJSON *o = parse(in);
	int64_t v;

	ASSERT_EQ(json_get_int(o, "t", 0), 1795776525801326301LL);
	ASSERT_EQ(json_get_int(o, "n", 0), -1795776525801326301LL);
	ASSERT_OK(json_int(cJSON_GetArrayItem(json_get(o, "a"), 1), &v));
	ASSERT_EQ(v, 9007199254740993LL);
	ASSERT_EQ(json_get_int(cJSON_GetArrayItem(json_get(o, "a"), 2), "x", 0), INT64_MIN);
	ASSERT_EQ(json_int(json_get(o, "f"), &v), -EINVAL);
	ASSERT_EQ(json_int(json_get(o, "s"), &v), -EINVAL);
	ASSERT_EQ(json_get_int(o, "f", 0), 1);
	/* a string holding digits stays a string */
	ASSERT_STR_EQ(json_get_str(o, "s", NULL), NS "1");
	ASSERT_TRUE(printed_is(o, in));
}

TEST(json_int64_made_in_c)
{
	cJSON *o = cJSON_CreateObject();

	json_set_int(o, "t", 1795776525801326301LL);
	json_set_int(o, "small", 42);
	json_set(o, "min", json_create_int(INT64_MIN));
	json_set(o, "edge", json_create_int((1LL << 53) + 1));
	ASSERT_EQ(json_get_int(o, "t", 0), 1795776525801326301LL);
	ASSERT_NULL(json_get(o, "small")->valuestring);
	ASSERT_TRUE(printed_is(o, "{\"t\":" NS ",\"small\":42,\"min\":-9223372036854775808,"
			       "\"edge\":9007199254740993}"));
}

TEST(json_integral_doubles_print_as_integers)
{
	cJSON *a = cJSON_CreateArray();

	cJSON_AddItemToArray(a, cJSON_CreateNumber(1e18));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(-4294967296.0));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(0.1));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(1.0 / 3));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(1e300));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(NAN));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(-0.5));
	ASSERT_TRUE(printed_is(a, "[1000000000000000000,-4294967296,0.1,0.33333333333333331,"
			       "1e+300,null,-0.5]"));
}

TEST(json_printer_matches_cjson)
{
	static const char *const docs[] = {
		"{\"a\":\"q\\\"b\\\\s\\n\\r\\t\\b\\f\\u0001\\u001f\",\"u\":\"\xc3\xa9\xe2\x82\xac/\","
		"\"e\":{},\"l\":[],\"t\":true,\"f\":false,\"z\":null,\"n\":[0,-1,2147483647,"
		"-2147483648,3.25,1e-7],\"d\":{\"x\":{\"y\":[[1],[{\"k\":\"\"}]]}}}",
		"[]", "\"s\"", "12", "null",
	};

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		cJSON *o = parse(docs[i]);
		char *ours = json_print(o), *theirs = cJSON_PrintUnformatted(o);

		ASSERT_STR_EQ(ours, theirs);
		free(ours);
		cJSON_free(theirs);
		cJSON_Delete(o);
	}
}

TEST(json_int64_survives_copy_equal_and_raw)
{
	cJSON *o = parse("{\"t\":" NS "}"), *c = cJSON_Duplicate(o, 1);
	cJSON *near = parse("{\"t\":1795776525801326300}");
	cJSON *raw = cJSON_CreateObject();

	ASSERT_TRUE(json_equal(o, c));
	/* the same double, different integers */
	ASSERT_TRUE(json_get(o, "t")->valuedouble == json_get(near, "t")->valuedouble);
	ASSERT_FALSE(json_equal(o, near));
	cJSON_AddItemToObject(raw, "r", cJSON_CreateRaw("[1]"));
	ASSERT_TRUE(printed_is(raw, "{\"r\":[1]}"));
	ASSERT_TRUE(printed_is(c, "{\"t\":" NS "}"));
	cJSON_Delete(o);
	cJSON_Delete(near);
}

TEST(json_parse_errors_and_end)
{
	const char *s = "{\"a\":1} trailing", *end = NULL;
	cJSON *o;

	ASSERT_NULL(json_parse(NULL, 0));
	ASSERT_NULL(json_parse("", 0));
	ASSERT_NULL(json_parse("{\"a\":", 5));
	ASSERT_NULL(json_parse_end("[1,x]", 5, &end));
	ASSERT_NOT_NULL(end);
	o = json_parse_end(s, strlen(s), &end);
	ASSERT_NOT_NULL(o);
	ASSERT_EQ(end - s, 7);
	cJSON_Delete(o);
	/* only the parsed text counts: digits after the value are no literal */
	o = json_parse_end("[" NS "] 9007199254740993", 40, &end);
	ASSERT_TRUE(printed_is(o, "[" NS "]"));
}

TEST(json_int64_through_patches)
{
	cJSON *doc = parse("{\"status\":{\"creationTime\":1,\"keep\":" NS "}}");
	cJSON *mp = parse("{\"status\":{\"creationTime\":" NS "}}");
	cJSON *jp = parse("[{\"op\":\"add\",\"path\":\"/status/n\",\"value\":-" NS "},"
			  "{\"op\":\"test\",\"path\":\"/status/keep\",\"value\":" NS "}]");
	cJSON *bad = parse("[{\"op\":\"test\",\"path\":\"/status/keep\",\"value\":1795776525801326300}]");
	cJSON *out = NULL;
	char *err = NULL;

	ASSERT_OK(mergepatch_apply(doc, mp, &out, &err));
	ASSERT_TRUE(printed_is(out, "{\"status\":{\"creationTime\":" NS ",\"keep\":" NS "}}"));
	ASSERT_OK(smp_apply(doc, mp, NULL, &out, &err));
	ASSERT_TRUE(printed_is(out, "{\"status\":{\"creationTime\":" NS ",\"keep\":" NS "}}"));
	ASSERT_OK(jsonpatch_apply(doc, jp, &out, &err));
	ASSERT_TRUE(printed_is(out, "{\"status\":{\"creationTime\":1,\"keep\":" NS ",\"n\":-" NS "}}"));
	/* test compares exactly: a neighbour with the same double fails */
	ASSERT_EQ(jsonpatch_apply(doc, bad, &out, &err), -EINVAL);
	free(err);
	cJSON_Delete(doc);
	cJSON_Delete(mp);
	cJSON_Delete(jp);
	cJSON_Delete(bad);
}

TEST(json_int64_from_yaml)
{
	cJSON *o = NULL;
	char *err = NULL;
	const char *y = "status: {creationTime: " NS ", n: 7}\n";

	ASSERT_OK(yaml_load(y, strlen(y), YAML_TYPED, &o, &err));
	ASSERT_TRUE(printed_is(o, "{\"status\":{\"creationTime\":" NS ",\"n\":7}}"));
}
