/*
 * Unit tests for lib/protobuf (wire reader) and server/proto (Kubernetes
 * protobuf bodies to JSON). Bodies are assembled here byte by byte with the
 * field numbers of upstream's generated.proto; one is a body captured from
 * kubectl 1.32 (`kubectl create ns demo`).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/protobuf.h"
#include "lib/util.h"
#include "server/proto.h"

/* ---- a tiny encoder ---- */

static void put_varint(struct buf *b, uint64_t v)
{
	while (v >= 0x80) {
		buf_addch(b, (char)(v | 0x80));
		v >>= 7;
	}
	buf_addch(b, (char)v);
}

static void put_int(struct buf *b, unsigned num, uint64_t v)
{
	put_varint(b, (uint64_t)num << 3 | PB_VARINT);
	put_varint(b, v);
}

static void put_bytes(struct buf *b, unsigned num, const void *p, size_t n)
{
	put_varint(b, (uint64_t)num << 3 | PB_LEN);
	put_varint(b, n);
	if (n)
		buf_add(b, p, n);
}

static void put_str(struct buf *b, unsigned num, const char *s)
{
	put_bytes(b, num, s, strlen(s));
}

/* Appends sub as message field num and releases sub. */
static void put_msg(struct buf *b, unsigned num, struct buf *sub)
{
	put_bytes(b, num, sub->data, sub->len);
	buf_release(sub);
	buf_init(sub, 0);
}

static void put_map_str(struct buf *b, unsigned num, const char *k, const char *v)
{
	struct buf e;

	buf_init(&e, 0);
	put_str(&e, 1, k);
	put_str(&e, 2, v);
	put_msg(b, num, &e);
	buf_release(&e);
}

/* Wraps an object message into "k8s\0" + runtime.Unknown; releases obj. */
static void make_body(struct buf *out, const char *api_version, const char *kind, struct buf *obj)
{
	struct buf tm;

	buf_init(out, 0);
	buf_add(out, "k8s", 4);
	buf_init(&tm, 0);
	put_str(&tm, 1, api_version);
	put_str(&tm, 2, kind);
	put_msg(out, 1, &tm);
	put_msg(out, 2, obj);
	put_str(out, 3, "");
	put_str(out, 4, "");
	buf_release(&tm);
	buf_release(obj);
}

/* Decodes body and compares with the expected JSON (key order ignored). */
static void expect_json(const void *body, size_t len, const char *want)
{
	cJSON *got = NULL, *exp = cJSON_Parse(want);
	char *err = NULL, *s;

	ASSERT_NOT_NULL(exp);
	if (proto_decode_object(body, len, &got, &err))
		test_fail(__FILE__, __LINE__, "decode failed: %s", err);
	if (!cJSON_Compare(got, exp, true)) {
		s = json_print(got);
		test_fail(__FILE__, __LINE__, "got %s\nwant %s", s, want);
	}
	cJSON_Delete(got);
	cJSON_Delete(exp);
}

static void expect_error(const void *body, size_t len, const char *want_substr)
{
	cJSON *got = (cJSON *)1;
	char *err = NULL;

	ASSERT_EQ(proto_decode_object(body, len, &got, &err), -EINVAL);
	ASSERT_NULL(got);
	ASSERT_NOT_NULL(err);
	if (!strstr(err, want_substr))
		test_fail(__FILE__, __LINE__, "error %s lacks %s", err, want_substr);
	free(err);
}

/* ObjectMeta{name, namespace, labels} as kubectl writes it (empty strings too). */
static void put_meta(struct buf *b, unsigned num, const char *name, const char *ns,
		     const char *label_k, const char *label_v)
{
	struct buf m;

	buf_init(&m, 0);
	put_str(&m, 1, name);
	put_str(&m, 2, "");
	put_str(&m, 3, ns);
	put_int(&m, 7, 0);
	put_bytes(&m, 8, "", 0);	/* zero creationTimestamp */
	if (label_k)
		put_map_str(&m, 11, label_k, label_v);
	put_msg(b, num, &m);
	buf_release(&m);
}

/* ---- lib/protobuf ---- */

TEST(proto_reader_fields)
{
	static const uint8_t in[] = {
		0x08, 0x96, 0x01,			/* 1: varint 150 */
		0x11, 1, 2, 3, 4, 5, 6, 7, 8,		/* 2: fixed64 */
		0x1a, 0x02, 'h', 'i',			/* 3: "hi" */
		0x25, 0xff, 0xff, 0xff, 0xff,		/* 4: fixed32 */
		0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, /* 5: -1 */
	};
	struct pb_reader r;
	struct pb_field f;

	pb_reader_init(&r, in, sizeof(in));
	ASSERT_EQ(pb_next(&r, &f), 1);
	ASSERT_EQ(f.num, 1);
	ASSERT_EQ(f.wire, PB_VARINT);
	ASSERT_EQ(f.u64, 150);
	ASSERT_EQ(pb_next(&r, &f), 1);
	ASSERT_EQ(f.wire, PB_FIXED64);
	ASSERT_TRUE(f.u64 == 0x0807060504030201ull);
	ASSERT_EQ(pb_next(&r, &f), 1);
	ASSERT_EQ(f.num, 3);
	ASSERT_EQ(f.len, 2);
	ASSERT_TRUE(!memcmp(f.data, "hi", 2));
	ASSERT_EQ(pb_next(&r, &f), 1);
	ASSERT_EQ(f.u64, 0xffffffffu);
	ASSERT_EQ(pb_next(&r, &f), 1);
	ASSERT_EQ((int64_t)f.u64, -1);
	ASSERT_EQ(pb_next(&r, &f), 0);
	ASSERT_EQ(pb_zigzag(3), -2);
	ASSERT_EQ(pb_zigzag(4), 2);
}

TEST(proto_reader_malformed)
{
	static const uint8_t trunc_varint[] = { 0x08, 0x80 };
	static const uint8_t long_varint[] = { 0x08, 0x80, 0x80, 0x80, 0x80, 0x80,
					       0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	static const uint8_t past_end[] = { 0x0a, 0x05, 'a' };
	static const uint8_t field0[] = { 0x00, 0x01 };
	static const uint8_t group[] = { 0x0b };
	static const uint8_t fixed_short[] = { 0x0d, 1, 2 };
	const struct { const uint8_t *p; size_t n; } bad[] = {
		{ trunc_varint, sizeof(trunc_varint) }, { long_varint, sizeof(long_varint) },
		{ past_end, sizeof(past_end) }, { field0, sizeof(field0) },
		{ group, sizeof(group) }, { fixed_short, sizeof(fixed_short) },
	};
	struct pb_reader r;
	struct pb_field f;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		pb_reader_init(&r, bad[i].p, bad[i].n);
		ASSERT_EQ(pb_next(&r, &f), -EINVAL);
	}
}

/* ---- server/proto ---- */

TEST(proto_namespace_from_kubectl)
{
	/* kubectl 1.32 `create ns demo`, as captured on the wire. */
	static const char body[] =
		"\x6b\x38\x73\x00\x0a\x0f\x0a\x02\x76\x31\x12\x09\x4e\x61\x6d\x65\x73\x70"
		"\x61\x63\x65\x12\x1c\x0a\x14\x0a\x04\x64\x65\x6d\x6f\x12\x00\x1a\x00\x22"
		"\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x00\x1a\x02\x0a\x00\x1a\x00\x22\x00";

	expect_json(body, sizeof(body) - 1,
		    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
		    "\"metadata\":{\"name\":\"demo\"},\"spec\":{},\"status\":{}}");
}

TEST(proto_configmap)
{
	struct buf o, body;

	buf_init(&o, 0);
	put_meta(&o, 1, "c", "default", "app", "web");
	put_map_str(&o, 2, "a", "b");
	put_map_str(&o, 2, "empty", "");
	put_int(&o, 4, 0);	/* immutable: false (a *bool) is kept */
	make_body(&body, "v1", "ConfigMap", &o);
	expect_json(body.data, body.len,
		    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\","
		    "\"namespace\":\"default\",\"labels\":{\"app\":\"web\"}},"
		    "\"data\":{\"a\":\"b\",\"empty\":\"\"},\"immutable\":false}");
	buf_release(&body);
}

TEST(proto_secret_bytes)
{
	struct buf o, e, body;

	buf_init(&o, 0);
	buf_init(&e, 0);
	put_meta(&o, 1, "s", "", NULL, NULL);
	put_map_str(&o, 2, "p", "q");
	put_str(&e, 1, "bin");
	put_bytes(&e, 2, "\x00\xff\x10", 3);
	put_msg(&o, 2, &e);
	put_str(&e, 1, "none");		/* an entry without a value */
	put_msg(&o, 2, &e);
	put_str(&o, 3, "Opaque");
	make_body(&body, "v1", "Secret", &o);
	expect_json(body.data, body.len,
		    "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},"
		    "\"data\":{\"p\":\"cQ==\",\"bin\":\"AP8Q\",\"none\":\"\"},"
		    "\"type\":\"Opaque\"}");
	buf_release(&e);
	buf_release(&body);
}

TEST(proto_deployment)
{
	struct buf o, spec, sel, tmpl, pod, c, port, res, q, ent, strat, ru, is, body;

	buf_init(&o, 0), buf_init(&spec, 0), buf_init(&sel, 0), buf_init(&tmpl, 0);
	buf_init(&pod, 0), buf_init(&c, 0), buf_init(&port, 0), buf_init(&res, 0);
	buf_init(&q, 0), buf_init(&ent, 0), buf_init(&strat, 0), buf_init(&ru, 0);
	buf_init(&is, 0);
	put_meta(&o, 1, "web", "default", "app", "web");
	put_int(&spec, 1, 0);			/* replicas: 0 is kept */
	put_map_str(&sel, 1, "app", "web");
	put_msg(&spec, 2, &sel);
	put_meta(&tmpl, 1, "", "", "app", "web");
	put_str(&c, 1, "busybox");
	put_str(&c, 2, "busybox:1.36");
	put_str(&c, 3, "sh");
	put_str(&c, 3, "-c");
	put_str(&c, 5, "");			/* workingDir: "" is omitted */
	put_str(&port, 1, "http");
	put_int(&port, 3, 80);
	put_str(&port, 4, "TCP");
	put_msg(&c, 6, &port);
	put_int(&port, 3, 443);
	put_msg(&c, 6, &port);
	put_str(&q, 1, "500m");			/* resource.Quantity */
	put_str(&ent, 1, "cpu");
	put_msg(&ent, 2, &q);
	put_msg(&res, 1, &ent);			/* limits */
	put_str(&q, 1, "64Mi");
	put_str(&ent, 1, "memory");
	put_msg(&ent, 2, &q);
	put_msg(&res, 2, &ent);			/* requests */
	put_msg(&c, 8, &res);
	put_msg(&pod, 2, &c);
	put_str(&pod, 3, "Always");
	put_msg(&tmpl, 2, &pod);
	put_msg(&spec, 3, &tmpl);
	put_str(&strat, 1, "RollingUpdate");
	put_int(&is, 1, 0);			/* maxUnavailable: int 1 */
	put_int(&is, 2, 1);
	put_str(&is, 3, "");
	put_msg(&ru, 1, &is);
	put_int(&is, 1, 1);			/* maxSurge: string "25%" */
	put_int(&is, 2, 0);
	put_str(&is, 3, "25%");
	put_msg(&ru, 2, &is);
	put_msg(&strat, 2, &ru);
	put_msg(&spec, 4, &strat);
	put_int(&spec, 7, 0);			/* paused: false, omitted (not a pointer) */
	put_msg(&o, 2, &spec);
	make_body(&body, "apps/v1", "Deployment", &o);
	expect_json(body.data, body.len,
		    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
		    "\"metadata\":{\"name\":\"web\",\"namespace\":\"default\","
		    "\"labels\":{\"app\":\"web\"}},"
		    "\"spec\":{\"replicas\":0,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
		    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
		    "\"spec\":{\"containers\":[{\"name\":\"busybox\",\"image\":\"busybox:1.36\","
		    "\"command\":[\"sh\",\"-c\"],\"ports\":[{\"name\":\"http\",\"containerPort\":80,"
		    "\"protocol\":\"TCP\"},{\"containerPort\":443}],\"resources\":{\"limits\":"
		    "{\"cpu\":\"500m\"},\"requests\":{\"memory\":\"64Mi\"}}}],"
		    "\"restartPolicy\":\"Always\"}},"
		    "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":"
		    "{\"maxUnavailable\":1,\"maxSurge\":\"25%\"}}}}");
	buf_release(&body);
	buf_release(&is), buf_release(&ru), buf_release(&strat), buf_release(&ent);
	buf_release(&q), buf_release(&res), buf_release(&port), buf_release(&c);
	buf_release(&pod), buf_release(&tmpl), buf_release(&sel), buf_release(&spec);
}

TEST(proto_service_target_port)
{
	struct buf o, spec, port, is, body;

	buf_init(&o, 0), buf_init(&spec, 0), buf_init(&port, 0), buf_init(&is, 0);
	put_meta(&o, 1, "web", "", NULL, NULL);
	put_str(&port, 2, "TCP");
	put_int(&port, 3, 80);
	put_int(&is, 1, 0);
	put_int(&is, 2, 8080);
	put_msg(&port, 4, &is);
	put_int(&port, 5, 0);
	put_msg(&spec, 1, &port);
	put_str(&port, 1, "named");
	put_int(&port, 3, 81);
	put_int(&is, 1, 1);
	put_str(&is, 3, "http");
	put_msg(&port, 4, &is);
	put_msg(&spec, 1, &port);
	put_int(&port, 3, 82);
	put_int(&is, 1, 1);		/* a string IntOrString without strVal */
	put_msg(&port, 4, &is);
	put_msg(&spec, 1, &port);
	put_map_str(&spec, 2, "app", "web");
	put_str(&spec, 3, "");
	put_str(&spec, 4, "ClusterIP");
	put_msg(&o, 2, &spec);
	make_body(&body, "v1", "Service", &o);
	expect_json(body.data, body.len,
		    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"},"
		    "\"spec\":{\"ports\":[{\"protocol\":\"TCP\",\"port\":80,"
		    "\"targetPort\":8080},{\"name\":\"named\",\"port\":81,"
		    "\"targetPort\":\"http\"},{\"port\":82,\"targetPort\":\"\"}],\"selector\":{\"app\":\"web\"},\"type\":\"ClusterIP\"}}");
	buf_release(&body);
	buf_release(&is), buf_release(&port), buf_release(&spec);
}

/* Time, MicroTime, FieldsV1, inline structs, renamed fields, ExtraValue. */
TEST(proto_special_types)
{
	struct buf o, m, t, mf, spec, body;

	buf_init(&o, 0), buf_init(&m, 0), buf_init(&t, 0), buf_init(&mf, 0);
	buf_init(&spec, 0);
	put_str(&m, 1, "l");
	put_int(&t, 1, 1136214245);	/* 2006-01-02T15:04:05Z */
	put_int(&t, 2, 999);		/* nanos are dropped, as upstream does */
	put_msg(&m, 8, &t);
	put_str(&mf, 1, "kubectl");
	put_str(&mf, 6, "FieldsV1");
	put_str(&t, 1, "{\"f:spec\":{}}");
	put_msg(&mf, 7, &t);
	put_msg(&m, 17, &mf);
	put_msg(&o, 1, &m);
	put_str(&spec, 1, "me");
	put_int(&spec, 2, 15);
	put_int(&t, 1, 1136214245);
	put_int(&t, 2, 123456789);
	put_msg(&spec, 3, &t);		/* MicroTime */
	put_bytes(&spec, 4, "", 0);	/* zero MicroTime: omitted */
	put_msg(&o, 2, &spec);
	make_body(&body, "coordination.k8s.io/v1", "Lease", &o);
	expect_json(body.data, body.len,
		    "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
		    "\"metadata\":{\"name\":\"l\",\"creationTimestamp\":\"2006-01-02T15:04:05Z\","
		    "\"managedFields\":[{\"manager\":\"kubectl\",\"fieldsType\":\"FieldsV1\","
		    "\"fieldsV1\":{\"f:spec\":{}}}]},\"spec\":{\"holderIdentity\":\"me\","
		    "\"leaseDurationSeconds\":15,\"acquireTime\":\"2006-01-02T15:04:05.123456Z\"}}");
	buf_release(&body);

	/* Pod volumes: VolumeSource and LocalObjectReference are inline. */
	put_str(&mf, 1, "my-config");	/* LocalObjectReference.name */
	put_msg(&t, 1, &mf);
	put_int(&t, 3, 420);
	put_msg(&m, 19, &t);		/* VolumeSource.configMap */
	put_str(&mf, 1, "cfg");		/* Volume.name */
	put_msg(&mf, 2, &m);		/* Volume.volumeSource */
	put_msg(&spec, 1, &mf);		/* PodSpec.volumes */
	put_msg(&o, 2, &spec);
	make_body(&body, "v1", "Pod", &o);
	expect_json(body.data, body.len,
		    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"spec\":{\"volumes\":[{\"name\":"
		    "\"cfg\",\"configMap\":{\"name\":\"my-config\",\"defaultMode\":420}}]}}");
	buf_release(&body);

	/* IngressClass parameters: proto aPIGroup is JSON apiGroup. */
	put_str(&t, 1, "k8s.example.com");
	put_str(&t, 2, "Params");
	put_msg(&spec, 2, &t);
	put_msg(&o, 2, &spec);
	make_body(&body, "networking.k8s.io/v1", "IngressClass", &o);
	expect_json(body.data, body.len,
		    "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"IngressClass\",\"spec\":"
		    "{\"parameters\":{\"apiGroup\":\"k8s.example.com\",\"kind\":\"Params\"}}}");
	buf_release(&body);

	/* CSR: bytes request, extra map<string, ExtraValue> as string arrays. */
	put_bytes(&spec, 1, "PEM", 3);
	put_str(&t, 1, "a");
	put_str(&t, 1, "b");
	put_str(&mf, 1, "scopes");
	put_msg(&mf, 2, &t);
	put_msg(&spec, 6, &mf);
	put_msg(&o, 2, &spec);
	make_body(&body, "certificates.k8s.io/v1", "CertificateSigningRequest", &o);
	expect_json(body.data, body.len,
		    "{\"apiVersion\":\"certificates.k8s.io/v1\",\"kind\":"
		    "\"CertificateSigningRequest\",\"spec\":{\"request\":\"UEVN\","
		    "\"extra\":{\"scopes\":[\"a\",\"b\"]}}}");
	buf_release(&body);
	buf_release(&spec), buf_release(&mf), buf_release(&t), buf_release(&m);
}

/* RawExtension holds JSON or a nested "k8s\0" body. */
TEST(proto_raw_extension)
{
	struct buf o, raw, inner, cm, body;

	buf_init(&o, 0), buf_init(&raw, 0), buf_init(&inner, 0), buf_init(&cm, 0);
	put_str(&raw, 1, "{\"spec\":{\"x\":[1,2]}}");
	put_msg(&o, 2, &raw);
	put_int(&o, 3, 7);
	make_body(&body, "apps/v1", "ControllerRevision", &o);
	expect_json(body.data, body.len,
		    "{\"apiVersion\":\"apps/v1\",\"kind\":\"ControllerRevision\","
		    "\"data\":{\"spec\":{\"x\":[1,2]}},\"revision\":7}");
	buf_release(&body);

	put_map_str(&cm, 2, "k", "v");
	make_body(&inner, "v1", "ConfigMap", &cm);
	put_bytes(&raw, 1, inner.data, inner.len);
	put_msg(&o, 2, &raw);
	make_body(&body, "apps/v1", "ControllerRevision", &o);
	expect_json(body.data, body.len,
		    "{\"apiVersion\":\"apps/v1\",\"kind\":\"ControllerRevision\",\"data\":"
		    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"data\":{\"k\":\"v\"}}}");
	buf_release(&body);

	put_str(&raw, 1, "{not json");
	put_msg(&o, 2, &raw);
	make_body(&body, "apps/v1", "ControllerRevision", &o);
	expect_error(body.data, body.len, "invalid JSON");
	buf_release(&body);
	buf_release(&inner), buf_release(&raw);
}

TEST(proto_duration_format)
{
	static const struct { int64_t ns; const char *want; } cases[] = {
		{ 0, "0s" }, { 1, "1ns" }, { 1500, "1.5\xc2\xb5s" }, { 1500000, "1.5ms" },
		{ 1000000000, "1s" }, { 3723000000000LL, "1h2m3s" },
		{ 3723500000000LL, "1h2m3.5s" }, { -90000000000LL, "-1m30s" },
		{ INT64_MIN, "-2562047h47m16.854775808s" },
	};
	char out[PROTO_DURATION_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		proto_format_duration(cases[i].ns, out);
		ASSERT_STR_EQ(out, cases[i].want);
	}
}

TEST(proto_media_type)
{
	ASSERT_TRUE(proto_is_media_type("application/vnd.kubernetes.protobuf"));
	ASSERT_TRUE(proto_is_media_type("application/vnd.kubernetes.protobuf; charset=x"));
	ASSERT_FALSE(proto_is_media_type("application/vnd.kubernetes.protobuf;stream=watch") == 0);
	ASSERT_FALSE(proto_is_media_type("application/json"));
	ASSERT_FALSE(proto_is_media_type(NULL));
}

TEST(proto_malformed_bodies)
{
	struct buf o, body;
	uint8_t *big;

	expect_error("k8s", 3, "magic");
	expect_error("{\"kind\":\"Namespace\"}", 20, "magic");
	expect_error("k8s\0\x0a\x80", 6, "malformed protobuf envelope");	/* truncated varint */
	expect_error("k8s\0\x12\x05\x0a", 7, "malformed protobuf envelope");	/* length past end */
	expect_error("k8s\0", 4, "Kind");
	/* An envelope without raw is an empty object of that kind. */
	expect_json("k8s\0\x0a\x0f\x0a\x02v1\x12\x09Namespace", 21,
		    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\"}");

	buf_init(&o, 0);
	make_body(&body, "v1", "NoSuchKind", &o);
	expect_error(body.data, body.len, "no protobuf description of kind 'NoSuchKind' in 'v1'");
	buf_release(&body);
	make_body(&body, "example.com/v1", "Namespace", &o);
	expect_error(body.data, body.len, "no protobuf description");
	buf_release(&body);
	make_body(&body, "v1", "Time", &o);	/* a special message is no kind */
	expect_error(body.data, body.len, "no protobuf description");
	buf_release(&body);

	put_int(&o, 1, 5);			/* metadata as a varint */
	make_body(&body, "v1", "Namespace", &o);
	expect_error(body.data, body.len, "wire type");
	buf_release(&body);

	put_bytes(&o, 1, "\x0a\x05x", 3);	/* metadata.name past its end */
	make_body(&body, "v1", "Namespace", &o);
	expect_error(body.data, body.len, "malformed ObjectMeta");
	buf_release(&body);

	put_bytes(&o, 1, "\x0a\x02\xc3\x28", 4);	/* invalid UTF-8 name */
	make_body(&body, "v1", "Namespace", &o);
	expect_error(body.data, body.len, "UTF-8");
	buf_release(&body);

	put_bytes(&o, 1, "\x0a\x02\x61\x00", 4);	/* NUL in a string */
	make_body(&body, "v1", "Namespace", &o);
	expect_error(body.data, body.len, "UTF-8");
	buf_release(&body);

	big = xcalloc(1, PROTO_MAX_BODY + 1);
	memcpy(big, "k8s", 4);
	expect_error(big, PROTO_MAX_BODY + 1, "larger than");
	free(big);
}

/* Unknown field numbers are skipped; a repeated singular message merges. */
TEST(proto_unknown_fields_and_merge)
{
	struct buf o, m, body;

	buf_init(&o, 0), buf_init(&m, 0);
	put_str(&m, 1, "a");
	put_msg(&o, 1, &m);
	put_map_str(&m, 11, "k", "v");
	put_msg(&o, 1, &m);
	put_int(&o, 99, 1);
	put_bytes(&o, 100, "junk", 4);
	make_body(&body, "v1", "Namespace", &o);
	expect_json(body.data, body.len,
		    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\","
		    "\"labels\":{\"k\":\"v\"}}}");
	buf_release(&body);
	buf_release(&m);
}

/* Nested RawExtension bodies stop at PROTO_MAX_DEPTH instead of recursing. */
TEST(proto_depth_limit)
{
	struct buf cur, o, raw;

	buf_init(&o, 0), buf_init(&raw, 0);
	make_body(&cur, "v1", "ConfigMap", &o);
	for (int i = 0; i < PROTO_MAX_DEPTH; i++) {
		put_bytes(&raw, 1, cur.data, cur.len);
		buf_release(&cur);
		put_msg(&o, 2, &raw);
		make_body(&cur, "apps/v1", "ControllerRevision", &o);
	}
	expect_error(cur.data, cur.len, "nested deeper");
	buf_release(&cur);
}

/*
 * Bodies kubectl 1.32 sent for `create deployment web --image=busybox
 * --replicas=2 --port=80` and `create service clusterip svc1 --tcp=80:8080`
 * decode to exactly what `kubectl ... --dry-run=client -o json` prints
 * (less creationTimestamp: null, which the decoder omits).
 */
TEST(proto_matches_kubectl_json)
{
	static const char deploy[] =
		"\x6b\x38\x73\x00\x0a\x15\x0a\x07\x61\x70\x70\x73\x2f\x76\x31\x12\x0a\x44"
		"\x65\x70\x6c\x6f\x79\x6d\x65\x6e\x74\x12\xbc\x01\x0a\x1f\x0a\x03\x77\x65"
		"\x62\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x5a\x0a\x0a"
		"\x03\x61\x70\x70\x12\x03\x77\x65\x62\x12\x8a\x01\x08\x02\x12\x0c\x0a\x0a"
		"\x0a\x03\x61\x70\x70\x12\x03\x77\x65\x62\x1a\x70\x0a\x1c\x0a\x00\x12\x00"
		"\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x5a\x0a\x0a\x03\x61\x70"
		"\x70\x12\x03\x77\x65\x62\x12\x50\x12\x32\x0a\x07\x62\x75\x73\x79\x62\x6f"
		"\x78\x12\x07\x62\x75\x73\x79\x62\x6f\x78\x2a\x00\x32\x0a\x0a\x00\x10\x00"
		"\x18\x50\x22\x00\x2a\x00\x42\x00\x6a\x00\x72\x00\x80\x01\x00\x88\x01\x00"
		"\x90\x01\x00\xa2\x01\x00\x1a\x00\x32\x00\x42\x00\x4a\x00\x52\x00\x58\x00"
		"\x60\x00\x68\x00\x82\x01\x00\x8a\x01\x00\x9a\x01\x00\xc2\x01\x00\x22\x02"
		"\x0a\x00\x28\x00\x38\x00\x1a\x0c\x08\x00\x10\x00\x18\x00\x20\x00\x28\x00"
		"\x38\x00\x1a\x00\x22\x00";
	static const char svc[] =
		"\x6b\x38\x73\x00\x0a\x0d\x0a\x02\x76\x31\x12\x07\x53\x65\x72\x76\x69\x63"
		"\x65\x12\x6c\x0a\x21\x0a\x04\x73\x76\x63\x31\x12\x00\x1a\x00\x22\x00\x2a"
		"\x00\x32\x00\x38\x00\x42\x00\x5a\x0b\x0a\x03\x61\x70\x70\x12\x04\x73\x76"
		"\x63\x31\x12\x43\x0a\x1b\x0a\x07\x38\x30\x2d\x38\x30\x38\x30\x12\x03\x54"
		"\x43\x50\x18\x50\x22\x07\x08\x00\x10\x90\x3f\x1a\x00\x28\x00\x12\x0b\x0a"
		"\x03\x61\x70\x70\x12\x04\x73\x76\x63\x31\x1a\x00\x22\x09\x43\x6c\x75\x73"
		"\x74\x65\x72\x49\x50\x3a\x00\x42\x00\x52\x00\x5a\x00\x60\x00\x68\x00\x1a"
		"\x02\x0a\x00\x1a\x00\x22\x00";

	expect_json(deploy, sizeof(deploy) - 1,
		    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"labels\":"
		    "{\"app\":\"web\"},\"name\":\"web\"},\"spec\":{\"replicas\":2,\"selector\":"
		    "{\"matchLabels\":{\"app\":\"web\"}},\"strategy\":{},\"template\":{\"metadata\":"
		    "{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"image\":\"busybox\","
		    "\"name\":\"busybox\",\"ports\":[{\"containerPort\":80}],\"resources\":{}}]}}},"
		    "\"status\":{}}");
	expect_json(svc, sizeof(svc) - 1,
		    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"labels\":{\"app\":"
		    "\"svc1\"},\"name\":\"svc1\"},\"spec\":{\"ports\":[{\"name\":\"80-8080\",\"port\":80,"
		    "\"protocol\":\"TCP\",\"targetPort\":8080}],\"selector\":{\"app\":\"svc1\"},"
		    "\"type\":\"ClusterIP\"},\"status\":{\"loadBalancer\":{}}}");
}
