/*
 * Unit tests of img_pull() against a fake registry (lib/http's server in a
 * child process on 127.0.0.1): an image index resolved to this arch, a layer
 * whose bytes do not match its digest, an evil layer, the bearer-token
 * challenge flow with basic credentials, and a 404.
 */
#include "test.h"
#include "../../images/registry_int.h"
#include "../../lib/http.h"
#include "../../lib/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ROUTES 16

struct route {
	char *path;
	char *body;
	size_t len;
	const char *ctype;
};

static struct route routes[MAX_ROUTES];
static size_t nroutes;

static void route(const char *path, const void *body, size_t len, const char *ctype)
{
	routes[nroutes].path = xstrdup(path);
	routes[nroutes].body = xmalloc(len + 1);
	memcpy(routes[nroutes].body, body, len);
	routes[nroutes].len = len;
	routes[nroutes++].ctype = ctype;
}

static void digest_of(const void *data, size_t len, char out[IMG_DIGEST_LEN + 1])
{
	struct img__sha h;

	img__sha_init(&h);
	img__sha_update(&h, data, len);
	img__sha_final(&h, out);
}

/* An uncompressed tar of one regular file. */
static size_t tar_one(const char *name, const char *data, char *out, size_t cap)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t used = 0;

	archive_write_set_format_pax_restricted(a);
	archive_write_open_memory(a, out, cap, &used);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)strlen(data));
	archive_write_header(a, e);
	archive_write_data(a, data, strlen(data));
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	return used;
}

/* Serves repo:v1, one layer holding entry; corrupt flips a byte of the
 * served layer (a digest mismatch); index serves v1 as an image index. */
static void image(const char *repo, const char *entry, bool corrupt, bool index)
{
	char tar[10240], cfg[512], man[1024], idx[1024], p[256];
	char ld[IMG_DIGEST_LEN + 1], cd[IMG_DIGEST_LEN + 1], md[IMG_DIGEST_LEN + 1];
	size_t n = tar_one(entry, "hello\n", tar, sizeof(tar));
	int cl, ml;

	digest_of(tar, n, ld);
	cl = snprintf(cfg, sizeof(cfg), "{\"architecture\":\"%s\",\"os\":\"linux\",\"rootfs\":"
		      "{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}", IMG_ARCH, ld);
	digest_of(cfg, (size_t)cl, cd);
	ml = snprintf(man, sizeof(man), "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci."
		      "image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image."
		      "config.v1+json\",\"digest\":\"%s\",\"size\":%d},\"layers\":[{\"mediaType\":"
		      "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
		      cd, cl, ld, n);
	digest_of(man, (size_t)ml, md);
	snprintf(p, sizeof(p), "/v2/%s/blobs/%s", repo, cd);
	route(p, cfg, (size_t)cl, "application/octet-stream");
	if (corrupt)
		tar[600] ^= 1;
	snprintf(p, sizeof(p), "/v2/%s/blobs/%s", repo, ld);
	route(p, tar, n, "application/octet-stream");
	snprintf(p, sizeof(p), "/v2/%s/manifests/%s", repo, index ? md : "v1");
	route(p, man, (size_t)ml, "application/vnd.oci.image.manifest.v1+json");
	if (!index)
		return;
	ml = snprintf(idx, sizeof(idx), "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci."
		      "image.index.v1+json\",\"manifests\":[{\"digest\":\"sha256:%064d\",\"platform\":"
		      "{\"os\":\"windows\",\"architecture\":\"%s\"}},{\"digest\":\"%s\",\"platform\":"
		      "{\"os\":\"linux\",\"architecture\":\"%s\"}}]}", 0, IMG_ARCH, md, IMG_ARCH);
	snprintf(p, sizeof(p), "/v2/%s/manifests/v1", repo);
	route(p, idx, (size_t)ml, "application/vnd.oci.image.index.v1+json");
}

static void respond(struct http_request *req, int status, const struct http_header *h,
		    const char *body)
{
	http_respond(req, status, h, h ? 1 : 0, body, strlen(body));
}

static void serve(struct http_request *req, void *data)
{
	const char *authz = http_request_header(req, "Authorization");
	struct http_header h = { "WWW-Authenticate", NULL };
	char realm[200];

	(void)data;
	if (!strcmp(req->path, "/token")) {	/* alice:pw */
		if (authz && !strcmp(authz, "Basic YWxpY2U6cHc=") &&
		    strstr(req->query, "scope=repository%3Aauth%3Apull"))
			respond(req, 200, NULL, "{\"token\":\"t0k\"}");
		else
			respond(req, 401, NULL, "{}");
		return;
	}
	if (!strncmp(req->path, "/v2/auth/", 9) && (!authz || strcmp(authz, "Bearer t0k"))) {
		snprintf(realm, sizeof(realm), "Bearer realm=\"http://%s/token\",service=\"fake\"",
			 http_request_header(req, "Host"));
		h.value = realm;
		respond(req, 401, &h, "{\"errors\":[{\"code\":\"UNAUTHORIZED\","
			"\"message\":\"authentication required\"}]}");
		return;
	}
	if (!strncmp(req->path, "/v2/auth/", 9)) {	/* serve the "ok" image */
		char p[300];

		snprintf(p, sizeof(p), "/v2/ok/%s", req->path + 9);
		free(req->path);
		req->path = xstrdup(p);
	}
	for (size_t i = 0; i < nroutes; i++)
		if (!strcmp(req->path, routes[i].path)) {
			struct http_header ct = { "Content-Type", routes[i].ctype };

			http_respond(req, 200, &ct, 1, routes[i].body, routes[i].len);
			return;
		}
	respond(req, 404, NULL, "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\","
		"\"message\":\"manifest unknown\"}]}");
}

/* The child: serves until killed (or its parent, the test, is gone). */
static void __attribute__((noreturn)) fake_serve(int fd)
{
	struct http_server_opts o = { .handler = serve };
	struct http_server *s;
	uv_loop_t loop;
	int p;

	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* a failed ASSERT returns early */
	uv_loop_init(&loop);
	if (http_server_new(&loop, &o, &s) || http_server_listen(s, "127.0.0.1:0") < 0)
		_exit(1);
	p = http_server_port(s, 0);
	if (write(fd, &p, sizeof(p)) != sizeof(p))
		_exit(1);
	uv_run(&loop, UV_RUN_DEFAULT);
	_exit(0);
}

/* Starts the fake registry; returns its pid, *port its port. */
static pid_t fake_start(int *port)
{
	int fds[2];
	pid_t pid;

	image("ok", "hello.txt", false, true);
	image("bad", "bad.txt", true, false);
	image("evil", "../../evil.txt", false, false);
	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0)
		fake_serve(fds[1]);
	close(fds[1]);
	if (read(fds[0], port, sizeof(*port)) != sizeof(*port))
		*port = 0;
	close(fds[0]);
	return pid;
}

static void fake_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Pulls 127.0.0.1:<port>/<repo>:v1 over plain HTTP (a mirror of itself). */
static int pull(struct img_store *s, int port, const char *repo, const char *user)
{
	char *yaml = xasprintf("mirrors:\n  \"127.0.0.1:%d\":\n    endpoint: [\"http://127.0.0.1:%d\"]\n"
			       "configs:\n  \"127.0.0.1:%d\":\n    auth: {username: alice, password: %s}\n",
			       port, port, port, user ? user : "nope");
	char *path = xasprintf("%s/reg.yaml", test_tmpdir()), *err = NULL;
	char *ref = xasprintf("127.0.0.1:%d/%s:v1", port, repo);
	struct img_registries *r = NULL;
	struct img_pull_opts o = { 0 };
	int ret;

	write_file_atomic(path, yaml, strlen(yaml), 0600);
	ret = img_registries_load(path, &r, &err);
	o.registries = r;
	if (!ret)
		ret = img_pull(s, ref, &o, NULL);
	img_registries_free(r);
	free(err);
	free(yaml);
	free(path);
	free(ref);
	return ret;
}

TEST(registry_pull_fake)
{
	struct img_store s;
	int port = 0;
	pid_t pid = fake_start(&port);
	char *ref, *outside;
	const struct img_image *img;
	struct stat st;

	ASSERT_TRUE(pid > 0 && port > 0);
	ASSERT_OK(img_store_open(&s, test_tmpdir()));
	/* an index, resolved to linux/<arch> */
	ASSERT_OK(pull(&s, port, "ok", NULL));
	ref = xasprintf("127.0.0.1:%d/ok:v1", port);
	img = img_find(&s, ref);
	ASSERT_NOT_NULL(img);
	ASSERT_EQ(img->nlayers, 1);
	free(ref);
	/* bytes that do not match the layer digest */
	ASSERT_EQ(pull(&s, port, "bad", NULL), -EINVAL);
	ASSERT_TRUE(strstr(img_store_error(&s), "digest mismatch") != NULL);
	/* an evil layer: refused, the entry named, nothing outside */
	ASSERT_EQ(pull(&s, port, "evil", NULL), -EPERM);
	ASSERT_TRUE(strstr(img_store_error(&s), "'../../evil.txt'") != NULL);
	outside = xasprintf("%s/agent/evil.txt", test_tmpdir());
	ASSERT_TRUE(stat(outside, &st) < 0);
	free(outside);
	/* bearer: the wrong password, then the right one */
	ASSERT_EQ(pull(&s, port, "auth", NULL), -EACCES);
	ASSERT_TRUE(strstr(img_store_error(&s), "401 Unauthorized") != NULL);
	ASSERT_OK(pull(&s, port, "auth", "pw"));
	/* 404 */
	ASSERT_EQ(pull(&s, port, "none", NULL), -ENOENT);
	ASSERT_TRUE(strstr(img_store_error(&s), "manifest unknown") != NULL);
	ASSERT_EQ(s.nimages, 1);	/* ok and auth are the same image */
	img_store_release(&s);
	fake_stop(pid);
}
