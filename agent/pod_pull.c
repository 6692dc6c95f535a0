/*
 * agent/pod_pull.c - image pulls for the pod workers. A pull runs as a child
 * process (`k1s images pull`, images/pull.c) so it never blocks the loop nor
 * a thread-pool slot, and its layer unpacker (which changes the working
 * directory) runs apart from the agent. Pulls of the same reference are
 * shared: later containers wait on the pull in flight. Credentials of the
 * pod's imagePullSecrets (kubernetes.io/dockerconfigjson or dockercfg) are
 * read through the API and written to the child's stdin; mirrors and
 * registry credentials come from registries.yaml (K1S_REGISTRIES_CONFIG,
 * inherited). The result goes back to pod_sync.c through pod__pull_done().
 */
#include "agent/pod_int.h"
#include "lib/apiclient.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <mbedtls/base64.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define PULL_MAX_ERR 4096	/* bytes of the child's stderr kept */
#define PULL_MAX_SECRET (1u << 20)

struct pull_waiter {
	char *uid, *ctr;
	uint64_t t0;		/* when this container started waiting */
};

struct pod_pull {
	struct pod_pull *next;
	struct pod_manager *pm;
	char *ref, *ns;
	char *key;		/* ref, namespace and pull secrets: who may share it */
	char **secrets;		/* imagePullSecrets names still to read */
	size_t n_secrets, next_secret;
	cJSON *auths;		/* merged "auths" of the secrets */
	char *input;		/* {"auths":...} for the child's stdin */
	uv_process_t proc;
	uv_pipe_t in, err;
	uv_write_t wr;
	struct buf errout;
	bool spawned, exited, eof;
	int64_t status;
	unsigned open;		/* handles not yet closed */
	uint64_t t0;
	struct pull_waiter *w;
	size_t nw;
};

static void pull_free(struct pod_pull *pl)
{
	struct pod_pull **pp = &pl->pm->pulls;

	while (*pp && *pp != pl)
		pp = &(*pp)->next;
	if (*pp)
		*pp = pl->next;
	for (size_t i = 0; i < pl->nw; i++) {
		free(pl->w[i].uid);
		free(pl->w[i].ctr);
	}
	free(pl->w);
	for (size_t i = 0; i < pl->n_secrets; i++)
		free(pl->secrets[i]);
	free(pl->secrets);
	cJSON_Delete(pl->auths);
	if (pl->input)
		explicit_bzero(pl->input, strlen(pl->input));
	free(pl->input);
	buf_release(&pl->errout);
	free(pl->ref);
	free(pl->ns);
	free(pl->key);
	free(pl);
}

static void handle_closed(uv_handle_t *h)
{
	struct pod_pull *pl = h->data;
	struct pod_manager *pm = pl->pm;

	if (--pl->open)
		return;
	pull_free(pl);
	pod__closed_one(pm);	/* a pull holds the manager open */
}

static void close_handle(struct pod_pull *pl, uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, handle_closed);
}

/* The last line of the child's stderr without its "error: images pull: ". */
static char *child_error(struct pod_pull *pl)
{
	const char *pfx = "error: images pull: ";
	char *s = xstrndup(pl->errout.data ? pl->errout.data : "", pl->errout.len), *line;
	size_t n = strlen(s);

	while (n && s[n - 1] == '\n')
		s[--n] = '\0';
	line = strrchr(s, '\n');
	line = line ? line + 1 : s;
	if (!strncmp(line, pfx, strlen(pfx)))
		line += strlen(pfx);
	line = xstrdup(*line ? line : "the pull process failed");
	free(s);
	return line;
}

/* Both the exit and stderr's end are in: tell every waiter, then close. */
static void pull_finish(struct pod_pull *pl)
{
	struct pod_manager *pm = pl->pm;
	char *err = pl->status == 0 ? NULL : child_error(pl);
	uint64_t now = mono_ns();

	LOG_V(1, "pods: pull %s: %s", pl->ref, err ? err : "ok");
	for (size_t i = 0; !pm->stopping && i < pl->nw; i++) {
		struct pod *p = pod__find(pm, pl->w[i].uid);

		for (size_t j = 0; p && j < p->n_ctrs; j++)
			if (!strcmp(p->ctrs[j].name, pl->w[i].ctr))
				pod__pull_done(p, &p->ctrs[j], pl->ref, err,
					       (double)(now - pl->t0) / 1e9,
					       (double)(now - pl->w[i].t0) / 1e9);
	}
	free(err);
	pl->nw = 0;
	if (!pl->open) {	/* never spawned */
		pull_free(pl);
		pod__closed_one(pm);
		return;
	}
	close_handle(pl, (uv_handle_t *)&pl->proc);
	close_handle(pl, (uv_handle_t *)&pl->in);
	close_handle(pl, (uv_handle_t *)&pl->err);
}

static void on_exit_cb(uv_process_t *proc, int64_t status, int sig)
{
	struct pod_pull *pl = proc->data;

	pl->exited = true;
	pl->status = sig ? 128 + sig : status;
	if (pl->eof)
		pull_finish(pl);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char chunk[1024];

	(void)h;
	(void)hint;
	*b = uv_buf_init(chunk, sizeof(chunk));
}

static void on_err_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct pod_pull *pl = s->data;

	if (n > 0 && pl->errout.len + (size_t)n <= PULL_MAX_ERR)
		buf_add(&pl->errout, b->base, (size_t)n);
	if (n >= 0)
		return;
	uv_read_stop(s);
	pl->eof = true;
	if (pl->exited)
		pull_finish(pl);
}

static void on_written(uv_write_t *wr, int status)
{
	struct pod_pull *pl = wr->data;

	(void)status;
	close_handle(pl, (uv_handle_t *)&pl->in);	/* EOF for the child */
}

static void spawn(struct pod_pull *pl)
{
	struct pod_manager *pm = pl->pm;
	const char *exe = pm->rt.self_exe ? pm->rt.self_exe : "/proc/self/exe";
	char *args[] = { (char *)exe, "images", "--data-dir", pm->images_data_dir, "-q",
			 "--auth-file", "-", "pull", pl->ref, NULL };
	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&pl->in },
		{ .flags = UV_IGNORE },
		{ .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&pl->err },
	};
	uv_process_options_t po = { .file = exe, .args = args, .exit_cb = on_exit_cb,
				    .stdio = stdio, .stdio_count = 3 };
	cJSON *in = cJSON_CreateObject();
	uv_buf_t b;
	int r;

	json_set(in, "auths", pl->auths ? pl->auths : cJSON_CreateObject());
	pl->auths = NULL;
	pl->input = json_print(in);
	cJSON_Delete(in);
	uv_pipe_init(pm->loop, &pl->in, 0);
	uv_pipe_init(pm->loop, &pl->err, 0);
	pl->in.data = pl->err.data = pl->proc.data = pl->wr.data = pl;
	pl->open = 3;
	pl->t0 = mono_ns();
	r = uv_spawn(pm->loop, &pl->proc, &po);
	if (r) {
		buf_addf(&pl->errout, "cannot run '%s images pull': %s\n", exe, uv_strerror(r));
		pl->exited = pl->eof = true;
		pl->status = 1;
		pull_finish(pl);
		return;
	}
	pl->spawned = true;
	b = uv_buf_init(pl->input, (unsigned)strlen(pl->input));
	if (uv_write(&pl->wr, (uv_stream_t *)&pl->in, &b, 1, on_written))
		close_handle(pl, (uv_handle_t *)&pl->in);
	uv_read_start((uv_stream_t *)&pl->err, on_alloc, on_err_read);
}

/* Adds the registries of a pull secret's dockerconfigjson to pl->auths. */
static void add_secret(struct pod_pull *pl, const cJSON *secret)
{
	const char *type = json_get_str(secret, "type", "");
	bool cfgjson = !strcmp(type, "kubernetes.io/dockerconfigjson");
	const char *b64 = json_get_str(json_get(secret, "data"),
				       cfgjson ? ".dockerconfigjson" : ".dockercfg", NULL);
	unsigned char *dec;
	size_t n = 0;
	cJSON *j, *auths, *it;

	if (!b64 || (!cfgjson && strcmp(type, "kubernetes.io/dockercfg")))
		return;
	dec = xmalloc(PULL_MAX_SECRET + 1);
	if (mbedtls_base64_decode(dec, PULL_MAX_SECRET, &n, (const unsigned char *)b64,
				  strlen(b64))) {
		free(dec);
		return;
	}
	j = cJSON_ParseWithLength((const char *)dec, n);
	explicit_bzero(dec, n);
	free(dec);
	auths = cfgjson ? json_get(j, "auths") : j;
	if (!pl->auths)
		pl->auths = cJSON_CreateObject();
	cJSON_ArrayForEach(it, auths)	/* the first secret naming a registry wins */
		if (it->string && !json_get(pl->auths, it->string))
			cJSON_AddItemToObject(pl->auths, it->string, cJSON_Duplicate(it, 1));
	cJSON_Delete(j);
}

static void next_secret(struct pod_pull *pl);

static void on_secret(struct api_result *res, void *ud)
{
	struct pod_pull *pl = ud;

	if (api_result_ok(res))
		add_secret(pl, res->obj);
	else
		log_warn("pods: pull %s: imagePullSecret %s/%s: %s", pl->ref, pl->ns,
			 pl->secrets[pl->next_secret - 1], res->status.message[0] ?
			 res->status.message : "not readable");
	if (pl->pm->stopping) {
		pl->nw = 0;
		pl->exited = pl->eof = true;
		pull_finish(pl);
		return;
	}
	next_secret(pl);
}

static void next_secret(struct pod_pull *pl)
{
	struct pod_manager *pm = pl->pm;
	char *path;
	int r;

	if (pl->next_secret == pl->n_secrets) {
		spawn(pl);
		return;
	}
	path = api_path("v1", "secrets", pl->ns, pl->secrets[pl->next_secret++], NULL);
	r = api_get(pm->api, path, on_secret, pl);
	free(path);
	if (r)
		next_secret(pl);
}

/* A pull is shared only by containers with the same credentials. */
static char *pull_key(const struct pod *p, const char *ref)
{
	const cJSON *it;
	struct buf b;

	buf_init(&b, 128);
	buf_addf(&b, "%s\n%s", ref, p->ns);
	cJSON_ArrayForEach(it, json_path(p->obj, "spec.imagePullSecrets"))
		buf_addf(&b, "\n%s", json_get_str(it, "name", ""));
	return buf_detach(&b, NULL);
}

static struct pod_pull *pull_new(struct pod *p, const char *ref, char *key)
{
	struct pod_pull *pl = xcalloc(1, sizeof(*pl));
	const cJSON *it;

	pl->pm = p->pm;
	pl->ref = xstrdup(ref);
	pl->ns = xstrdup(p->ns);
	pl->key = key;
	buf_init(&pl->errout, 256);
	cJSON_ArrayForEach(it, json_path(p->obj, "spec.imagePullSecrets")) {
		const char *name = json_get_str(it, "name", "");

		if (!*name)
			continue;
		pl->secrets = xrealloc(pl->secrets, (pl->n_secrets + 1) * sizeof(char *));
		pl->secrets[pl->n_secrets++] = xstrdup(name);
	}
	pl->next = p->pm->pulls;
	p->pm->pulls = pl;
	p->pm->closing++;	/* the manager waits for it */
	return pl;
}

void pod__pull_start(struct pod *p, struct pod_ctr *c)
{
	char *key = pull_key(p, c->image_ref);
	struct pod_pull *pl;

	c->pulling = true;
	pod__event(p, c->name, false, "Pulling", "Pulling image \"%s\"", c->image_ref);
	for (pl = p->pm->pulls; pl; pl = pl->next)
		if (!strcmp(pl->key, key) && !pl->exited)
			break;
	if (pl)
		free(key);
	else
		pl = pull_new(p, c->image_ref, key);
	pl->w = xrealloc(pl->w, (pl->nw + 1) * sizeof(*pl->w));
	pl->w[pl->nw].uid = xstrdup(p->uid);
	pl->w[pl->nw].ctr = xstrdup(c->name);
	pl->w[pl->nw++].t0 = mono_ns();
	if (pl->nw == 1)
		next_secret(pl);
}

void pod__pulls_stop(struct pod_manager *pm)
{
	for (struct pod_pull *pl = pm->pulls; pl; pl = pl->next)
		if (pl->spawned && !pl->exited)
			uv_process_kill(&pl->proc, SIGTERM);
}
