/*
 * server/bootstrap.c - objects every cluster has: the namespaces default,
 * kube-system, kube-public and kube-node-lease, and a `default`
 * ServiceAccount in every namespace (made when the namespace is created, as
 * the serviceaccounts controller does upstream).
 */
#include "apiserver.h"
#include "meta.h"
#include "storage.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const builtin_namespaces[] = {
	"default", "kube-system", "kube-public", "kube-node-lease",
};

struct boot_write {
	struct apiserver *s;
};

static int pending;			/* bootstrap writes not yet durable */
static void (*when_done)(struct apiserver *s);	/* runs once pending drops to 0 */

static void write_done(int err, int64_t rev, struct sobj *prev, void *ud)
{
	struct boot_write *w = ud;

	(void)rev;
	(void)prev;
	if (err && err != -EEXIST)
		log_error("cannot create a built-in object: %s", strerror(-err));
	if (--pending == 0 && when_done) {
		void (*done)(struct apiserver *s) = when_done;

		when_done = NULL;
		done(w->s);
	}
	free(w);
}

static void create(struct apiserver *s, const char *group, const char *plural, const char *ns,
		   cJSON *obj)
{
	const struct api_resource *r = registry_find(group, "v1", plural);
	struct api_error e = { 0 };
	struct boot_write *w = xcalloc(1, sizeof(*w));
	char *key, *val;

	meta_prepare_create(obj, r, (int64_t)wall_ns(), &e);
	api_error_release(&e);
	key = api_key(r, ns, json_get_str(json_get(obj, "metadata"), "name", ""));
	val = json_print(obj);
	w->s = s;
	pending++;
	storage_create(s, key, val, strlen(val), write_done, w);
	free(key);
	free(val);
	cJSON_Delete(obj);
}

void api_namespace_created(struct apiserver *s, const char *ns)
{
	cJSON *sa = cJSON_CreateObject(), *m = json_obj(sa, "metadata");
	char *key;
	struct sobj o = { 0 };
	const struct api_resource *r = registry_find("", "v1", "serviceaccounts");

	key = api_key(r, ns, "default");
	if (!storage_get(s, key, &o)) {
		sobj_release(&o);
		cJSON_Delete(sa);
		free(key);
		return;
	}
	free(key);
	json_set_str(sa, "apiVersion", "v1");
	json_set_str(sa, "kind", "ServiceAccount");
	json_set_str(m, "name", "default");
	json_set_str(m, "namespace", ns);
	create(s, "", "serviceaccounts", ns, sa);
}

void api_bootstrap_objects(struct apiserver *s, void (*done)(struct apiserver *s))
{
	const struct api_resource *r = registry_find("", "v1", "namespaces");

	when_done = done;
	pending++;	/* held until every write is queued */
	for (size_t i = 0; i < ARRAY_SIZE(builtin_namespaces); i++) {
		char *key = api_key(r, "", builtin_namespaces[i]);
		struct sobj o = { 0 };
		cJSON *ns, *m;

		if (!storage_get(s, key, &o)) {
			sobj_release(&o);
			free(key);
			api_namespace_created(s, builtin_namespaces[i]);
			continue;
		}
		free(key);
		ns = cJSON_CreateObject();
		m = json_obj(ns, "metadata");
		json_set_str(ns, "apiVersion", "v1");
		json_set_str(ns, "kind", "Namespace");
		json_set_str(m, "name", builtin_namespaces[i]);
		json_set_str(json_obj(m, "labels"), "kubernetes.io/metadata.name", builtin_namespaces[i]);
		json_set(json_obj(ns, "spec"), "finalizers", cJSON_CreateStringArray((const char *[]){ "kubernetes" }, 1));
		json_set_str(json_obj(ns, "status"), "phase", "Active");
		create(s, "", "namespaces", "", ns);
		api_namespace_created(s, builtin_namespaces[i]);
	}
	if (--pending == 0 && when_done) {
		when_done = NULL;
		done(s);
	}
}
