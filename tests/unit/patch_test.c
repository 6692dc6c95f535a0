/*
 * Unit tests for lib/jsonpatch, lib/mergepatch and lib/smp.
 *
 * JSON in the tests is written with single quotes (J() turns them into
 * double quotes) and compared by compact serialisation, so key and element
 * order are part of every expectation.
 */
#include "test.h"
#include "lib/json.h"
#include "lib/jsonpatch.h"
#include "lib/mergepatch.h"
#include "lib/smp.h"
#include "lib/util.h"

#include <errno.h>

static cJSON *J(const char *s)
{
	char *d = xstrdup(s);
	cJSON *v;

	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	v = cJSON_Parse(d);
	if (!v)
		test_fail(__FILE__, __LINE__, "bad test JSON: %s", s);
	free(d);
	return v;
}

static void expect_json(const cJSON *got, const char *want)
{
	cJSON *w = J(want);
	char *g = json_print(got), *ws = json_print(w);

	ASSERT_STR_EQ(g, ws);
	free(g);
	free(ws);
	cJSON_Delete(w);
}

/* ---- JSON patch ---- */

static int jp(const char *doc, const char *patch, cJSON **out, char **err)
{
	cJSON *d = J(doc), *p = J(patch);
	int ret;

	*err = NULL;
	ret = jsonpatch_apply(d, p, out, err);
	cJSON_Delete(d);
	cJSON_Delete(p);
	return ret;
}

static void jp_ok(const char *doc, const char *patch, const char *want)
{
	cJSON *out;
	char *err;
	int ret = jp(doc, patch, &out, &err);

	if (ret)
		test_fail(__FILE__, __LINE__, "patch %s failed: %s", patch, err);
	expect_json(out, want);
	cJSON_Delete(out);
}

static void jp_fail(const char *doc, const char *patch, int want_ret, const char *want_msg)
{
	cJSON *out = NULL;
	char *err = NULL;
	int ret = jp(doc, patch, &out, &err);

	ASSERT_EQ(ret, want_ret);
	ASSERT_NULL(out);
	ASSERT_NOT_NULL(err);
	if (!strstr(err, want_msg))
		test_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", err, want_msg);
	free(err);
}

TEST(jsonpatch_operations)
{
	jp_ok("{'a':1}", "[{'op':'add','path':'/b','value':{'c':[1]}}]", "{'a':1,'b':{'c':[1]}}");
	jp_ok("{'a':[1,2]}", "[{'op':'add','path':'/a/1','value':9}]", "{'a':[1,9,2]}");
	jp_ok("{'a':[1,2]}", "[{'op':'add','path':'/a/-','value':3}]", "{'a':[1,2,3]}");
	jp_ok("{'a':[1,2]}", "[{'op':'add','path':'/a/2','value':3}]", "{'a':[1,2,3]}");
	jp_ok("{'a':[1,2]}", "[{'op':'add','path':'/a/-1','value':0}]", "{'a':[1,0,2]}");
	jp_ok("{'a':1,'b':2}", "[{'op':'remove','path':'/a'}]", "{'b':2}");
	jp_ok("{'a':[1,2,3]}", "[{'op':'remove','path':'/a/1'}]", "{'a':[1,3]}");
	jp_ok("{'a':1}", "[{'op':'replace','path':'/a','value':'x'}]", "{'a':'x'}");
	jp_ok("{'a':{'b':1},'c':{}}", "[{'op':'move','from':'/a/b','path':'/c/d'}]",
	      "{'a':{},'c':{'d':1}}");
	jp_ok("{'a':[1,2]}", "[{'op':'copy','from':'/a','path':'/b'}]", "{'a':[1,2],'b':[1,2]}");
	jp_ok("{'a':{'b':[1,{'c':'x'}]}}", "[{'op':'test','path':'/a/b/1','value':{'c':'x'}}]",
	      "{'a':{'b':[1,{'c':'x'}]}}");
	/* escapes: '~1' is '/', '~0' is '~' */
	jp_ok("{'metadata':{'labels':{'app.kubernetes.io/name':'x','a~b':'y'}}}",
	      "[{'op':'replace','path':'/metadata/labels/app.kubernetes.io~1name','value':'z'},"
	      "{'op':'remove','path':'/metadata/labels/a~0b'}]",
	      "{'metadata':{'labels':{'app.kubernetes.io/name':'z'}}}");
	/* operations see the results of the earlier ones */
	jp_ok("{}", "[{'op':'add','path':'/a','value':[]},{'op':'add','path':'/a/-','value':1},"
	      "{'op':'test','path':'/a/0','value':1}]", "{'a':[1]}");
}

TEST(jsonpatch_errors)
{
	jp_fail("{'a':1}", "[{'op':'remove','path':'/b'}]", -EINVAL,
		"unable to remove nonexistent key: b");
	jp_fail("{'a':1}", "[{'op':'add','path':'/x/y','value':1}]", -EINVAL,
		"add operation does not apply: doc is missing path: \"/x/y\"");
	jp_fail("{'a':1}", "[{'op':'replace','path':'/b','value':1}]", -EINVAL,
		"replace operation does not apply: doc is missing key: /b");
	jp_fail("{'a':1}", "[{'op':'test','path':'/a','value':2}]", -EINVAL,
		"testing value /a failed: test failed");
	jp_fail("{'a':[1]}", "[{'op':'add','path':'/a/5','value':2}]", -EINVAL,
		"invalid index referenced");
	jp_fail("{'a':[1]}", "[{'op':'remove','path':'/a/-'}]", -EINVAL, "nonexistent key");
	jp_fail("{'a':1}", "[{'op':'frob','path':'/a'}]", -EINVAL, "unexpected kind: frob");
	jp_fail("{'a':1}", "[{'op':'add','value':1}]", -EINVAL, "failed to decode path");
	jp_fail("{'a':1}", "[{'op':'move','from':'/a','path':'/a/b'}]", -EINVAL,
		"cannot move /a into its own child");
	jp_fail("{'a':1}", "[{'op':'copy','path':'/b'}]", -EINVAL, "failed to decode from");
	jp_fail("{'a':1}", "[{'op':'add','path':'/a~2','value':1}]", -EINVAL, "missing path");
	jp_fail("{'a':1}", "{'op':'add'}", -EBADMSG, "must be an array");
	jp_fail("{'a':1}", "[1]", -EBADMSG, "must be an object");
}

TEST(jsonpatch_is_atomic)
{
	cJSON *doc = J("{'a':1,'b':[1,2]}");
	cJSON *patch = J("[{'op':'add','path':'/c','value':3},{'op':'remove','path':'/b/0'},"
			 "{'op':'test','path':'/a','value':42}]");
	cJSON *out = NULL;
	char *err = NULL;

	ASSERT_EQ(jsonpatch_apply(doc, patch, &out, &err), -EINVAL);
	ASSERT_NULL(out);
	expect_json(doc, "{'a':1,'b':[1,2]}");
	free(err);
	cJSON_Delete(doc);
	cJSON_Delete(patch);
}

TEST(jsonpatch_limits)
{
	struct buf b = BUF_INIT;
	cJSON *doc = J("{'a':[0,1,2,3,4,5,6,7]}"), *patch, *out = NULL;
	char *err = NULL;

	/* too many operations: 413 */
	buf_addch(&b, '[');
	for (int i = 0; i <= JSONPATCH_MAX_OPS; i++)
		buf_addf(&b, "%s{\"op\":\"test\",\"path\":\"/a/0\",\"value\":0}", i ? "," : "");
	buf_addch(&b, ']');
	patch = cJSON_Parse(b.data);
	ASSERT_EQ(jsonpatch_apply(doc, patch, &out, &err), -E2BIG);
	ASSERT_NOT_NULL(strstr(err, "maximum operations"));
	free(err);
	cJSON_Delete(patch);

	/* copy doubling: /a is copied into itself until the growth limit */
	buf_reset(&b);
	buf_addch(&b, '[');
	for (int i = 0; i < 40; i++)
		buf_addf(&b, "%s{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/a/0\"}", i ? "," : "");
	buf_addch(&b, ']');
	patch = cJSON_Parse(b.data);
	err = NULL;
	ASSERT_EQ(jsonpatch_apply(doc, patch, &out, &err), -E2BIG);
	ASSERT_NULL(out);
	ASSERT_NOT_NULL(err);
	free(err);
	cJSON_Delete(patch);
	cJSON_Delete(doc);
	buf_release(&b);
}

TEST(jsonpatch_work_limit)
{
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "a");
	cJSON *patch = cJSON_CreateArray(), *out = NULL;
	char *err = NULL;

	for (int i = 0; i < 200000; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(i));
	for (int i = 0; i < 400; i++) {
		cJSON *op = cJSON_CreateObject();

		cJSON_AddStringToObject(op, "op", "test");
		cJSON_AddStringToObject(op, "path", "/a/199999");
		cJSON_AddNumberToObject(op, "value", 199999);
		cJSON_AddItemToArray(patch, op);
	}
	ASSERT_EQ(jsonpatch_apply(doc, patch, &out, &err), -E2BIG);
	ASSERT_NOT_NULL(strstr(err, "array elements"));
	free(err);
	/* a few such operations are fine */
	while (cJSON_GetArraySize(patch) > 10)
		cJSON_DeleteItemFromArray(patch, 0);
	ASSERT_OK(jsonpatch_apply(doc, patch, &out, &err));
	cJSON_Delete(out);
	cJSON_Delete(doc);
	cJSON_Delete(patch);
}

TEST(jsonpatch_get_pointer)
{
	cJSON *doc = J("{'a':{'b/c':[10,{'~':5}]}}");

	ASSERT_EQ(jsonpatch_get(doc, "/a/b~1c/0")->valuedouble, 10);
	ASSERT_EQ(jsonpatch_get(doc, "/a/b~1c/1/~0")->valuedouble, 5);
	ASSERT_TRUE(jsonpatch_get(doc, "") == doc);
	ASSERT_NULL(jsonpatch_get(doc, "/a/b~1c/2"));
	ASSERT_NULL(jsonpatch_get(doc, "a"));
	cJSON_Delete(doc);
}

/* ---- JSON merge patch (RFC 7386 appendix A) ---- */

static void mp_ok(const char *doc, const char *patch, const char *want)
{
	cJSON *d = J(doc), *p = J(patch), *out = NULL;
	char *err = NULL;

	ASSERT_OK(mergepatch_apply(d, p, &out, &err));
	expect_json(out, want);
	cJSON_Delete(out);
	cJSON_Delete(d);
	cJSON_Delete(p);
}

TEST(mergepatch_rfc7386_examples)
{
	mp_ok("{'a':'b'}", "{'a':'c'}", "{'a':'c'}");
	mp_ok("{'a':'b'}", "{'b':'c'}", "{'a':'b','b':'c'}");
	mp_ok("{'a':'b'}", "{'a':null}", "{}");
	mp_ok("{'a':'b','b':'c'}", "{'a':null}", "{'b':'c'}");
	mp_ok("{'a':['b']}", "{'a':'c'}", "{'a':'c'}");
	mp_ok("{'a':'c'}", "{'a':['b']}", "{'a':['b']}");
	mp_ok("{'a':{'b':'c'}}", "{'a':{'b':'d','c':null}}", "{'a':{'b':'d'}}");
	mp_ok("{'a':[{'b':'c'}]}", "{'a':[1]}", "{'a':[1]}");
	mp_ok("['a','b']", "['c','d']", "['c','d']");
	mp_ok("{'a':'b'}", "['c']", "['c']");
	mp_ok("{'a':'foo'}", "null", "null");
	mp_ok("{'a':'foo'}", "'bar'", "'bar'");
	mp_ok("{'e':null}", "{'a':1}", "{'e':null,'a':1}");
	mp_ok("[1,2]", "{'a':'b','c':null}", "{'a':'b'}");
	mp_ok("{}", "{'a':{'bb':{'ccc':null}}}", "{'a':{'bb':{}}}");
}

TEST(mergepatch_depth_limit)
{
	struct buf b = BUF_INIT;
	cJSON *p, *out = NULL, *d = J("{}");
	char *err = NULL;

	for (int i = 0; i < MERGEPATCH_MAX_DEPTH + 5; i++)
		buf_addstr(&b, "{\"a\":");
	buf_addstr(&b, "1");
	for (int i = 0; i < MERGEPATCH_MAX_DEPTH + 5; i++)
		buf_addch(&b, '}');
	p = cJSON_Parse(b.data);
	ASSERT_NOT_NULL(p);
	ASSERT_EQ(mergepatch_apply(d, p, &out, &err), -E2BIG);
	ASSERT_NULL(out);
	free(err);
	cJSON_Delete(p);
	cJSON_Delete(d);
	buf_release(&b);
}

/* ---- strategic merge patch, against a tiny table-driven schema ---- */

struct fnode;
struct ffield {
	const char *name;
	unsigned strategy;
	const char *key;
	const struct fnode *node;
};
struct fnode {
	const struct ffield *fields;	/* object: known fields, NULL-ended */
	const struct fnode *items;	/* list: element node */
};

static const struct fnode n_leaf = { NULL, NULL };
static const struct fnode n_leaf_list = { NULL, &n_leaf };
static const struct fnode n_env = { NULL, &n_leaf };
static const struct fnode n_ports = { NULL, &n_leaf };
static const struct ffield f_container[] = {
	{ "env", SMP_MERGE, "name", &n_env },
	{ "ports", SMP_MERGE, "containerPort", &n_ports },
	{ "args", 0, NULL, &n_leaf_list },
	{ NULL, 0, NULL, NULL },
};
static const struct fnode n_container = { f_container, NULL };
static const struct fnode n_containers = { NULL, &n_container };
static const struct ffield f_volume[] = {
	{ "emptyDir", 0, NULL, &n_leaf },
	{ "hostPath", 0, NULL, &n_leaf },
	{ NULL, 0, NULL, NULL },
};
static const struct fnode n_volume = { f_volume, NULL };
static const struct fnode n_volumes = { NULL, &n_volume };
static const struct ffield f_podspec[] = {
	{ "containers", SMP_MERGE, "name", &n_containers },
	{ "volumes", SMP_MERGE | SMP_RETAIN_KEYS, "name", &n_volumes },
	{ "nodeSelector", 0, NULL, &n_leaf },
	{ NULL, 0, NULL, NULL },
};
static const struct fnode n_podspec = { f_podspec, NULL };
static const struct ffield f_template[] = {
	{ "spec", 0, NULL, &n_podspec },
	{ NULL, 0, NULL, NULL },
};
static const struct fnode n_template = { f_template, NULL };
static const struct ffield f_strategy[] = {
	{ "rollingUpdate", 0, NULL, &n_leaf },
	{ NULL, 0, NULL, NULL },
};
static const struct fnode n_strategy = { f_strategy, NULL };
static const struct ffield f_depspec[] = {
	{ "strategy", SMP_RETAIN_KEYS, NULL, &n_strategy },
	{ "template", 0, NULL, &n_template },
	{ NULL, 0, NULL, NULL },
};
static const struct fnode n_depspec = { f_depspec, NULL };
static const struct ffield f_meta[] = {
	{ "finalizers", SMP_MERGE, NULL, &n_leaf_list },
	{ "labels", 0, NULL, &n_leaf },
	{ NULL, 0, NULL, NULL },
};
static const struct fnode n_meta = { f_meta, NULL };
static const struct ffield f_pod[] = {
	{ "metadata", 0, NULL, &n_meta },
	{ "spec", 0, NULL, &n_podspec },
	{ NULL, 0, NULL, NULL },
};
static const struct fnode n_pod = { f_pod, NULL };
static const struct ffield f_deploy[] = {
	{ "metadata", 0, NULL, &n_meta },
	{ "spec", 0, NULL, &n_depspec },
	{ NULL, 0, NULL, NULL },
};
static const struct fnode n_deploy = { f_deploy, NULL };

static int fake_field(void *ctx, const void *node, const char *name, struct smp_field_meta *m)
{
	const struct fnode *n = node;

	for (const struct ffield *f = n->fields; f && f->name; f++) {
		if (!strcmp(f->name, name)) {
			m->strategy = f->strategy;
			m->merge_key = f->key;
			m->node = f->node;
			return 0;
		}
	}
	return -ENOENT;
}

static const void *fake_items(void *ctx, const void *node)
{
	return ((const struct fnode *)node)->items;
}

static const struct smp_schema_ops fake_ops = { fake_field, fake_items };

static int smp(const struct fnode *root, const char *doc, const char *patch, cJSON **out,
	       char **err)
{
	struct smp_schema s = { &fake_ops, NULL, root };
	cJSON *d = J(doc), *p = J(patch);
	int ret = smp_apply(d, p, &s, out, err);

	cJSON_Delete(d);
	cJSON_Delete(p);
	return ret;
}

static void smp_ok(const struct fnode *root, const char *doc, const char *patch,
		   const char *want)
{
	cJSON *out = NULL;
	char *err = NULL;

	if (smp(root, doc, patch, &out, &err))
		test_fail(__FILE__, __LINE__, "smp %s failed: %s", patch, err);
	expect_json(out, want);
	cJSON_Delete(out);
}

static void smp_fail(const struct fnode *root, const char *doc, const char *patch,
		     const char *want_msg)
{
	cJSON *out = NULL;
	char *err = NULL;

	ASSERT_EQ(smp(root, doc, patch, &out, &err), -EINVAL);
	ASSERT_NULL(out);
	ASSERT_NOT_NULL(err);
	if (!strstr(err, want_msg))
		test_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", err, want_msg);
	free(err);
}

#define POD_ENV "{'spec':{'containers':[{'name':'app','image':'a','env':[" \
	"{'name':'A','value':'1'},{'name':'B','value':'2'},{'name':'C','value':'3'}]}]}}"

TEST(smp_kubectl_apply_env_change_and_delete)
{
	/* what kubectl apply sends after editing A and dropping B */
	smp_ok(&n_pod, POD_ENV,
	       "{'spec':{'$setElementOrder/containers':[{'name':'app'}],'containers':[{"
	       "'$setElementOrder/env':[{'name':'A'},{'name':'C'}],'name':'app','env':["
	       "{'name':'A','value':'10'},{'$patch':'delete','name':'B'}]}]}}",
	       "{'spec':{'containers':[{'name':'app','image':'a','env':["
	       "{'name':'A','value':'10'},{'name':'C','value':'3'}]}]}}");
}

TEST(smp_add_container_and_reorder)
{
	smp_ok(&n_pod, "{'spec':{'containers':[{'name':'a','image':'x'}]}}",
	       "{'spec':{'$setElementOrder/containers':[{'name':'a'},{'name':'side'}],"
	       "'containers':[{'name':'side','image':'s'}]}}",
	       "{'spec':{'containers':[{'name':'a','image':'x'},{'name':'side','image':'s'}]}}");
	/* order only: no list in the patch at all */
	smp_ok(&n_pod, "{'spec':{'containers':[{'name':'a'},{'name':'b'},{'name':'c'}]}}",
	       "{'spec':{'$setElementOrder/containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}}",
	       "{'spec':{'containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}}");
	/* a new element placed first by the order list */
	smp_ok(&n_pod, "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
	       "{'spec':{'$setElementOrder/containers':[{'name':'z'},{'name':'a'},{'name':'b'}],"
	       "'containers':[{'name':'z'}]}}",
	       "{'spec':{'containers':[{'name':'z'},{'name':'a'},{'name':'b'}]}}");
}

TEST(smp_ports_merge_by_container_port)
{
	/* patch elements first in patch order, server-only ones after (upstream) */
	smp_ok(&n_pod, "{'spec':{'containers':[{'name':'a','ports':["
	       "{'containerPort':80,'name':'http'},{'containerPort':443}]}]}}",
	       "{'spec':{'containers':[{'name':'a','ports':["
	       "{'containerPort':80,'protocol':'TCP'},{'containerPort':8080}]}]}}",
	       "{'spec':{'containers':[{'name':'a','ports':["
	       "{'containerPort':80,'name':'http','protocol':'TCP'},{'containerPort':8080},"
	       "{'containerPort':443}]}]}}");
	/* a server-only element ahead of the patch's first element stays ahead */
	smp_ok(&n_pod, "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
	       "{'spec':{'containers':[{'name':'b','image':'i'}]}}",
	       "{'spec':{'containers':[{'name':'a'},{'name':'b','image':'i'}]}}");
}

TEST(smp_map_directives)
{
	smp_ok(&n_pod, "{'metadata':{'labels':{'a':'1','b':'2'}}}",
	       "{'metadata':{'labels':{'$patch':'replace','c':'3'}}}",
	       "{'metadata':{'labels':{'c':'3'}}}");
	smp_ok(&n_pod, "{'metadata':{'labels':{'a':'1'}},'spec':{}}",
	       "{'metadata':{'labels':{'$patch':'delete'}}}",
	       "{'metadata':{'labels':{}},'spec':{}}");
	smp_ok(&n_pod, "{'metadata':{'labels':{'a':'1','b':'2'}}}",
	       "{'metadata':{'labels':{'a':null,'c':'3'}}}",
	       "{'metadata':{'labels':{'b':'2','c':'3'}}}");
	smp_fail(&n_pod, "{'metadata':{}}", "{'metadata':{'$patch':'frob'}}",
		 "unknown patch type: \"frob\"");
}

TEST(smp_retain_keys_strategy)
{
	/* switching RollingUpdate -> Recreate drops rollingUpdate */
	smp_ok(&n_deploy, "{'spec':{'strategy':{'type':'RollingUpdate',"
	       "'rollingUpdate':{'maxSurge':1}}}}",
	       "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate'}}}",
	       "{'spec':{'strategy':{'type':'Recreate'}}}");
	/* inside a merged list element (volumes: merge,retainKeys) */
	smp_ok(&n_deploy, "{'spec':{'template':{'spec':{'volumes':[{'name':'v','emptyDir':{}}]}}}}",
	       "{'spec':{'template':{'spec':{'volumes':[{'name':'v',"
	       "'$retainKeys':['hostPath','name'],'hostPath':{'path':'/x'}}]}}}}",
	       "{'spec':{'template':{'spec':{'volumes':[{'name':'v','hostPath':{'path':'/x'}}]}}}}");
	smp_fail(&n_deploy, "{'spec':{'strategy':{}}}",
		 "{'spec':{'strategy':{'$retainKeys':['type'],'rollingUpdate':{}}}}",
		 "invalid patch format of retainKeys");
	smp_fail(&n_deploy, "{'spec':{'strategy':{}}}",
		 "{'spec':{'strategy':{'$retainKeys':'type'}}}", "retainKeys");
}

TEST(smp_primitive_lists)
{
	/* kubectl removing finalizer b */
	smp_ok(&n_pod, "{'metadata':{'finalizers':['a','b','c']}}",
	       "{'metadata':{'$setElementOrder/finalizers':['a','c'],"
	       "'$deleteFromPrimitiveList/finalizers':['b']}}",
	       "{'metadata':{'finalizers':['a','c']}}");
	/* merge strategy on scalars: union, patch order first */
	smp_ok(&n_pod, "{'metadata':{'finalizers':['a','b']}}",
	       "{'metadata':{'finalizers':['c','a']}}",
	       "{'metadata':{'finalizers':['c','a','b']}}");
	/* setElementOrder on primitives */
	smp_ok(&n_pod, "{'metadata':{'finalizers':['a','b']}}",
	       "{'metadata':{'$setElementOrder/finalizers':['b','x','a'],'finalizers':['x']}}",
	       "{'metadata':{'finalizers':['b','x','a']}}");
	/* no merge strategy: replace */
	smp_ok(&n_pod, "{'spec':{'containers':[{'name':'a','args':['1','2']}]}}",
	       "{'spec':{'containers':[{'name':'a','args':['3']}]}}",
	       "{'spec':{'containers':[{'name':'a','args':['3']}]}}");
	smp_fail(&n_pod, "{'metadata':{'finalizers':['a']}}",
		 "{'metadata':{'$deleteFromPrimitiveList/finalizers':'a'}}",
		 "invalid patch format of primitive list");
}

TEST(smp_list_element_directives)
{
	smp_ok(&n_pod, "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
	       "{'spec':{'containers':[{'$patch':'replace'},{'name':'x','image':'i'}]}}",
	       "{'spec':{'containers':[{'name':'x','image':'i'}]}}");
	smp_ok(&n_pod, "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
	       "{'spec':{'containers':[{'$patch':'delete','name':'a'}]}}",
	       "{'spec':{'containers':[{'name':'b'}]}}");
	smp_fail(&n_pod, "{'spec':{'containers':[{'name':'a'}]}}",
		 "{'spec':{'containers':[{'$patch':'merge','name':'a'}]}}",
		 "merging lists cannot yet be specified in the patch");
	smp_fail(&n_pod, "{'spec':{'containers':[{'name':'a'}]}}",
		 "{'spec':{'containers':[{'image':'x'}]}}",
		 "does not contain declared merge key: name");
	smp_fail(&n_pod, "{'spec':{'containers':[{'name':'a'}]}}",
		 "{'spec':{'containers':[{'$patch':'delete'}]}}",
		 "does not contain declared merge key: name");
	smp_fail(&n_pod, "{'spec':{'containers':[{'name':'a'}]}}",
		 "{'spec':{'containers':[1]}}", "list element types are not identical");
	smp_fail(&n_pod, "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
		 "{'spec':{'$setElementOrder/containers':[{'name':'a'}],"
		 "'containers':[{'name':'b'}]}}", "doesn't match $setElementOrder list");
}

TEST(smp_without_schema_is_merge_patch)
{
	/* unknown fields: lists replace, maps merge, nulls delete */
	smp_ok(&n_pod, "{'spec':{'foo':[1,2],'bar':{'x':1,'y':2}}}",
	       "{'spec':{'foo':[3],'bar':{'x':null,'z':3}}}",
	       "{'spec':{'foo':[3],'bar':{'y':2,'z':3}}}");
	/* a new subtree comes in cleaned of nulls and directives */
	smp_ok(&n_pod, "{}",
	       "{'spec':{'containers':[{'name':'a','env':[{'name':'X','$patch':'delete'}]}],"
	       "'n':{'a':null,'b':1}}}",
	       "{'spec':{'containers':[{'name':'a','env':[]}],'n':{'b':1}}}");
	{
		cJSON *d = J("{'a':[1],'b':{'c':1}}"), *p = J("{'a':[2],'b':{'$patch':'replace'}}");
		cJSON *out = NULL;
		char *err = NULL;

		ASSERT_OK(smp_apply(d, p, NULL, &out, &err));
		expect_json(out, "{'a':[2],'b':{}}");
		cJSON_Delete(out);
		cJSON_Delete(d);
		cJSON_Delete(p);
	}
	/* a type change replaces */
	smp_ok(&n_pod, "{'spec':{'containers':'x'}}", "{'spec':{'containers':[{'name':'a'}]}}",
	       "{'spec':{'containers':[{'name':'a'}]}}");
}

TEST(smp_error_leaves_document_unchanged)
{
	struct smp_schema s = { &fake_ops, NULL, &n_pod };
	cJSON *d = J(POD_ENV);
	cJSON *p = J("{'metadata':{'labels':{'a':'b'}},'spec':{'containers':[{'name':'app',"
		     "'env':[{'value':'no key'}]}]}}");
	cJSON *out = NULL;
	char *err = NULL;

	ASSERT_EQ(smp_apply(d, p, &s, &out, &err), -EINVAL);
	ASSERT_NULL(out);
	expect_json(d, POD_ENV);
	free(err);
	cJSON_Delete(d);
	cJSON_Delete(p);
}

TEST(smp_parse_strategy_tags)
{
	unsigned v;

	ASSERT_OK(smp_parse_strategy("merge", &v));
	ASSERT_EQ(v, SMP_MERGE);
	ASSERT_OK(smp_parse_strategy("merge,retainKeys", &v));
	ASSERT_EQ(v, SMP_MERGE | SMP_RETAIN_KEYS);
	ASSERT_OK(smp_parse_strategy("", &v));
	ASSERT_EQ(v, 0);
	ASSERT_EQ(smp_parse_strategy("merge,bogus", &v), -EINVAL);
}

TEST(smp_list_limit)
{
	struct buf b = BUF_INIT;
	cJSON *d, *p, *out = NULL;
	char *err = NULL;

	buf_addstr(&b, "{\"metadata\":{\"finalizers\":[");
	for (int i = 0; i <= SMP_MAX_LIST; i++)
		buf_addf(&b, "%s\"f%d\"", i ? "," : "", i);
	buf_addstr(&b, "]}}");
	d = cJSON_Parse(b.data);
	p = cJSON_Parse("{\"metadata\":{\"finalizers\":[\"x\"]}}");
	{
		struct smp_schema s = { &fake_ops, NULL, &n_pod };

		ASSERT_EQ(smp_apply(d, p, &s, &out, &err), -E2BIG);
	}
	ASSERT_NULL(out);
	free(err);
	cJSON_Delete(d);
	cJSON_Delete(p);
	buf_release(&b);
}

/*
 * Cases after upstream's strategicpatch tests, on a schema shaped like
 * their MergeItem type (recursive: list elements are MergeItems again).
 */
static const struct fnode n_item;	/* tentative: defined below */
static const struct fnode n_items = { NULL, &n_item };
static const struct fnode n_ints = { NULL, &n_leaf };
static const struct ffield f_item[] = {
	{ "mergingList", SMP_MERGE, "name", &n_items },
	{ "nonMergingList", 0, NULL, &n_items },
	{ "mergingIntList", SMP_MERGE, NULL, &n_ints },
	{ "nonMergingIntList", 0, NULL, &n_ints },
	{ "simpleMap", 0, NULL, &n_leaf },
	{ "replacingItem", SMP_REPLACE, NULL, &n_leaf },
	{ "retainKeysMap", SMP_RETAIN_KEYS, NULL, &n_item },
	{ "retainKeysMergingList", SMP_MERGE | SMP_RETAIN_KEYS, "name", &n_items },
	{ NULL, 0, NULL, NULL },
};
static const struct fnode n_item = { f_item, NULL };

TEST(smp_upstream_merge_item_cases)
{
	static const struct { const char *doc, *patch, *want; } cases[] = {
		/* unique scalars when merging lists */
		{ "{'mergingIntList':[1,2]}", "{'mergingIntList':[2,3]}",
		  "{'mergingIntList':[1,2,3]}" },
		{ "{'simpleMap':{'key1':1,'key2':1}}", "{'simpleMap':{'$patch':'delete'}}",
		  "{'simpleMap':{}}" },
		{ "{'mergingList':[{'name':1},{'name':2}]}", "{'mergingList':[{'$patch':'replace'}]}",
		  "{'mergingList':[]}" },
		{ "{'mergingList':[]}", "{'mergingList':[]}", "{'mergingList':[]}" },
		{ "{'name':1,'value':1}", "{'$patch':'replace'}", "{}" },
		{ "{'name':1,'value':1}", "{'other':'a','$patch':'replace'}", "{'other':'a'}" },
		/* delete all duplicate entries in a merging list */
		{ "{'mergingList':[{'name':1},{'name':1},{'name':2,'value':'a'},{'name':3},"
		  "{'name':3}]}",
		  "{'mergingList':[{'name':1,'$patch':'delete'},{'name':3,'$patch':'delete'}]}",
		  "{'mergingList':[{'name':2,'value':'a'}]}" },
		{ "{'retainKeysMap':{'name':'foo','value':'a'}}", "{'retainKeysMap':{'value':null}}",
		  "{'retainKeysMap':{'name':'foo'}}" },
		/* preserve the order from the patch in a merging list (2) */
		{ "{'mergingList':[{'name':1},{'name':2,'value':'b'},{'name':3}]}",
		  "{'mergingList':[{'name':3,'value':'c'},{'name':1,'value':'a'}]}",
		  "{'mergingList':[{'name':2,'value':'b'},{'name':3,'value':'c'},"
		  "{'name':1,'value':'a'}]}" },
		{ "{'mergingIntList':[1,2,3]}", "{'mergingIntList':[3,1]}",
		  "{'mergingIntList':[2,3,1]}" },
		/* $setElementOrder naming an element present nowhere */
		{ "{'mergingList':[{'name':1},{'name':3}]}",
		  "{'$setElementOrder/mergingList':[{'name':3},{'name':2},{'name':1}],"
		  "'mergingList':[{'name':3,'value':3},{'name':1,'value':1}]}",
		  "{'mergingList':[{'name':3,'value':3},{'name':1,'value':1}]}" },
		{ "{'mergingIntList':[1,3]}", "{'$setElementOrder/mergingIntList':[3,2,1]}",
		  "{'mergingIntList':[3,1]}" },
		/* $deleteFromPrimitiveList */
		{ "{'mergingIntList':[1,2]}", "{'$deleteFromPrimitiveList/mergingIntList':[3]}",
		  "{'mergingIntList':[1,2]}" },
		{ "{'mergingIntList':null}", "{'$deleteFromPrimitiveList/mergingIntList':[3]}",
		  "{'mergingIntList':null}" },
		{ "{'foo':['bar']}", "{'$deleteFromPrimitiveList/mergingIntList':[3]}",
		  "{'foo':['bar']}" },
		{ "{'nonMergingIntList':[1,2,3]}", "{'$deleteFromPrimitiveList/nonMergingIntList':[2]}",
		  "{'nonMergingIntList':[1,3]}" },
		{ "{'mergingIntList':[1,2,3,3,4]}", "{'$setElementOrder/mergingIntList':[1,2],"
		  "'$deleteFromPrimitiveList/mergingIntList':[3]}", "{'mergingIntList':[1,2,4]}" },
		{ "{'mergingIntList':[1,2,3,4]}", "{'$setElementOrder/mergingIntList':[1,2,4],"
		  "'$deleteFromPrimitiveList/mergingIntList':[3]}", "{'mergingIntList':[1,2,4]}" },
		/* nested patch merge with empty list */
		{ "{'name':'hi','mergingList':[{'name':'hello2'}]}",
		  "{'$setElementOrder/mergingList':[{'name':'hello'},{'name':'doesntexist'}],"
		  "'mergingList':[{'name':'hello'},{'$patch':'delete','name':'doesntexist'}]}",
		  "{'name':'hi','mergingList':[{'name':'hello'},{'name':'hello2'}]}" },
		{ "{'name':'hi'}",
		  "{'mergingList':[{'name':'hello'},{'$patch':'delete','name':'doesntexist'}]}",
		  "{'name':'hi','mergingList':[{'name':'hello'}]}" },
		/* merge lists of maps */
		{ "{'mergingList':[{'name':1,'other':'a'},{'name':2,'value':2,'other':'b'}]}",
		  "{'$setElementOrder/mergingList':[{'name':4},{'name':1},{'name':2},{'name':3}],"
		  "'mergingList':[{'name':4,'value':4},{'name':3,'value':3}]}",
		  "{'mergingList':[{'name':4,'value':4},{'name':1,'other':'a'},"
		  "{'name':2,'value':2,'other':'b'},{'name':3,'value':3}]}" },
		/* replace strategy on a map */
		{ "{'replacingItem':{'a':1,'b':2}}", "{'replacingItem':{'c':3}}",
		  "{'replacingItem':{'c':3}}" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		smp_ok(&n_item, cases[i].doc, cases[i].patch, cases[i].want);
	smp_fail(&n_item, "{'mergingIntList':[1,3,2]}",
		 "{'$setElementOrder/mergingIntList':[1,2,3],'mergingIntList':[3,1]}",
		 "doesn't match");
	smp_fail(&n_item, "{'mergingList':[{'name':1,'value':'a'}]}",
		 "{'mergingList':[{'value':'b'}]}", "does not contain declared merge key");
}
