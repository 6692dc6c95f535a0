#include "test.h"
#include "lib/buf.h"
#include "lib/flags.h"
#include "lib/json.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <errno.h>

TEST(buf_grows_and_formats)
{
	struct buf b = BUF_INIT;

	ASSERT_STR_EQ(buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		buf_addf(&b, "%d,", i);
	ASSERT_TRUE(str_has_prefix(b.data, "0,1,2,"));
	ASSERT_TRUE(str_has_suffix(b.data, "998,999,"));
	ASSERT_EQ(b.data[b.len], 0);
	buf_consume(&b, 2);
	ASSERT_TRUE(str_has_prefix(b.data, "1,2,"));
	buf_release(&b);
	ASSERT_EQ(b.len, 0);
}

TEST(buf_json_escapes)
{
	struct buf b = BUF_INIT;

	buf_add_json_str(&b, "a\"b\\c\n\x01", 7);
	ASSERT_STR_EQ(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
	buf_release(&b);
}

TEST(parse_bool_go_semantics)
{
	bool v;

	ASSERT_OK(parse_bool("True", &v));
	ASSERT_TRUE(v);
	ASSERT_OK(parse_bool("f", &v));
	ASSERT_FALSE(v);
	ASSERT_EQ(parse_bool("yes", &v), -EINVAL);
	ASSERT_EQ(parse_bool("", &v), -EINVAL);
}

TEST(parse_i64_whole_string)
{
	int64_t v;

	ASSERT_OK(parse_i64("-42", &v));
	ASSERT_EQ(v, -42);
	ASSERT_EQ(parse_i64("12x", &v), -EINVAL);
	ASSERT_EQ(parse_i64("99999999999999999999", &v), -ERANGE);
}

TEST(rfc3339_round_trip)
{
	char out[RFC3339_MAX];
	int64_t ns;

	ASSERT_OK(rfc3339_parse("2026-11-27T07:01:04Z", &ns));
	rfc3339_format(ns, out);
	ASSERT_STR_EQ(out, "2026-11-27T07:01:04Z");
	ASSERT_OK(rfc3339_parse("2026-11-27T08:01:04.5+01:00", &ns));
	rfc3339_format_micro(ns, out);
	ASSERT_STR_EQ(out, "2026-11-27T07:01:04.500000Z");
	ASSERT_EQ(rfc3339_parse("2026-13-01T00:00:00Z", &ns), -EINVAL);
	ASSERT_EQ(rfc3339_parse("2026-11-27 07:01:04Z", &ns), -EINVAL);
}

TEST(json_is_case_sensitive)
{
	cJSON *o = cJSON_Parse("{\"Name\":\"A\",\"name\":\"b\",\"m\":{\"n\":3}}");

	ASSERT_STR_EQ(json_get_str(o, "name", NULL), "b");
	ASSERT_STR_EQ(json_get_str(o, "Name", NULL), "A");
	ASSERT_NULL(json_get(o, "NAME"));
	ASSERT_EQ(json_get_int(json_path(o, "m"), "n", 0), 3);
	ASSERT_EQ(json_get_int(o, "missing", -1), -1);
	ASSERT_NOT_NULL(json_path(o, "m.n"));
	cJSON_Delete(o);
}

TEST(flags_table_parsing)
{
	const char *name = NULL;
	int64_t port = 0;
	bool dis = false;
	struct flag_list labels = { 0 };
	const struct flag fl[] = {
		{ "name", FLAG_STR, &name, "name", NULL },
		{ "port", FLAG_INT, &port, "port", NULL },
		{ "disable-agent", FLAG_BOOL, &dis, "x", NULL },
		{ "label", FLAG_LIST, &labels, "l", NULL },
		FLAG_END,
	};
	char *argv[] = { "--name=x", "--port", "6443", "--disable-agent", "pos",
			 "--label", "a=b", "--label=c=d" };
	char **args;
	int nargs;

	ASSERT_OK(flags_parse("t", NULL, fl, 8, argv, &args, &nargs));
	ASSERT_STR_EQ(name, "x");
	ASSERT_EQ(port, 6443);
	ASSERT_TRUE(dis);
	ASSERT_EQ(nargs, 1);
	ASSERT_STR_EQ(args[0], "pos");
	ASSERT_EQ(labels.n, 2);
	ASSERT_STR_EQ(labels.v[1], "c=d");
	free(args);
	flag_list_release(&labels);

	char *bad[] = { "--nope" };
	ASSERT_EQ(flags_parse("t", NULL, fl, 1, bad, &args, &nargs), -EINVAL);
	char *badnum[] = { "--port=x" };
	ASSERT_EQ(flags_parse("t", NULL, fl, 1, badnum, &args, &nargs), -EINVAL);
}
