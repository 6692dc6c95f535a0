/*
 * Unit tests for lib/selector: label selector syntax, semantics, canonical
 * text and upstream error messages; LabelSelector objects; field selectors;
 * label validation.
 */
#include "test.h"
#include "lib/json.h"
#include "lib/selector.h"
#include "lib/util.h"

#include <errno.h>

static cJSON *labels(const char *json)
{
	cJSON *v = cJSON_Parse(json);

	if (!v)
		test_fail(__FILE__, __LINE__, "bad JSON %s", json);
	return v;
}

/* Parses s, checks its canonical text, and whether it matches lbl. */
static void check(const char *s, const char *canon, const char *lbl, bool want)
{
	struct sel_label sel;
	char *err = NULL, *str;
	cJSON *l = labels(lbl);

	if (sel_label_parse(s, &sel, &err))
		test_fail(__FILE__, __LINE__, "parse \"%s\": %s", s, err);
	str = sel_label_string(&sel);
	if (strcmp(str, canon))
		test_fail(__FILE__, __LINE__, "\"%s\" printed as \"%s\", want \"%s\"", s, str, canon);
	if (sel_label_matches(&sel, l) != want)
		test_fail(__FILE__, __LINE__, "\"%s\" on %s: want %d", s, lbl, want);
	free(str);
	cJSON_Delete(l);
	sel_label_release(&sel);
}

static void check_err(const char *s, const char *want)
{
	struct sel_label sel;
	char *err = NULL;

	ASSERT_EQ(sel_label_parse(s, &sel, &err), -EINVAL);
	ASSERT_NOT_NULL(err);
	if (strcmp(err, want))
		test_fail(__FILE__, __LINE__, "\"%s\": error\n  \"%s\"\nwant\n  \"%s\"", s, err, want);
	ASSERT_EQ(sel.nreqs, 0);
	free(err);
}

TEST(selector_label_syntax_and_matching)
{
	const char *l = "{\"app\":\"web\",\"tier\":\"front\",\"n\":\"5\",\"x\":\"\"}";

	check("", "", l, true);
	check("app=web", "app=web", l, true);
	check("app==web", "app==web", l, true);
	check("app!=web", "app!=web", l, false);
	check("app!=db", "app!=db", l, true);
	check("missing!=db", "missing!=db", l, true);
	check("app in (db, web)", "app in (db,web)", l, true);
	check("app notin (web)", "app notin (web)", l, false);
	check("missing notin (web)", "missing notin (web)", l, true);
	check("app", "app", l, true);
	check("!app", "!app", l, false);
	check("!missing", "!missing", l, true);
	check("  tier = front , app in (web)", "app in (web),tier=front", l, true);
	check("app=web,tier=back", "app=web,tier=back", l, false);
	check("n>4,n<6", "n>4,n<6", l, true);
	check("n>5", "n>5", l, false);
	check("app>1", "app>1", l, false);
	check("x=", "x=", l, true);
	check("x in (,a)", "x in (,a)", l, true);
	check("x in ()", "x in ()", l, true);
	check("app in (in,notin)", "app in (in,notin)", l, false);
	check("example.com/k=v", "example.com/k=v", l, false);
	check("b=1,a=2,b!=3", "a=2,b=1,b!=3", "{}", false);
}

TEST(selector_label_errors_match_upstream)
{
	check_err("app=web,", "found '', expected: identifier after ','");
	check_err("app=web tier", "found 'tier', expected: ',' or 'end of string'");
	check_err(",a", "found ',', expected: !, identifier, or 'end of string'");
	check_err("a in b", "unable to parse requirement: found 'b' expected: '('");
	check_err("a in (b", "unable to parse requirement: found '', expected: ',' or ')'");
	check_err("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'");
	check_err("a in", "unable to parse requirement: found '' expected: '('");
	check_err("a (", "unable to parse requirement: found '(', "
		  "expected: in, notin, =, ==, !=, gt, lt");
	check_err("!=a", "found '!=', expected: !, identifier, or 'end of string'");
	check_err("!a=b", "found '=', expected: ',' or 'end of string'");
	check_err("a>x", "unable to parse requirement: values[0]: Invalid value: \"x\": "
		  "for 'Gt', 'Lt' operators, the value must be an integer");
	check_err("a!", "unable to parse requirement: found '!', "
		  "expected: in, notin, =, ==, !=, gt, lt");
	check_err("-a=b", "unable to parse requirement: <nil>: Invalid value: \"-a\": "
		  "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
		  "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  "
		  "or '123-abc', regex used for validation is "
		  "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
	check_err("a=b@c", "unable to parse requirement: values[0][a]: Invalid value: \"b@c\": "
		  "a valid label must be an empty string or consist of alphanumeric characters, "
		  "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
		  "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
		  "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
}

TEST(selector_label_from_json)
{
	struct sel_label sel;
	char *err = NULL, *s;
	cJSON *ls = labels("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":["
			   "{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"front\",\"back\"]},"
			   "{\"key\":\"canary\",\"operator\":\"DoesNotExist\"}]}");
	cJSON *l1 = labels("{\"app\":\"web\",\"tier\":\"back\"}");
	cJSON *l2 = labels("{\"app\":\"web\",\"tier\":\"back\",\"canary\":\"1\"}");

	ASSERT_OK(sel_label_from_json(ls, &sel, &err));
	s = sel_label_string(&sel);
	ASSERT_STR_EQ(s, "app=web,!canary,tier in (back,front)");
	free(s);
	ASSERT_TRUE(sel_label_matches(&sel, l1));
	ASSERT_FALSE(sel_label_matches(&sel, l2));
	sel_label_release(&sel);
	cJSON_Delete(ls);

	/* NULL selects nothing, {} everything */
	ASSERT_OK(sel_label_from_json(NULL, &sel, &err));
	ASSERT_FALSE(sel_label_matches(&sel, l1));
	ASSERT_FALSE(sel_label_empty(&sel));
	sel_label_release(&sel);
	ls = labels("{}");
	ASSERT_OK(sel_label_from_json(ls, &sel, &err));
	ASSERT_TRUE(sel_label_matches(&sel, l1));
	ASSERT_TRUE(sel_label_empty(&sel));
	sel_label_release(&sel);
	cJSON_Delete(ls);

	ls = labels("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Foo\"}]}");
	ASSERT_EQ(sel_label_from_json(ls, &sel, &err), -EINVAL);
	ASSERT_STR_EQ(err, "\"Foo\" is not a valid label selector operator");
	free(err);
	cJSON_Delete(ls);
	ls = labels("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[]}]}");
	ASSERT_EQ(sel_label_from_json(ls, &sel, &err), -EINVAL);
	ASSERT_STR_EQ(err, "values: Invalid value: []string{}: for 'in', 'notin' operators, "
		      "values set can't be empty");
	free(err);
	cJSON_Delete(ls);
	ls = labels("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\","
		    "\"values\":[\"x\"]}]}");
	ASSERT_EQ(sel_label_from_json(ls, &sel, &err), -EINVAL);
	ASSERT_STR_EQ(err, "values: Invalid value: []string{\"x\"}: values set must be empty "
		      "for exists and does not exist");
	free(err);
	cJSON_Delete(ls);
	cJSON_Delete(l1);
	cJSON_Delete(l2);
}

struct obj {
	const char *name, *ns, *phase;
};

static const char *obj_get(void *ctx, const char *field)
{
	struct obj *o = ctx;

	if (!strcmp(field, "metadata.name"))
		return o->name;
	if (!strcmp(field, "metadata.namespace"))
		return o->ns;
	if (!strcmp(field, "status.phase"))
		return o->phase;
	return NULL;
}

TEST(selector_field_parse_and_match)
{
	struct obj o = { "web-1", "default", "Running" };
	struct sel_field fs;
	char *err = NULL, *s;

	ASSERT_OK(sel_field_parse("status.phase!=Failed,metadata.name==web-1", &fs, &err));
	ASSERT_EQ(fs.nterms, 2);
	ASSERT_STR_EQ(fs.terms[0].field, "metadata.name");
	ASSERT_FALSE(fs.terms[0].not_equal);
	ASSERT_STR_EQ(fs.terms[1].field, "status.phase");
	ASSERT_TRUE(fs.terms[1].not_equal);
	ASSERT_TRUE(sel_field_matches(&fs, obj_get, &o));
	o.phase = "Failed";
	ASSERT_FALSE(sel_field_matches(&fs, obj_get, &o));
	s = sel_field_string(&fs);
	ASSERT_STR_EQ(s, "metadata.name=web-1,status.phase!=Failed");
	free(s);
	sel_field_release(&fs);

	/* escapes */
	ASSERT_OK(sel_field_parse("metadata.name=a\\,b\\=c\\\\d", &fs, &err));
	ASSERT_EQ(fs.nterms, 1);
	ASSERT_STR_EQ(fs.terms[0].value, "a,b=c\\d");
	s = sel_field_string(&fs);
	ASSERT_STR_EQ(s, "metadata.name=a\\,b\\=c\\\\d");
	free(s);
	sel_field_release(&fs);

	/* empty and absent fields */
	ASSERT_OK(sel_field_parse("", &fs, &err));
	ASSERT_EQ(fs.nterms, 0);
	ASSERT_TRUE(sel_field_matches(&fs, obj_get, &o));
	sel_field_release(&fs);
	ASSERT_OK(sel_field_parse("spec.nodeName=,", &fs, &err));
	ASSERT_TRUE(sel_field_matches(&fs, obj_get, &o));
	sel_field_release(&fs);

	ASSERT_EQ(sel_field_parse("metadata.name", &fs, &err), -EINVAL);
	ASSERT_STR_EQ(err, "invalid selector: 'metadata.name'; can't understand 'metadata.name'");
	free(err);
	ASSERT_EQ(sel_field_parse("a=b=c", &fs, &err), -EINVAL);
	ASSERT_STR_EQ(err, "invalid field selector: unescaped character in value: =");
	free(err);
	ASSERT_EQ(sel_field_parse("a=b\\x", &fs, &err), -EINVAL);
	ASSERT_STR_EQ(err, "invalid field selector: invalid escape sequence: \\x");
	free(err);
	ASSERT_EQ(sel_field_parse("a=b\\", &fs, &err), -EINVAL);
	ASSERT_STR_EQ(err, "invalid field selector: invalid escape sequence: \\");
	free(err);
}

TEST(selector_label_validation)
{
	const char *m[4];

	ASSERT_EQ(sel_validate_label_key("app.kubernetes.io/name", m, 4), 0);
	ASSERT_EQ(sel_validate_label_key("a", m, 4), 0);
	ASSERT_EQ(sel_validate_label_key("", m, 4), 2);
	ASSERT_STR_EQ(m[0], "name part must be non-empty");
	ASSERT_EQ(sel_validate_label_key("/a", m, 4), 1);
	ASSERT_STR_EQ(m[0], "prefix part must be non-empty");
	ASSERT_EQ(sel_validate_label_key("Example.com/a", m, 4), 1);
	ASSERT_TRUE(str_has_prefix(m[0], "prefix part a lowercase RFC 1123 subdomain"));
	ASSERT_EQ(sel_validate_label_key("a/b/c", m, 4), 1);
	ASSERT_TRUE(str_has_prefix(m[0], "a valid label key must consist of"));
	ASSERT_EQ(sel_validate_label_key(
		"a123456789012345678901234567890123456789012345678901234567890123", m, 4), 1);
	ASSERT_STR_EQ(m[0], "name part must be no more than 63 bytes");
	ASSERT_EQ(sel_validate_label_value("", m, 4), 0);
	ASSERT_EQ(sel_validate_label_value("a_b.c-d", m, 4), 0);
	ASSERT_EQ(sel_validate_label_value("-a", m, 4), 1);
	ASSERT_EQ(sel_validate_label_value(
		"a123456789012345678901234567890123456789012345678901234567890123", m, 4), 1);
	ASSERT_STR_EQ(m[0], "must be no more than 63 bytes");
	ASSERT_EQ(sel_validate_dns1123_subdomain("a.b-c.d", m, 4), 0);
	ASSERT_EQ(sel_validate_dns1123_subdomain("a..b", m, 4), 1);
	ASSERT_EQ(sel_validate_dns1123_subdomain("a-.b", m, 4), 1);
}

TEST(selector_limits)
{
	struct buf b = BUF_INIT;
	struct sel_label sel;
	char *err = NULL;

	for (int i = 0; i <= SEL_MAX_REQS; i++)
		buf_addf(&b, "%sk%d", i ? "," : "", i);
	ASSERT_EQ(sel_label_parse(b.data, &sel, &err), -E2BIG);
	free(err);
	buf_release(&b);
}
