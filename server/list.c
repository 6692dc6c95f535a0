/*
 * server/list.c - list with label and field selectors, limit and continue,
 * resourceVersion semantics, and deletecollection.
 */
#include "apiserver.h"
#include "convert.h"
#include "crd.h"
#include "storage.h"
#include "lib/json.h"
#include "lib/selector.h"
#include "lib/util.h"

#include <errno.h>
#include <mbedtls/base64.h>
#include <stdlib.h>
#include <string.h>

#define LIST_CHUNK 500	/* store page size while filtering */

/* Field selector fields each kind supports beyond metadata.name/namespace. */
static const struct { const char *group, *resource, *fields; } field_labels[] = {
	{ "", "pods", "spec.nodeName,spec.restartPolicy,spec.schedulerName,spec.serviceAccountName,spec.hostNetwork,status.phase,status.podIP,status.podIPs,status.nominatedNodeName" },
	{ "", "events", "involvedObject.kind,involvedObject.namespace,involvedObject.name,involvedObject.uid,involvedObject.apiVersion,involvedObject.resourceVersion,involvedObject.fieldPath,reason,reportingComponent,source,type" },
	{ "", "secrets", "type" },
	{ "", "nodes", "spec.unschedulable" },
	{ "", "namespaces", "status.phase" },
	{ "", "replicationcontrollers", "status.replicas" },
	{ "apps", "replicasets", "status.replicas" },
	{ "batch", "jobs", "status.successful" },
	{ "", "persistentvolumeclaims", "" },
	{ "certificates.k8s.io", "certificatesigningrequests", "spec.signerName" },
};

static bool field_supported(const struct api_resource *r, const char *f)
{
	if (!strcmp(f, "metadata.name") || (r->namespaced && !strcmp(f, "metadata.namespace")))
		return true;
	if (r->crd)
		return crd_field_selectable(r, f);
	for (size_t i = 0; i < ARRAY_SIZE(field_labels); i++) {
		const char *p = field_labels[i].fields;
		size_t n = strlen(f);

		if (strcmp(field_labels[i].group, r->group) || strcmp(field_labels[i].resource, r->plural))
			continue;
		while (p && *p) {
			const char *cm = strchr(p, ',');
			size_t l = cm ? (size_t)(cm - p) : strlen(p);

			if (l == n && !strncmp(p, f, n))
				return true;
			p = cm ? cm + 1 : NULL;
		}
	}
	return false;
}

struct field_ctx {
	const cJSON *obj;
	char buf[64];
};

static const char *field_get(void *ud, const char *field)
{
	struct field_ctx *fc = ud;
	const cJSON *v = json_path(fc->obj, field);

	if (!strcmp(field, "source"))
		v = json_path(fc->obj, "source.component");
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (cJSON_IsNumber(v)) {
		snprintf(fc->buf, sizeof(fc->buf), "%lld", (long long)v->valuedouble);
		return fc->buf;
	}
	if (!strcmp(field, "spec.unschedulable") || !strcmp(field, "spec.hostNetwork"))
		return "false";
	return "";
}

int list_filter_init(struct api_call *c, struct list_filter *f, struct api_error *e)
{
	char *q = NULL, *err = NULL;

	memset(f, 0, sizeof(*f));
	if (!http_request_query(c->req, "labelSelector", 0, &q) && q && *q &&
	    sel_label_parse(q, &f->labels, &err)) {
		api_error_set(e, STATUS_BAD_REQUEST, "unable to parse requirement: %s", err ? err : q);
		goto bad;
	}
	free(q);
	q = NULL;
	if (!http_request_query(c->req, "fieldSelector", 0, &q) && q && *q) {
		if (sel_field_parse(q, &f->fields, &err)) {
			api_error_set(e, STATUS_BAD_REQUEST, "%s", err ? err : "invalid field selector");
			goto bad;
		}
		for (size_t i = 0; i < f->fields.nterms; i++)
			if (!field_supported(c->res, f->fields.terms[i].field)) {
				api_error_set(e, STATUS_BAD_REQUEST, "field label not supported: %s",
					      f->fields.terms[i].field);
				goto bad;
			}
	}
	free(q);
	return 0;
bad:
	free(q);
	free(err);
	list_filter_release(f);
	return -EINVAL;
}

bool list_filter_match(const struct list_filter *f, const cJSON *obj)
{
	struct field_ctx fc = { .obj = obj };

	if (!sel_label_matches(&f->labels, json_path(obj, "metadata.labels")))
		return false;
	return sel_field_matches(&f->fields, field_get, &fc);
}

void list_filter_release(struct list_filter *f)
{
	sel_label_release(&f->labels);
	sel_field_release(&f->fields);
}

/* ---- continue tokens: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"key"} ---- */

static char *continue_encode(int64_t rev, const char *key)
{
	cJSON *o = cJSON_CreateObject();
	char *json, *out;
	size_t olen = 0;

	json_set_str(o, "v", "meta.k8s.io/v1");
	json_set_int(o, "rv", rev);
	json_set_str(o, "start", key);
	json = json_print(o);
	cJSON_Delete(o);
	mbedtls_base64_encode(NULL, 0, &olen, (unsigned char *)json, strlen(json));
	out = xmalloc(olen + 1);
	mbedtls_base64_encode((unsigned char *)out, olen + 1, &olen, (unsigned char *)json, strlen(json));
	out[olen] = '\0';
	free(json);
	return out;
}

static int continue_decode(const char *tok, int64_t *rev, char **key)
{
	size_t n = strlen(tok), olen = 0;
	unsigned char *raw;
	cJSON *o;
	int ret = -EINVAL;

	if (n > 4096)
		return -EINVAL;
	raw = xmalloc(n + 1);
	if (mbedtls_base64_decode(raw, n, &olen, (const unsigned char *)tok, n) == 0) {
		raw[olen] = '\0';
		o = json_parse((char *)raw, strlen((char *)raw));
		if (o && json_get_int(o, "rv", 0) > 0 && json_get_str(o, "start", NULL)) {
			*rev = json_get_int(o, "rv", 0);
			*key = xstrdup(json_get_str(o, "start", ""));
			ret = 0;
		}
		cJSON_Delete(o);
	}
	free(raw);
	return ret;
}

static char *query_str(struct api_call *c, const char *name)
{
	char *q = NULL;

	if (http_request_query(c->req, name, 0, &q))
		return NULL;
	return q;
}

/*
 * What a list visits: each stored object that passed the filter. `decoded`
 * is the object when the filter had to decode it (the visitor may take it
 * over by setting *decoded to NULL), else NULL.
 */
typedef void (*list_visit_fn)(struct api_call *c, const struct sobj *o, cJSON **decoded, void *ud);

static bool filter_empty(const struct list_filter *f)
{
	return sel_label_empty(&f->labels) && !f->fields.nterms;
}

/* Parses limit, continue and resourceVersion into the walk's start. */
static int walk_params(struct api_call *c, int64_t *limit, int64_t *at, char **after,
		       bool *continuing, struct api_error *e)
{
	char *lim = query_str(c, "limit"), *cont = query_str(c, "continue");
	char *rvq = query_str(c, "resourceVersion"), *m = NULL;
	int64_t rvnum = 0;
	int ret = -EINVAL;

	*continuing = cont && *cont;
	if (lim && *lim && (parse_i64(lim, limit) || *limit < 0)) {
		api_error_set(e, STATUS_BAD_REQUEST, "invalid limit: %s", lim);
		goto out;
	}
	if (*limit > API_MAX_LIMIT)
		*limit = API_MAX_LIMIT;
	if (rvq && *rvq && parse_i64(rvq, &rvnum)) {
		api_error_set(e, STATUS_BAD_REQUEST, "invalid resourceVersion: %s", rvq);
		goto out;
	}
	if (*continuing) {
		if (continue_decode(cont, at, after)) {
			api_error_set(e, STATUS_BAD_REQUEST,
				      "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
			goto out;
		}
	} else if (rvnum > 0) {
		m = query_str(c, "resourceVersionMatch");
		if (m && !strcmp(m, "Exact")) {
			*at = rvnum;
		} else if (rvnum > storage_revision(c->srv)) {
			api_error_set(e, STATUS_TIMEOUT, "Too large resource version: %lld, current: %lld",
				      (long long)rvnum, (long long)storage_revision(c->srv));
			e->retry_after = 1;
			goto out;
		}
	}
	ret = 0;
out:
	free(lim);
	free(cont);
	free(rvq);
	free(m);
	return ret;
}

/*
 * Walks the collection c names at one revision, page by page, calling fn
 * for each object that matches f, up to limit (0 = all), resuming from a
 * continue token. Fills the list metadata. 0 or -errno with e set.
 */
static int list_walk(struct api_call *c, const struct list_filter *f, list_visit_fn fn,
		     void *ud, cJSON **meta_out, struct api_error *e)
{
	char *prefix = api_key(c->res, c->res->namespaced ? c->route.ns : "", "");
	char *after = NULL;
	int64_t limit = 0, at = 0, n = 0;
	bool more = false, continuing;
	int ret = -EINVAL;

	if (walk_params(c, &limit, &at, &after, &continuing, e))
		goto out;
	for (;;) {
		struct slist page = { 0 };
		size_t want = LIST_CHUNK;
		int r;

		if (limit && filter_empty(f) && limit - n < LIST_CHUNK)
			want = (size_t)(limit - n);	/* no filter: read no more than needed */
		r = storage_list(c->srv, prefix, at, after ? after : "", want, &page);

		if (r == -ESTALE) {
			if (continuing)
				api_error_set(e, STATUS_EXPIRED,
					      "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.");
			else
				api_error_set(e, STATUS_EXPIRED, "too old resource version: %lld (%lld)",
					      (long long)at, (long long)storage_revision(c->srv));
			goto out;
		}
		if (r) {
			api_error_set(e, STATUS_INTERNAL_ERROR, "storage list failed: %s", strerror(-r));
			goto out;
		}
		at = page.rev;
		for (size_t i = 0; i < page.n; i++) {
			cJSON *o = NULL;

			free(after);
			after = xstrdup(page.items[i].key);
			if (!filter_empty(f)) {
				o = api_decode_as(c->res, page.items[i].value, page.items[i].len,
						  page.items[i].mod_rev);
				if (!o || !list_filter_match(f, o)) {
					cJSON_Delete(o);
					continue;
				}
			}
			fn(c, &page.items[i], &o, ud);
			cJSON_Delete(o);
			if (limit && ++n >= limit) {
				more = i + 1 < page.n || page.more;
				slist_release(&page);
				goto done;
			}
		}
		more = page.more;
		slist_release(&page);
		if (!more)
			break;
	}
done:
	{
		cJSON *meta = cJSON_CreateObject();
		char rv[24];

		snprintf(rv, sizeof(rv), "%lld", (long long)at);
		json_set_str(meta, "resourceVersion", rv);
		if (more) {
			char *tok = continue_encode(at, after);

			json_set_str(meta, "continue", tok);
			free(tok);
		}
		*meta_out = meta;
	}
	ret = 0;
out:
	free(after);
	free(prefix);
	return ret;
}

static void collect_item(struct api_call *c, const struct sobj *o, cJSON **decoded, void *ud)
{
	cJSON *obj = *decoded;

	if (obj)
		*decoded = NULL;
	else
		obj = api_decode_as(c->res, o->value, o->len, o->mod_rev);
	if (!obj)
		return;
	if (!c->res->crd) {	/* items of custom resource lists keep them, as upstream */
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "kind");
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "apiVersion");
	}
	cJSON_AddItemToArray(ud, obj);
}

int list_collect(struct api_call *c, cJSON **items_out, cJSON **meta_out, struct api_error *e)
{
	cJSON *items = cJSON_CreateArray();
	struct list_filter f;

	if (list_filter_init(c, &f, e)) {
		cJSON_Delete(items);
		return -EINVAL;
	}
	if (list_walk(c, &f, collect_item, items, meta_out, e)) {
		list_filter_release(&f);
		cJSON_Delete(items);
		return -EINVAL;
	}
	list_filter_release(&f);
	*items_out = items;
	return 0;
}

/*
 * The fast path of a plain JSON list: stored bytes are copied into the
 * answer with their resourceVersion spliced in, never parsed. Stored
 * objects start with apiVersion, kind and metadata (rest.c stores them in
 * that order), so the first "metadata":{ is the object's own.
 */
static void splice_item(struct api_call *c, const struct sobj *o, cJSON **decoded, void *ud)
{
	struct buf *b = ud;
	const char *m = strstr(o->value, "\"metadata\":{");

	(void)c;
	(void)decoded;
	if (b->data[b->len - 1] != '[')
		buf_addch(b, ',');
	if (!m) {
		buf_add(b, o->value, o->len);
		return;
	}
	m += strlen("\"metadata\":{");
	buf_add(b, o->value, (size_t)(m - o->value));
	buf_addf(b, "\"resourceVersion\":\"%lld\"%s", (long long)o->mod_rev, *m == '}' ? "" : ",");
	buf_add(b, m, o->len - (size_t)(m - o->value));
}

static bool wants_plain_json(struct api_call *c)
{
	const char *a = http_request_header(c->req, "Accept");

	if (a && (strstr(a, "as=Table") || (!strstr(a, "json") && !strstr(a, "*/*"))))
		return false;	/* tables, and the 406 of api_respond_object */
	/* custom resources are pruned and defaulted on read */
	return !convert_storage_version(c->res->group, c->res->plural, NULL) && !c->res->crd;
}

void rest_list(struct api_call *c)
{
	struct api_error e = { 0 };
	struct list_filter f;
	cJSON *items, *meta, *list;
	char *av = *c->res->group ? xasprintf("%s/%s", c->res->group, c->res->version)
				  : xstrdup(c->res->version);

	if (wants_plain_json(c)) {
		struct buf b = BUF_INIT;

		if (list_filter_init(c, &f, &e))
			goto fail;
		buf_addf(&b, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"items\":[", c->res->list_kind, av);
		if (list_walk(c, &f, splice_item, &b, &meta, &e)) {
			list_filter_release(&f);
			buf_release(&b);
			goto fail;
		}
		list_filter_release(&f);
		buf_addstr(&b, "],\"metadata\":");
		json_print_buf(meta, &b);
		buf_addch(&b, '}');
		api_respond_raw(c, 200, "application/json", b.data, b.len);
		buf_release(&b);
		cJSON_Delete(meta);
		goto out;
	}
	if (list_collect(c, &items, &meta, &e))
		goto fail;
	list = cJSON_CreateObject();
	json_set_str(list, "kind", c->res->list_kind);
	json_set_str(list, "apiVersion", av);
	json_set(list, "metadata", meta);
	json_set(list, "items", items);
	api_respond_object(c, 200, list);
	cJSON_Delete(list);
	goto out;
fail:
	api_respond_error(c, &e);
out:
	free(av);
	api_call_free(c);
}

/* ---- deletecollection: delete every match, one after another ---- */

struct dc_ctx {
	struct api_call *c;
	cJSON *items;		/* what is left to delete */
	cJSON *deleted;		/* answered as the list */
	cJSON *meta;
};

static void dc_next(struct dc_ctx *d);

static void dc_done(int err, int64_t rev, struct sobj *prev, void *ud)
{
	struct dc_ctx *d = ud;

	(void)rev;
	if (!err && prev) {
		cJSON *o = api_decode_as(d->c->res, prev->value, prev->len, rev);

		if (o)
			cJSON_AddItemToArray(d->deleted, o);
	}
	dc_next(d);
}

static void dc_next(struct dc_ctx *d)
{
	struct api_call *c = d->c;
	cJSON *it = cJSON_DetachItemFromArray(d->items, 0);

	if (it) {
		const cJSON *m = json_get(it, "metadata");
		char *key = api_key(c->res, json_get_str(m, "namespace", ""), json_get_str(m, "name", ""));

		if (c->dry_run) {
			cJSON_AddItemToArray(d->deleted, it);
			free(key);
			dc_next(d);
			return;
		}
		storage_delete(c->srv, key, 0, dc_done, d);
		free(key);
		cJSON_Delete(it);
		return;
	}
	{
		cJSON *list = cJSON_CreateObject();
		char *av = *c->res->group ? xasprintf("%s/%s", c->res->group, c->res->version)
					  : xstrdup(c->res->version);

		json_set_str(list, "kind", c->res->list_kind);
		json_set_str(list, "apiVersion", av);
		json_set(list, "metadata", d->meta);
		json_set(list, "items", d->deleted);
		api_respond_json(c, 200, list);
		cJSON_Delete(list);
		free(av);
	}
	cJSON_Delete(d->items);
	api_call_free(c);
	free(d);
}

void rest_deletecollection(struct api_call *c)
{
	struct api_error e = { 0 };
	struct dc_ctx *d = xcalloc(1, sizeof(*d));

	if (list_collect(c, &d->items, &d->meta, &e)) {
		free(d);
		api_respond_error(c, &e);
		api_call_free(c);
		return;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(d->meta, "continue");
	d->c = c;
	d->deleted = cJSON_CreateArray();
	dc_next(d);
}
