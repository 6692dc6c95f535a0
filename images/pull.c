/*
 * images/pull.c - img_pull(): resolve a reference on a registry (mirrors
 * first), fetch and verify its manifest (through an index to linux/<arch>),
 * config and layers, then unpack and record the image under the store lock.
 * Layer blobs are downloaded into unlinked files under tmp/ without the lock.
 */
#include "registry_int.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ACCEPT_MANIFESTS \
	"application/vnd.oci.image.index.v1+json, " \
	"application/vnd.docker.distribution.manifest.list.v2+json, " \
	"application/vnd.oci.image.manifest.v1+json, " \
	"application/vnd.docker.distribution.manifest.v2+json"

struct pull {
	struct img_store *s;
	const struct img_pull_opts *o;
	char *name;			/* normalized */
	char *registry, *repo, *ref;	/* "docker.io", "library/busybox", tag or digest */
	struct reg_client *c;
	struct buf manifest;		/* the image manifest as received */
	char mdigest[IMG_DIGEST_LEN + 1];
	struct buf config;
	char cdigest[IMG_DIGEST_LEN + 1];
	struct img_image img;
	int *fds;			/* downloaded layers (-1: already in the store) */
	const char *cur;		/* layer being downloaded, for progress */
	uint64_t cur_total;
};

static int pull_fail(struct pull *p, int r, const char *msg)
{
	return img__fail(p->s, r, "failed to pull and unpack image \"%s\": %s", p->name, msg);
}

/* "host/repo:tag" or "host/repo@sha256:..." into registry, repo, ref. */
static int split_ref(struct pull *p)
{
	const char *slash = strchr(p->name, '/'), *at, *colon;

	if (!slash)
		return -EINVAL;
	p->registry = xstrndup(p->name, (size_t)(slash - p->name));
	at = strchr(slash, '@');
	colon = at ? at : strrchr(slash, ':');
	if (!colon)
		return -EINVAL;
	p->repo = xstrndup(slash + 1, (size_t)(colon - slash - 1));
	p->ref = xstrdup(colon + 1);
	return 0;
}

/* GETs manifests/<ref> into b, verifying digest when ref is one. */
static int get_manifest(struct pull *p, const char *ref, struct buf *b,
			char digest[IMG_DIGEST_LEN + 1], char *ctype, char *err, size_t errlen)
{
	char *what = xasprintf("manifests/%s", ref);
	struct reg_sink sink = { .buf = b, .max = IMG_MAX_JSON_BYTES };
	int r;

	buf_reset(b);
	img__sha_init(&sink.sha);
	r = reg__get(p->c, what, ACCEPT_MANIFESTS, &sink, err, errlen);
	img__sha_final(&sink.sha, digest);
	free(what);
	snprintf(ctype, 128, "%s", sink.content_type);
	if (!r && !strncmp(ref, "sha256:", 7) && strcmp(ref, digest)) {
		snprintf(err, errlen, "manifest digest mismatch: want %s, got %s", ref, digest);
		r = -EINVAL;
	}
	return r;
}

static bool is_index(const cJSON *m, const char *ctype)
{
	const char *mt = json_get_str(m, "mediaType", ctype);

	return strstr(mt, "image.index") || strstr(mt, "manifest.list") ||
		(!*mt && cJSON_IsArray(json_get(m, "manifests")));
}

/* Resolves p->ref to an image manifest in p->manifest / p->mdigest. */
static int resolve(struct pull *p, char *err, size_t errlen)
{
	char ctype[128], dig[IMG_DIGEST_LEN + 1];
	cJSON *m = NULL;
	const cJSON *it;
	int r = get_manifest(p, p->ref, &p->manifest, p->mdigest, ctype, err, errlen);

	for (int depth = 0; !r; depth++) {
		cJSON_Delete(m);
		m = cJSON_ParseWithLength(p->manifest.data ? p->manifest.data : "", p->manifest.len);
		if (!m || json_get_int(m, "schemaVersion", 0) != 2) {
			snprintf(err, errlen, "%s", !m ? "manifest is not valid JSON" :
				 "unsupported manifest schema version (only schema 2 and OCI)");
			r = -EINVAL;
			break;
		}
		if (!is_index(m, ctype))
			break;
		dig[0] = '\0';
		cJSON_ArrayForEach(it, json_get(m, "manifests")) {
			const cJSON *pf = json_get(it, "platform");

			if (!strcmp(json_get_str(pf, "os", ""), "linux") &&
			    !strcmp(json_get_str(pf, "architecture", ""), IMG_ARCH) &&
			    img__digest_valid(json_get_str(it, "digest", ""))) {
				snprintf(dig, sizeof(dig), "%s", json_get_str(it, "digest", ""));
				break;
			}
		}
		if (!dig[0] || depth) {
			snprintf(err, errlen, "no matching manifest for linux/%s in the manifest list",
				 IMG_ARCH);
			r = -ENOENT;
			break;
		}
		r = get_manifest(p, dig, &p->manifest, p->mdigest, ctype, err, errlen);
	}
	cJSON_Delete(m);
	return r;
}

/* Tries each endpoint until one resolves the reference; p->c stays open. */
static int connect_resolve(struct pull *p, char *err, size_t errlen)
{
	struct reg_endpoint *eps;
	size_t n;
	char e2[400];
	int r = -ENOENT, first = 0;

	reg__endpoints(p->o->registries, p->o->auths, p->registry, &eps, &n);
	for (size_t i = 0; i < n; i++) {
		r = reg__client_new(&eps[i], p->repo, p->o->stall_ms, &p->c, e2, sizeof(e2));
		if (!r)
			r = resolve(p, e2, sizeof(e2));
		if (!r)
			break;
		LOG_V(1, "pull %s: %s: %s", p->name, eps[i].host, e2);
		/* Report the first answer a registry gave over a connection failure. */
		if (!first || (first != -ENOENT && first != -EACCES && first != -EINVAL &&
			       (r == -ENOENT || r == -EACCES))) {
			first = r;
			snprintf(err, errlen, "%s", e2);
		}
		reg__client_free(p->c);
		p->c = NULL;
	}
	reg__endpoints_free(eps, n);
	return r ? first : 0;
}

static int get_config(struct pull *p, const cJSON *man, char *err, size_t errlen)
{
	const char *cd = json_get_str(json_get(man, "config"), "digest", "");
	struct reg_sink sink = { .buf = &p->config, .max = IMG_MAX_JSON_BYTES };
	char got[IMG_DIGEST_LEN + 1], *what;
	cJSON *cfg;
	const cJSON *ids, *it;
	size_t want = (size_t)cJSON_GetArraySize(json_get(man, "layers"));
	int r;

	if (!img__digest_valid(cd) || !cJSON_IsArray(json_get(man, "layers")) ||
	    want > IMG_MAX_LAYERS) {
		snprintf(err, errlen, "manifest %s: no config, or bad layers", p->mdigest);
		return -EINVAL;
	}
	what = xasprintf("blobs/%s", cd);
	img__sha_init(&sink.sha);
	r = reg__get(p->c, what, NULL, &sink, err, errlen);
	img__sha_final(&sink.sha, got);
	free(what);
	if (r)
		return r;
	if (strcmp(got, cd)) {
		snprintf(err, errlen, "config digest mismatch: want %s, got %s", cd, got);
		return -EINVAL;
	}
	strcpy(p->cdigest, cd);
	cfg = cJSON_ParseWithLength(p->config.data ? p->config.data : "", p->config.len);
	ids = json_path(cfg, "rootfs.diff_ids");
	if (!cJSON_IsArray(ids) || (size_t)cJSON_GetArraySize(ids) != want) {
		snprintf(err, errlen, "image config: rootfs.diff_ids does not match the %zu layers",
			 want);
		cJSON_Delete(cfg);
		return -EINVAL;
	}
	p->img.layers = xcalloc(want ? want : 1, sizeof(*p->img.layers));
	cJSON_ArrayForEach(it, ids) {
		if (!cJSON_IsString(it) || !img__digest_valid(it->valuestring)) {
			snprintf(err, errlen, "image config: bad diff_id");
			r = -EINVAL;
			break;
		}
		strcpy(p->img.layers[p->img.nlayers++].diff_id, it->valuestring);
	}
	cJSON_Delete(cfg);
	return r;
}

static void progress(struct pull *p, const char *digest, uint64_t done, uint64_t total,
		     bool cached, bool finished)
{
	struct img_pull_progress pr = { .digest = digest, .done = done, .total = total,
					.cached = cached, .finished = finished };

	if (p->o->progress)
		p->o->progress(&pr, p->o->progress_arg);
}

static void on_bytes(uint64_t got, void *arg)
{
	struct pull *p = arg;

	progress(p, p->cur, got, p->cur_total, false, false);
}

/* An unlinked file under tmp/ (a sweep can't remove it under us). */
static int tmp_file(struct pull *p)
{
	char *dir = xasprintf("%s/tmp", p->s->root);
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	free(dir);
	return fd < 0 ? -errno : fd;
}

static int get_layer(struct pull *p, const cJSON *desc, int *fd, char *err, size_t errlen)
{
	const char *d = json_get_str(desc, "digest", "");
	int64_t size = json_get_int(desc, "size", -1);
	struct reg_sink sink = { .progress = on_bytes, .arg = p };
	char got[IMG_DIGEST_LEN + 1], *what;
	int r;

	if (!img__digest_valid(d) || size < 0 || (uint64_t)size > IMG_MAX_LAYER_BYTES) {
		snprintf(err, errlen, "manifest %s: bad layer descriptor", p->mdigest);
		return -EINVAL;
	}
	*fd = sink.fd = tmp_file(p);
	if (*fd < 0) {
		snprintf(err, errlen, "cannot create a file in '%s/tmp': %s", p->s->root,
			 strerror(-*fd));
		return *fd;
	}
	sink.max = (uint64_t)size;
	p->cur = d;
	p->cur_total = (uint64_t)size;
	progress(p, d, 0, (uint64_t)size, false, false);
	what = xasprintf("blobs/%s", d);
	img__sha_init(&sink.sha);
	r = reg__get(p->c, what, NULL, &sink, err, errlen);
	img__sha_final(&sink.sha, got);
	free(what);
	if (!r && strcmp(got, d)) {
		snprintf(err, errlen, "layer %s: digest mismatch: got %s", d, got);
		r = -EINVAL;
	}
	if (!r && lseek(*fd, 0, SEEK_SET) < 0)
		r = -errno;
	if (!r)
		progress(p, d, sink.got, (uint64_t)size, false, true);
	return r;
}

static int get_layers(struct pull *p, const cJSON *man, char *err, size_t errlen)
{
	const cJSON *it;
	size_t i = 0;
	int r = 0;

	p->fds = xcalloc(p->img.nlayers ? p->img.nlayers : 1, sizeof(int));
	for (size_t j = 0; j < p->img.nlayers; j++)
		p->fds[j] = -1;
	cJSON_ArrayForEach(it, json_get(man, "layers")) {
		char *dir = img__layer_path(p->s, p->img.layers[i].diff_id);
		struct stat sb;
		bool have = !stat(dir, &sb) && S_ISDIR(sb.st_mode);

		free(dir);
		if (have)
			progress(p, json_get_str(it, "digest", ""), 0, 0, true, true);
		else
			r = get_layer(p, it, &p->fds[i], err, errlen);
		i++;
		if (r)
			break;
	}
	return r;
}

/* Under the lock: unpack, store the manifest and config, record the image. */
static int commit(struct pull *p, const cJSON *man)
{
	struct img_store *s = p->s;
	const cJSON *it;
	size_t i = 0;
	int r = img__lock(s);

	if (r)
		return r;
	cJSON_ArrayForEach(it, json_get(man, "layers")) {
		const char *d = json_get_str(it, "digest", "");

		if (p->fds[i] >= 0)
			r = img__layer_unpack(s, p->fds[i], d, d, &p->img.layers[i]);
		else
			r = img__layer_unpack(s, -1, d, NULL, &p->img.layers[i]);
		if (r)
			break;
		p->img.size += p->img.layers[i++].size;
	}
	if (!r)
		r = img__blob_put(s, p->mdigest, p->manifest.data, p->manifest.len);
	if (!r)
		r = img__blob_put(s, p->cdigest, p->config.data, p->config.len);
	if (!r) {
		strcpy(p->img.id, p->cdigest);
		strcpy(p->img.manifest, p->mdigest);
		p->img.names = xcalloc(1, sizeof(char *));
		p->img.names[p->img.nnames++] = xstrdup(p->name);
		p->img.created = p->img.last_used = time(NULL);
		img__add_image(s, &p->img);
		r = img__save(s);
	}
	if (r)
		img__forget_partial(s);
	img__unlock(s);
	return r;
}

static void pull_release(struct pull *p)
{
	for (size_t i = 0; p->fds && i < p->img.nlayers; i++)
		if (p->fds[i] >= 0)
			close(p->fds[i]);
	free(p->fds);
	reg__client_free(p->c);
	buf_release(&p->manifest);
	buf_release(&p->config);
	img__image_release(&p->img);
	free(p->name);
	free(p->registry);
	free(p->repo);
	free(p->ref);
}

int img_pull(struct img_store *s, const char *ref, const struct img_pull_opts *o,
	     char id[IMG_DIGEST_LEN + 1])
{
	static const struct img_pull_opts none;
	struct pull p = { .s = s, .o = o ? o : &none };
	cJSON *man = NULL;
	char err[sizeof(s->err)] = "";
	int r;

	s->err[0] = '\0';
	buf_init(&p.manifest, 4096);
	buf_init(&p.config, 4096);
	p.name = img_name_normalize(ref);
	if (!p.name || split_ref(&p)) {
		free(p.name);
		p.name = xstrdup(ref);
		r = pull_fail(&p, -EINVAL, "invalid reference format");
		goto out;
	}
	r = connect_resolve(&p, err, sizeof(err));
	if (!r) {
		man = cJSON_ParseWithLength(p.manifest.data, p.manifest.len);
		r = get_config(&p, man, err, sizeof(err));
	}
	if (!r)
		r = get_layers(&p, man, err, sizeof(err));
	if (r) {
		pull_fail(&p, r, err);
		goto out;
	}
	r = commit(&p, man);
	if (r && !strstr(s->err, p.name)) {
		snprintf(err, sizeof(err), "%s", s->err);
		pull_fail(&p, r, err);
	}
	if (!r && id)
		strcpy(id, p.img.id[0] ? p.img.id : p.cdigest);
out:
	cJSON_Delete(man);
	pull_release(&p);
	return r;
}
