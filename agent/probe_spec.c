/*
 * agent/probe_spec.c - decoding probes and lifecycle handlers, the result
 * thresholds, and running one check.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/probe_int.h"
#include "agent/runtime_exec.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/util.h"

#define EXEC_ARGV_MAX 256

static int decode_exec(const cJSON *x, struct probe_handler *h, char **err)
{
	const cJSON *cmd = json_get(x, "command"), *a;
	size_t n = 0, size = 0, i = 0;
	char *s;

	cJSON_ArrayForEach(a, cmd) {
		if (!cJSON_IsString(a))
			goto bad;
		size += strlen(a->valuestring) + 1;
		n++;
	}
	if (!n || n > EXEC_ARGV_MAX)
		goto bad;
	h->argv = xmalloc((n + 1) * sizeof(char *) + size);
	s = (char *)(h->argv + n + 1);
	cJSON_ArrayForEach(a, cmd) {
		h->argv[i++] = strcpy(s, a->valuestring);
		s += strlen(s) + 1;
	}
	h->argv[n] = NULL;
	h->action = PA_EXEC;
	return 0;
bad:
	*err = xasprintf("exec handler needs a command of 1..%d strings", EXEC_ARGV_MAX);
	return -EINVAL;
}

/* An int-or-string port: a number, or a container port's name. */
static int decode_port(const cJSON *port, const cJSON *container, int *out, char **err)
{
	const cJSON *p;
	int64_t v = -1;

	if (cJSON_IsNumber(port))
		v = (int64_t)port->valuedouble;
	else if (cJSON_IsString(port)) {
		cJSON_ArrayForEach(p, json_get(container, "ports"))
			if (!strcmp(json_get_str(p, "name", ""), port->valuestring))
				v = json_get_int(p, "containerPort", -1);
		if (v < 0 && parse_i64(port->valuestring, &v))
			v = -1;
	}
	if (v < 1 || v > 65535) {
		char *s = port ? cJSON_PrintUnformatted(port) : NULL;

		*err = xasprintf("invalid port %s", s ? s : "(none)");
		free(s);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

static bool token_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

static bool text_ok(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return false;
	return true;
}

static int decode_http(const cJSON *x, const cJSON *ctr, struct probe_handler *h, char **err)
{
	const char *path = json_get_str(x, "path", "/"), *host = json_get_str(x, "host", "");
	const char *scheme = json_get_str(x, "scheme", "HTTP");
	struct buf hd = BUF_INIT;
	const cJSON *e;
	int ret = decode_port(json_get(x, "port"), ctr, &h->port, err);

	if (ret)
		return ret;
	if (strlen(path) > PROBE_PATH_MAX || !text_ok(path) || strchr(path, ' ') ||
	    !text_ok(host) || strchr(host, '/') || strchr(host, ' ')) {
		*err = xasprintf("invalid httpGet path or host");
		return -EINVAL;
	}
	if (strcmp(scheme, "HTTP") && strcmp(scheme, "HTTPS")) {
		*err = xasprintf("invalid httpGet scheme \"%s\"", scheme);
		return -EINVAL;
	}
	buf_addstr(&hd, "");
	cJSON_ArrayForEach(e, json_get(x, "httpHeaders")) {
		const char *n = json_get_str(e, "name", ""), *v = json_get_str(e, "value", "");

		if (!token_ok(n) || !text_ok(v) || hd.len + strlen(n) + strlen(v) > PROBE_HEADERS_MAX) {
			buf_release(&hd);
			*err = xasprintf("invalid httpGet header \"%s\"", n);
			return -EINVAL;
		}
		if (!strcasecmp(n, "Host")) {
			free(h->host_header);
			h->host_header = xstrdup(v);
			continue;
		}
		buf_addf(&hd, "%s: %s\r\n", n, v);
	}
	h->headers = buf_detach(&hd, NULL);
	h->path = *path == '/' ? xstrdup(path) : xasprintf("/%s", path);
	h->host = *host ? xstrdup(host) : NULL;
	h->https = !strcmp(scheme, "HTTPS");
	h->action = PA_HTTP;
	return 0;
}

int probe__handler_decode(const cJSON *x, const cJSON *container, struct probe_handler *h,
			  char **err)
{
	const cJSON *a;
	int ret;

	memset(h, 0, sizeof(*h));
	*err = NULL;
	if ((a = json_get(x, "exec")))
		ret = decode_exec(a, h, err);
	else if ((a = json_get(x, "httpGet")))
		ret = decode_http(a, container, h, err);
	else if ((a = json_get(x, "tcpSocket"))) {
		const char *host = json_get_str(a, "host", "");

		ret = decode_port(json_get(a, "port"), container, &h->port, err);
		h->host = *host ? xstrdup(host) : NULL;
		h->action = PA_TCP;
	} else if ((a = json_get(x, "grpc"))) {
		const char *svc = json_get_str(a, "service", "");

		ret = decode_port(json_get(a, "port"), container, &h->port, err);
		if (!ret && strlen(svc) > 127) {
			*err = xasprintf("grpc service name too long");
			ret = -EINVAL;
		}
		h->service = *svc ? xstrdup(svc) : NULL;
		h->action = PA_GRPC;
	} else if ((a = json_get(x, "sleep"))) {
		int64_t s = json_get_int(a, "seconds", -1);

		ret = s < 0 || s > 86400 ? -EINVAL : 0;
		if (ret)
			*err = xasprintf("invalid sleep seconds");
		h->sleep_ms = s * 1000;
		h->action = PA_SLEEP;
	} else {
		*err = xasprintf("handler has no exec, httpGet, tcpSocket, grpc or sleep action");
		ret = -EINVAL;
	}
	if (ret)
		probe__handler_release(h);
	return ret;
}

void probe__handler_release(struct probe_handler *h)
{
	free(h->argv);
	free(h->host);
	free(h->path);
	free(h->headers);
	free(h->host_header);
	free(h->service);
	memset(h, 0, sizeof(*h));
}

static unsigned field(const cJSON *p, const char *key, unsigned def, unsigned min)
{
	int64_t v = json_get_int(p, key, def);

	if (v < min)
		v = min;
	if (v > 86400)
		v = 86400;
	return (unsigned)v;
}

int probe__spec_decode(const cJSON *probe, const cJSON *container, enum probe_kind kind,
		       struct probe_spec *out, char **err)
{
	memset(out, 0, sizeof(*out));
	if (kind == PROBE_READINESS && json_get(probe, "sleep")) {
		*err = xasprintf("sleep is not a probe action");
		return -EINVAL;
	}
	out->initial_delay_ms = field(probe, "initialDelaySeconds", 0, 0) * 1000;
	out->period_ms = field(probe, "periodSeconds", 10, 1) * 1000;
	out->timeout_ms = field(probe, "timeoutSeconds", 1, 1) * 1000;
	out->success_threshold = kind == PROBE_READINESS ? field(probe, "successThreshold", 1, 1) : 1;
	out->failure_threshold = field(probe, "failureThreshold", 3, 1);
	return probe__handler_decode(probe, container, &out->h, err);
}

/* ---- thresholds ---- */

void probe__sm_init(struct probe_sm *sm, unsigned success_threshold, unsigned failure_threshold)
{
	sm->success_threshold = success_threshold ? success_threshold : 1;
	sm->failure_threshold = failure_threshold ? failure_threshold : 1;
	sm->last = -1;
	sm->run = 0;
	sm->reported = -1;
}

bool probe__sm_feed(struct probe_sm *sm, bool ok)
{
	if (sm->last == (int)ok) {
		sm->run++;
	} else {
		sm->last = ok;
		sm->run = 1;
	}
	if (sm->run < (ok ? sm->success_threshold : sm->failure_threshold))
		return false;
	if (sm->reported == (int)ok)
		return false;
	sm->reported = ok;
	return true;
}

void probe__sm_reset_run(struct probe_sm *sm)
{
	sm->run = 0;
	sm->last = -1;
}

/* ---- one check ---- */

static int run_exec(const struct probe_handler *h, const struct probe_target *t, bool hook,
		    char **msg)
{
	struct buf out = BUF_INIT;
	int code = -1;
	int ret = rt_container_exec_sync(t->rt, t->ctr_id, (const char *const *)h->argv,
					 t->timeout_ms, &out, &code);

	if (ret == -ETIMEDOUT)
		*msg = xasprintf("command \"%s\" timed out after %ums", h->argv[0], t->timeout_ms);
	else if (ret)
		*msg = xasprintf("cannot run \"%s\": %s", h->argv[0], strerror(-ret));
	else if (code) {
		*msg = xasprintf("command \"%s\" exited with %d%s%s", h->argv[0], code,
				 out.len ? ": " : "", buf_str(&out));
		ret = -EIO;
	} else if (out.len) {
		*msg = buf_detach(&out, NULL);
	}
	(void)hook;
	buf_release(&out);
	return ret;
}

int probe__run(const struct probe_handler *h, const struct probe_target *t, bool hook, char **msg)
{
	*msg = NULL;
	switch (h->action) {
	case PA_EXEC:
		return run_exec(h, t, hook, msg);
	case PA_HTTP:
		return probe__http(h, t, hook, msg);
	case PA_TCP:
		return probe__tcp(h, t, msg);
	case PA_GRPC:
		return probe__grpc(h, t, msg);
	case PA_SLEEP:	/* handled on the loop */
	case PA_NONE:
		break;
	}
	*msg = xasprintf("no action");
	return -EINVAL;
}
