/*
 * agent/pod_spec.c - what a container needs to start, computed on the loop
 * from the pod and its image: command and args merged with the image's
 * entrypoint and cmd, env (agent/volume.h), mounts, working directory, user,
 * securityContext, resources -> cgroups, the pod's /etc files and the
 * termination message file. The thread pool part is in pod_work.c.
 */
#include "agent/pod_int.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/quantity.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CPU_PERIOD_US 100000
#define CPU_SHARES_MIN 2

const cJSON *pod__ctr_spec(const struct pod *p, const struct pod_ctr *ctr)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, json_path(p->obj, ctr->ephemeral ? "spec.ephemeralContainers" :
					 ctr->init ? "spec.initContainers" : "spec.containers"))
		if (!strcmp(json_get_str(c, "name", ""), ctr->name))
			return c;
	return NULL;
}

/* The kubelet's default: Always for ":latest" or no tag, else IfNotPresent. */
static const char *pull_policy(const cJSON *spec)
{
	const char *pol = json_get_str(spec, "imagePullPolicy", NULL);
	const char *image = json_get_str(spec, "image", ""), *slash, *colon;

	if (pol)
		return pol;
	if (strchr(image, '@'))
		return "IfNotPresent";
	slash = strrchr(image, '/');
	colon = strrchr(slash ? slash : image, ':');
	return !colon || !strcmp(colon, ":latest") ? "Always" : "IfNotPresent";
}

int pod__image_resolve(struct pod_manager *pm, const cJSON *spec, char **id, cJSON **config)
{
	const char *image = json_get_str(spec, "image", "");

	for (struct pod_image *i = pm->images_seen; i; i = i->next)
		if (!strcmp(i->ref, image)) {
			*id = xstrdup(i->id);
			*config = cJSON_Duplicate(i->config, 1);
			return 0;
		}
	*id = NULL;
	*config = NULL;
	return -EINPROGRESS;
}

void pod__image_learn(struct pod_manager *pm, const char *ref, const char *id, cJSON *config)
{
	struct pod_image *i;

	if (!id) {
		cJSON_Delete(config);
		return;
	}
	i = xcalloc(1, sizeof(*i));
	i->ref = xstrdup(ref);
	i->id = xstrdup(id);
	i->config = config;
	i->next = pm->images_seen;
	pm->images_seen = i;
}

void pod__images_forget(struct pod_manager *pm)
{
	while (pm->images_seen) {
		struct pod_image *i = pm->images_seen;

		pm->images_seen = i->next;
		free(i->ref);
		free(i->id);
		cJSON_Delete(i->config);
		free(i);
	}
}

void pod__image_forget(struct pod_manager *pm, const char *ref)
{
	for (struct pod_image **pp = &pm->images_seen, *i; (i = *pp);) {
		if (strcmp(i->ref, ref)) {
			pp = &i->next;
			continue;
		}
		*pp = i->next;
		free(i->ref);
		free(i->id);
		cJSON_Delete(i->config);
		free(i);
	}
}

bool pod__image_pull_always(const cJSON *spec)
{
	return !strcmp(pull_policy(spec), "Always");
}

bool pod__image_pull_never(const cJSON *spec)
{
	return !strcmp(pull_policy(spec), "Never");
}

void pod__image_missing(const cJSON *spec, const char **reason, char **msg)
{
	const char *image = json_get_str(spec, "image", "");

	if (pod__image_pull_never(spec)) {
		*reason = "ErrImageNeverPull";
		*msg = xasprintf("Container image \"%s\" is not present with pull policy of Never", image);
	} else {
		*reason = "ErrImagePull";
		*msg = xasprintf("Failed to pull image \"%s\": the pulled image is not in the node's image store",
				 image);
	}
}

/* ---- /etc files ---- */

char *pod__hosts_text(const struct pod *p)
{
	const cJSON *spec = json_get(p->obj, "spec"), *a, *h;
	const char *host = json_get_str(spec, "hostname", p->name), *sub = json_get_str(spec, "subdomain", NULL);
	struct buf b;
	char *text = NULL;

	if (p->host_network && read_file("/etc/hosts", 1 << 20, &text, NULL) >= 0)
		return text;
	buf_init(&b, 256);
	buf_addf(&b, "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
		   "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
		   "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n");
	for (size_t i = 0; i < p->n_ips; i++) {
		if (sub)
			buf_addf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", p->ips[i], host, sub, p->ns,
				   p->pm->cluster_domain, host);
		else
			buf_addf(&b, "%s\t%s\n", p->ips[i], host);
	}
	if (cJSON_GetArraySize(json_get(spec, "hostAliases")))
		buf_addf(&b, "\n# Entries added by HostAliases.\n");
	cJSON_ArrayForEach(a, json_get(spec, "hostAliases")) {
		buf_addf(&b, "%s", json_get_str(a, "ip", ""));
		cJSON_ArrayForEach(h, json_get(a, "hostnames"))
			if (cJSON_IsString(h))
				buf_addf(&b, "\t%s", h->valuestring);
		buf_addf(&b, "\n");
	}
	return buf_detach(&b, NULL);
}

/* ---- the start request ---- */

static char **strv_from_json(const cJSON *a, const cJSON *b)
{
	size_t n = (size_t)cJSON_GetArraySize(a) + (size_t)cJSON_GetArraySize(b), i = 0;
	char **v = xcalloc(n + 1, sizeof(*v));
	const cJSON *it;

	cJSON_ArrayForEach(it, a)
		if (cJSON_IsString(it))
			v[i++] = xstrdup(it->valuestring);
	cJSON_ArrayForEach(it, b)
		if (cJSON_IsString(it))
			v[i++] = xstrdup(it->valuestring);
	return v;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Replaces $(VAR) in s with env's value (unknown references stay; $$ is $). */
static char *expand(const char *s, char *const *env)
{
	struct buf b;

	buf_init(&b, 256);
	while (*s) {
		const char *end;

		if (s[0] == '$' && s[1] == '$') {
			buf_addf(&b, "$");
			s += 2;
		} else if (s[0] == '$' && s[1] == '(' && (end = strchr(s + 2, ')'))) {
			size_t n = (size_t)(end - s - 2);
			const char *val = NULL;

			for (size_t i = 0; env && env[i]; i++)
				if (!strncmp(env[i], s + 2, n) && env[i][n] == '=')
					val = env[i] + n + 1;
			if (val)
				buf_addf(&b, "%s", val);
			else
				buf_addf(&b, "%.*s", (int)(end - s + 1), s);
			s = end + 1;
		} else {
			buf_addf(&b, "%c", *s++);
		}
	}
	return buf_detach(&b, NULL);
}

static void sec_context(const cJSON *pod_sc, const cJSON *sc, struct ctr_start *c)
{
	const cJSON *v, *caps = json_get(sc, "capabilities");

	if (cJSON_IsNumber(v = json_get(sc, "runAsUser")) || cJSON_IsNumber(v = json_get(pod_sc, "runAsUser"))) {
		c->has_uid = true;
		c->uid = (uint32_t)v->valuedouble;
	}
	if (cJSON_IsNumber(v = json_get(sc, "runAsGroup")) || cJSON_IsNumber(v = json_get(pod_sc, "runAsGroup"))) {
		c->has_gid = true;
		c->gid = (uint32_t)v->valuedouble;
	}
	c->run_as_non_root = json_get_bool(sc, "runAsNonRoot", json_get_bool(pod_sc, "runAsNonRoot", false));
	c->privileged = json_get_bool(sc, "privileged", false);
	c->readonly = json_get_bool(sc, "readOnlyRootFilesystem", false);
	c->no_new_privs = !json_get_bool(sc, "allowPrivilegeEscalation", true) && !c->privileged;
	c->cap_add = strv_from_json(json_get(caps, "add"), NULL);
	c->cap_drop = strv_from_json(json_get(caps, "drop"), NULL);
}

static int64_t qty(const cJSON *v, bool milli)
{
	struct quantity q;
	const char *err;

	if (!v || quantity_from_json(v, &q, &err))
		return 0;
	return milli ? quantity_milli_value(&q) : quantity_value(&q);
}

static void resources(const cJSON *r, struct rt_resources *res)
{
	const cJSON *req = json_get(r, "requests"), *lim = json_get(r, "limits");
	int64_t req_cpu = qty(json_get(req, "cpu"), true), lim_cpu = qty(json_get(lim, "cpu"), true);

	if (!req_cpu)
		req_cpu = lim_cpu;
	res->cpu_shares = req_cpu ? (uint64_t)(req_cpu * 1024 / 1000) : CPU_SHARES_MIN;
	if (res->cpu_shares < CPU_SHARES_MIN)
		res->cpu_shares = CPU_SHARES_MIN;
	if (lim_cpu) {
		res->cpu_period = CPU_PERIOD_US;
		res->cpu_quota = lim_cpu * CPU_PERIOD_US / 1000;
		if (res->cpu_quota < 1000)
			res->cpu_quota = 1000;	/* the kernel's minimum */
	}
	res->memory_limit = qty(json_get(lim, "memory"), false);
}

int pod__ctr_start_build(struct pod *p, struct pod_ctr *ctr, const cJSON *spec,
			 struct ctr_start *c, const char **reason, char **msg)
{
	struct pod_manager *pm = p->pm;
	const cJSON *cfg, *command = json_get(spec, "command"), *args = json_get(spec, "args");
	cJSON *config = NULL;
	char **image_env = NULL, *err = NULL, *dir = pod__dir(pm, p->uid);
	int ret;

	memset(c, 0, sizeof(*c));
	if (ctr->ephemeral && (ret = pod__eph_target(p, spec, &c->pid_target, reason, msg)))
		goto out;
	ret = pod__image_resolve(pm, spec, &c->image, &config);
	if (ret)
		goto out;
	cfg = json_get(config, "config");
	image_env = strv_from_json(json_get(cfg, "Env"), NULL);
	const char *pips[2] = { p->ips[0], p->ips[1] }, *hips[2] = { pm->node_ips[0], pm->node_ips[1] };
	cJSON *env_pod = vol_pod_with_ips(p->obj, p->host_network ? hips : pips,
					  p->host_network ? 2 : p->n_ips, hips, 2);
	ret = vol_container_env(pm->vol, env_pod, spec, (const char *const *)image_env, &c->env, &err);
	cJSON_Delete(env_pod);
	if (!ret)
		ret = vol_container_mounts(pm->vol, p->obj, spec, &c->mounts, &c->n_mounts, &err);
	if (ret) {
		*reason = "CreateContainerConfigError";
		*msg = err ? err : xasprintf("%s", strerror(-ret));
		err = NULL;
		goto out;
	}
	if (cJSON_GetArraySize(command)) {
		c->args = strv_from_json(command, args);
	} else if (cJSON_GetArraySize(args)) {
		c->args = strv_from_json(json_get(cfg, "Entrypoint"), args);
	} else {
		c->args = strv_from_json(json_get(cfg, "Entrypoint"), json_get(cfg, "Cmd"));
	}
	if (!c->args[0]) {
		*reason = "CreateContainerConfigError";
		*msg = xstrdup("no command specified");
		ret = -EINVAL;
		goto out;
	}
	for (size_t i = 0; c->args[i]; i++) {
		char *x = expand(c->args[i], c->env);

		free(c->args[i]);
		c->args[i] = x;
	}
	c->cwd = xstrdup(json_get_str(spec, "workingDir", json_get_str(cfg, "WorkingDir", "")));
	if (!c->cwd[0]) {
		free(c->cwd);
		c->cwd = NULL;
	}
	if (*json_get_str(cfg, "User", ""))
		c->user = xstrdup(json_get_str(cfg, "User", ""));
	sec_context(json_path(p->obj, "spec.securityContext"), json_get(spec, "securityContext"), c);
	resources(json_get(spec, "resources"), &c->res);
	c->name = xstrdup(ctr->name);
	c->id = xasprintf("%s_%s_%u", p->uid, ctr->name, ctr->attempt);
	c->log_path = pod__log_path(pm, p, ctr->name, ctr->attempt);
	c->ctr_dir = xasprintf("%s/ctr/%s_%u", dir, ctr->name, ctr->attempt);
	c->hosts = xasprintf("%s/etc-hosts", dir);
	c->resolv = xasprintf("%s/resolv.conf", dir);
	c->hostname = xasprintf("%s/hostname", dir);
	c->term_path = xstrdup(json_get_str(spec, "terminationMessagePath", "/dev/termination-log"));
	if (c->term_path[0] == '/') {
		char *tdir = xasprintf("%s/termination", dir);

		mkdir_p(tdir, 0755);
		c->term_file = xasprintf("%s/%s_%u", tdir, ctr->name, ctr->attempt);
		free(tdir);
	}
	c->share_pid = p->share_pid;
	c->stdin = json_get_bool(spec, "stdin", false);
	c->stdin_once = json_get_bool(spec, "stdinOnce", false);
	c->tty = json_get_bool(spec, "tty", false);
	c->sandbox = xstrdup(p->uid);
	c->host_network = p->host_network;
	free(ctr->image_id);
	ctr->image_id = xstrdup(c->image);
out:
	free(err);
	free(dir);
	strv_free(image_env);
	cJSON_Delete(config);
	if (ret)
		pod__ctr_start_release(c);
	return ret;
}

void pod__ctr_start_release(struct ctr_start *c)
{
	char **strs[] = { &c->id, &c->name, &c->log_path, &c->ctr_dir, &c->image, &c->cwd, &c->user,
			  &c->term_file, &c->term_path, &c->hosts, &c->resolv, &c->hostname, &c->sandbox,
			  &c->pid_target };

	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	strv_free(c->args);
	free(c->env);		/* one block (agent/volume.h) */
	free(c->mounts);	/* one block */
	strv_free(c->cap_add);
	strv_free(c->cap_drop);
	c->args = c->env = c->cap_add = c->cap_drop = NULL;
	c->mounts = NULL;
}
