/*
 * tests/unit/kubelet_test.c - the kubelet API's log reading and its gate:
 * CRI record parsing, the follower across a rotation, and /containerLogs
 * over HTTPS with client certificates (who is let in, tail/since/limit/
 * timestamps/previous, rotated files read in order).
 */
#include "test.h"
#include "agent/kubelet_int.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include "lib/pki.h"

#include <pthread.h>
#include <sys/stat.h>

static const struct {
	const char *line;
	int ret, stream;
	bool partial;
	const char *msg;
} lines[] = {
	{ "2026-01-02T15:04:05.123456789Z stdout F hello world", 0, 1, false, "hello world" },
	{ "2026-01-02T15:04:05Z stderr P part", 0, 2, true, "part" },
	{ "2026-01-02T15:04:05Z stdout F", 0, 1, false, "" },
	{ "2026-01-02T15:04:05Z stdout F ", 0, 1, false, "" },
	{ "2026-01-02T15:04:05Z stdin F x", -EINVAL, 0, false, NULL },
	{ "2026-01-02T15:04:05Z stdout X x", -EINVAL, 0, false, NULL },
	{ "yesterday stdout F x", -EINVAL, 0, false, NULL },
	{ "garbage", -EINVAL, 0, false, NULL },
};

TEST(kubelet_logline_parse_table)
{
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		struct kl_logline l;
		int r = kl_logline_parse(lines[i].line, strlen(lines[i].line), &l);

		if (r != lines[i].ret)
			test_fail(__FILE__, __LINE__, "'%s': %d", lines[i].line, r);
		if (r)
			continue;
		ASSERT_EQ(l.stream, lines[i].stream);
		ASSERT_EQ(l.partial, lines[i].partial);
		ASSERT_EQ(l.msg_len, strlen(lines[i].msg));
		ASSERT_TRUE(!memcmp(l.msg, lines[i].msg, l.msg_len));
	}
}

struct fol {
	struct buf got;
	int ended;
};

static void fol_line(void *ud, const struct kl_logline *l)
{
	struct fol *f = ud;

	buf_add(&f->got, l->msg, l->msg_len);
	buf_addch(&f->got, l->partial ? '+' : ';');
}

static void fol_end(void *ud)
{
	((struct fol *)ud)->ended++;
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	ASSERT_NOT_NULL(f);
	fputs(text, f);
	fclose(f);
}

TEST(kubelet_follow_across_rotation)
{
	struct kubelet k = { 0 };
	struct rt rt = { .state_dir = test_tmpdir() };
	struct fol f = { BUF_INIT, 0 };
	struct kl_follow *fo;
	char *log = xasprintf("%s/0.log", test_tmpdir()), *rot = xasprintf("%s.1", log);
	uv_loop_t loop;

	uv_loop_init(&loop);
	k.loop = &loop;
	k.cfg.rt = &rt;
	append(log, "2026-01-02T15:04:05Z stdout F old\n");
	ASSERT_OK(kl_follow_start(&k, log, "gone_c_0", -1, fol_line, fol_end, &f, &fo));
	/* written after the start, then rotated, then a new file */
	append(log, "2026-01-02T15:04:06Z stdout F a\n2026-01-02T15:04:06Z stdout P b\n");
	ASSERT_OK(rename(log, rot));
	append(log, "2026-01-02T15:04:07Z stdout F c\n");
	/* the container is gone (no state dir): the follower drains and ends */
	while (!f.ended)
		uv_run(&loop, UV_RUN_ONCE);
	buf_addch(&f.got, '\0');
	ASSERT_STR_EQ(f.got.data, "a;b+c;");
	ASSERT_EQ(f.ended, 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
	buf_release(&f.got);
	free(log);
	free(rot);
}

/* ---- /containerLogs over HTTPS ---- */

struct ksrv {
	uv_loop_t loop;
	uv_async_t stop;
	pthread_t th;
	struct kubelet *k;
	struct kubelet_config cfg;
	struct rt rt;
	volatile int port;
};

static void on_stop(uv_async_t *a)
{
	struct ksrv *s = a->data;

	kubelet_stop(s->k);
	uv_close((uv_handle_t *)a, NULL);
}

static void *ksrv_main(void *arg)
{
	struct ksrv *s = arg;
	char *err = NULL;

	uv_loop_init(&s->loop);
	s->stop.data = s;
	uv_async_init(&s->loop, &s->stop, on_stop);
	if (kubelet_start(&s->loop, &s->cfg, &s->k, &err)) {
		fprintf(stderr, "kubelet_start: %s\n", err);
		s->port = -1;
		uv_close((uv_handle_t *)&s->stop, NULL);
	} else {
		s->port = kubelet_port(s->k);
	}
	uv_run(&s->loop, UV_RUN_DEFAULT);
	uv_loop_close(&s->loop);
	return NULL;
}

/* Issues a leaf of ca into dir/name.{crt,key}. */
static void leaf(const char *dir, const char *name, const char *cn, const char *org,
		 unsigned usage, mbedtls_x509_crt *ca, mbedtls_pk_context *ca_key)
{
	const char *ips[] = { "127.0.0.1" };
	const char *orgs[] = { org };
	struct pki_cert_req req = { .cn = cn, .orgs = orgs, .n_orgs = org ? 1 : 0,
				    .ips = ips, .n_ips = 1, .usage = usage };
	mbedtls_x509_crt c;
	mbedtls_pk_context k;
	char *p;

	mbedtls_x509_crt_init(&c);
	mbedtls_pk_init(&k);
	ASSERT_OK(pki_key_generate(&k, NULL));
	ASSERT_OK(pki_cert_issue(&c, &k, &req, ca, ca_key, NULL));
	p = xasprintf("%s/%s.crt", dir, name);
	ASSERT_OK(pki_cert_save(&c, p, NULL));
	free(p);
	p = xasprintf("%s/%s.key", dir, name);
	ASSERT_OK(pki_key_save(&k, p, NULL));
	free(p);
	mbedtls_x509_crt_free(&c);
	mbedtls_pk_free(&k);
}

static void make_pki(const char *dir)
{
	mbedtls_x509_crt ca;
	mbedtls_pk_context key;
	char *p = xasprintf("%s/ca.crt", dir);

	mbedtls_x509_crt_init(&ca);
	mbedtls_pk_init(&key);
	ASSERT_OK(pki_ca_create(&ca, &key, "test-ca", 0, NULL));
	ASSERT_OK(pki_cert_save(&ca, p, NULL));
	leaf(dir, "kubelet", "system:node:t", "system:nodes", PKI_USAGE_SERVER, &ca, &key);
	leaf(dir, "apiserver", "kube-apiserver", NULL, PKI_USAGE_CLIENT, &ca, &key);
	leaf(dir, "stranger", "mallory", "developers", PKI_USAGE_CLIENT, &ca, &key);
	mbedtls_x509_crt_free(&ca);
	mbedtls_pk_free(&key);
	free(p);
}

/* GET path as client `who`; returns the status, body into *body. */
static int get(const char *dir, const char *who, int port, const char *path, char **body)
{
	char *crt = xasprintf("%s/%s.crt", dir, who), *key = xasprintf("%s/%s.key", dir, who);
	char *ca = xasprintf("%s/ca.crt", dir), *url = xasprintf("https://127.0.0.1:%d%s", port, path);
	struct tls_config_opts to = { .cert_file = crt, .key_file = key, .ca_file = ca };
	struct http_client_opts co = { 0 };
	struct http_call_opts o = { .url = url, .timeout_ms = 5000 };
	struct http_response resp = { 0 };
	char *err = NULL;
	int r;

	ASSERT_OK(tls_config_new(&to, &co.tls, &err));
	r = http_fetch(&co, &o, &resp);
	if (!r) {
		r = resp.status;
		buf_addch(&resp.body, '\0');
		*body = xstrdup(resp.body.data);
	} else {
		*body = xstrdup("");
	}
	http_response_release(&resp);
	tls_config_unref(co.tls);
	free(crt);
	free(key);
	free(ca);
	free(url);
	return r;
}

TEST(kubelet_container_logs_https)
{
	const char *dir = test_tmpdir();
	struct ksrv s = { 0 };
	char *ld = xasprintf("%s/logs/pods/ns1_p1_uid1/c", dir), *f, *body = NULL;

	make_pki(dir);
	ASSERT_OK(mkdir_p(ld, 0700));
	f = xasprintf("%s/0.log", ld);
	append(f, "2026-01-01T00:00:00Z stdout F previous run\n");
	free(f);
	f = xasprintf("%s/1.log.1", ld);	/* rotated: read first */
	append(f, "2026-01-02T00:00:01Z stdout F one\n2026-01-02T00:00:02Z stderr P tw\n");
	free(f);
	f = xasprintf("%s/1.log", ld);
	append(f, "2026-01-02T00:00:02Z stderr F o\n2026-01-02T00:00:03Z stdout F three\n");
	free(f);
	s.cfg.data_dir = dir;
	s.cfg.port = 0;
	s.cfg.bind_address = "127.0.0.1";
	s.cfg.cert_file = xasprintf("%s/kubelet.crt", dir);
	s.cfg.key_file = xasprintf("%s/kubelet.key", dir);
	s.cfg.client_ca_file = xasprintf("%s/ca.crt", dir);
	pthread_create(&s.th, NULL, ksrv_main, &s);
	while (!s.port)
		usleep(10000);
	ASSERT_LT(0, s.port);

	ASSERT_EQ(get(dir, "stranger", s.port, "/containerLogs/ns1/p1/c", &body), 403);
	free(body);
	ASSERT_EQ(get(dir, "apiserver", s.port, "/containerLogs/ns1/p1/c", &body), 200);
	ASSERT_STR_EQ(body, "one\ntwo\nthree\n");
	free(body);
	ASSERT_EQ(get(dir, "apiserver", s.port, "/containerLogs/ns1/p1/c?tailLines=2", &body), 200);
	ASSERT_STR_EQ(body, "two\nthree\n");
	free(body);
	ASSERT_EQ(get(dir, "apiserver", s.port,
		      "/containerLogs/ns1/p1/c?sinceTime=2026-01-02T00:00:02Z&timestamps=True", &body), 200);
	ASSERT_STR_EQ(body, "2026-01-02T00:00:02Z two\n2026-01-02T00:00:03Z three\n");
	free(body);
	ASSERT_EQ(get(dir, "apiserver", s.port, "/containerLogs/ns1/p1/c?limitBytes=6", &body), 200);
	ASSERT_STR_EQ(body, "one\ntw");
	free(body);
	ASSERT_EQ(get(dir, "apiserver", s.port, "/containerLogs/ns1/p1/c?previous=true", &body), 200);
	ASSERT_STR_EQ(body, "previous run\n");
	free(body);
	/* follow on an exited container ends after the backlog */
	ASSERT_EQ(get(dir, "apiserver", s.port, "/containerLogs/ns1/p1/c?follow=1&tailLines=1", &body), 200);
	ASSERT_STR_EQ(body, "three\n");
	free(body);
	ASSERT_EQ(get(dir, "apiserver", s.port, "/containerLogs/ns1/p1/c?tailLines=-1", &body), 400);
	free(body);
	ASSERT_EQ(get(dir, "apiserver", s.port, "/containerLogs/ns1/p1/nope", &body), 404);
	free(body);
	ASSERT_EQ(get(dir, "apiserver", s.port, "/containerLogs/ns1/../c", &body), 400);
	free(body);
	ASSERT_EQ(get(dir, "apiserver", s.port, "/exec/ns1/p1/c?command=true", &body), 400);
	free(body);
	ASSERT_EQ(get(dir, "apiserver", s.port, "/nothing", &body), 404);
	free(body);

	uv_async_send(&s.stop);
	pthread_join(s.th, NULL);
	free((char *)s.cfg.cert_file);
	free((char *)s.cfg.key_file);
	free((char *)s.cfg.client_ca_file);
	free(ld);
}
