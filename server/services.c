/*
 * server/services.c - Service IP families, cluster IP and node port
 * allocation (see services.h).
 */
#include "services.h"
#include "storage.h"
#include "validate.h"
#include "lib/inet.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define NODEPORT_RANGE_DEFAULT "30000-32767"
#define TAKEN_MAX 64		/* allocations one write can make */

struct bitmap {
	uint8_t *bits;
	uint64_t size;		/* in bits */
};

struct ipfam {
	struct inet_prefix cidr;
	struct bitmap used;	/* by host offset */
	const char *name;	/* "IPv4" / "IPv6" */
	char first[INET_ADDR_STRLEN];
};

struct svc_state {
	struct ipfam fam[2];	/* [0] primary */
	int nfam;
	struct bitmap ports;	/* by port - port_min */
	int port_min, port_max;	/* --service-node-port-range */
	struct swatch *watch;
	char cidr_text[128];
};

/* What one write took, to give back if it fails. */
struct svc_taken {
	struct { int fam; uint64_t off; } ips[2];
	int nips;
	int ports[TAKEN_MAX];
	int nports;
};

/* ---- bitmaps ---- */

static void bm_init(struct bitmap *b, uint64_t size)
{
	b->size = size;
	b->bits = xcalloc((size + 7) / 8, 1);
}

static bool bm_get(const struct bitmap *b, uint64_t i)
{
	return i < b->size && (b->bits[i / 8] >> (i % 8)) & 1;
}

static void bm_set(struct bitmap *b, uint64_t i, bool v)
{
	if (i >= b->size)
		return;
	if (v)
		b->bits[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		b->bits[i / 8] &= (uint8_t)~(1u << (i % 8));
}

/* A free index in [lo, hi), starting at a random point. -1 when full. */
static int64_t bm_find_free(const struct bitmap *b, uint64_t lo, uint64_t hi)
{
	uint64_t r = 0, n;

	if (hi > b->size)
		hi = b->size;
	if (lo >= hi)
		return -1;
	n = hi - lo;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = mono_ns();
	for (uint64_t k = 0; k < n; k++) {
		uint64_t i = lo + (r + k) % n;

		if (!bm_get(b, i))
			return (int64_t)i;
	}
	return -1;
}

/* ---- families ---- */

static const char *family_name(int af)
{
	return af == AF_INET6 ? "IPv6" : "IPv4";
}

static int fam_of_name(struct svc_state *st, const char *name)
{
	for (int i = 0; i < st->nfam; i++)
		if (!strcmp(st->fam[i].name, name))
			return i;
	return -1;
}

static int fam_of_ip(struct svc_state *st, const char *ip, struct inet_addr *a)
{
	if (inet_addr_parse(ip, a))
		return -1;
	for (int i = 0; i < st->nfam; i++)
		if (st->fam[i].cidr.addr.family == a->family)
			return i;
	return -2;	/* a family the cluster doesn't have */
}

/* Addresses 0 (network) and 1 (the kubernetes Service) are never handed
 * out dynamically; for IPv4 neither is the broadcast address. */
static uint64_t fam_reserved_top(const struct ipfam *f)
{
	return f->cidr.addr.family == AF_INET ? 1 : 0;
}

/* Upstream's static band: user-chosen IPs live low, dynamic ones high. */
static uint64_t fam_static_band(const struct ipfam *f)
{
	uint64_t b = f->used.size / 16;

	return b < 16 ? 16 : b > 256 ? 256 : b;
}

static void mark_ips(struct svc_state *st, const cJSON *svc, bool v)
{
	const cJSON *ip;

	cJSON_ArrayForEach(ip, json_path(svc, "spec.clusterIPs")) {
		struct inet_addr a;
		uint64_t off;
		int f;

		if (!cJSON_IsString(ip) || (f = fam_of_ip(st, ip->valuestring, &a)) < 0)
			continue;
		if (!inet_prefix_offset(&st->fam[f].cidr, &a, &off))
			bm_set(&st->fam[f].used, off, v);
	}
}

static void mark_ports(struct svc_state *st, const cJSON *svc, bool v)
{
	const cJSON *p, *spec = json_get(svc, "spec");
	int64_t hc = json_get_int(spec, "healthCheckNodePort", 0);

	cJSON_ArrayForEach(p, json_get(spec, "ports")) {
		int64_t np = json_get_int(p, "nodePort", 0);

		if (np >= st->port_min && np <= st->port_max)
			bm_set(&st->ports, (uint64_t)(np - st->port_min), v);
	}
	if (hc >= st->port_min && hc <= st->port_max)
		bm_set(&st->ports, (uint64_t)(hc - st->port_min), v);
}

static void mark(struct svc_state *st, const cJSON *svc, bool v)
{
	mark_ips(st, svc, v);
	mark_ports(st, svc, v);
}

/* ---- keeping the bitmaps current ---- */

static void on_event(const struct sevent *ev, void *ud)
{
	struct svc_state *st = ud;
	cJSON *prev = ev->prev ? json_parse(ev->prev, ev->prev_len) : NULL;
	cJSON *now = ev->type == SEVENT_PUT ? json_parse(ev->value, ev->len) : NULL;

	if (prev)
		mark(st, prev, false);
	if (now)
		mark(st, now, true);
	cJSON_Delete(prev);
	cJSON_Delete(now);
}

static void on_error(int err, void *ud)
{
	struct svc_state *st = ud;

	st->watch = NULL;
	log_error("service allocation watch ended: %s", strerror(-err));
}

static int parse_cidrs(struct svc_state *st, const char *text, char **err)
{
	char *dup = xstrdup(text), *save = NULL;
	int ret = 0;

	snprintf(st->cidr_text, sizeof(st->cidr_text), "%s", text);
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct ipfam *f = &st->fam[st->nfam];
		unsigned host;

		if (st->nfam == 2 || inet_prefix_parse(t, INET_PREFIX_STRICT, &f->cidr)) {
			*err = xasprintf("invalid --service-cidr '%s': want one or two CIDRs, one per family", text);
			ret = -EINVAL;
			break;
		}
		if (st->nfam == 1 && f->cidr.addr.family == st->fam[0].cidr.addr.family) {
			*err = xasprintf("invalid --service-cidr '%s': two CIDRs of one family", text);
			ret = -EINVAL;
			break;
		}
		host = (unsigned)inet_family_len(f->cidr.addr.family) * 8 - f->cidr.len;
		if (host > SVC_CIDR_MAX_BITS)
			host = SVC_CIDR_MAX_BITS;
		if (host < 3) {
			*err = xasprintf("invalid --service-cidr '%s': %s is too small", text, t);
			ret = -EINVAL;
			break;
		}
		bm_init(&f->used, UINT64_C(1) << host);
		f->name = family_name(f->cidr.addr.family);
		{
			struct inet_addr a;

			inet_prefix_nth(&f->cidr, 1, &a);
			inet_addr_format(&a, f->first);
		}
		st->nfam++;
	}
	free(dup);
	if (!ret && !st->nfam) {
		*err = xasprintf("invalid --service-cidr '%s'", text);
		ret = -EINVAL;
	}
	return ret;
}

static int parse_port_range(struct svc_state *st, const char *text, char **err)
{
	int a, b, n = 0;

	if (sscanf(text, "%d-%d%n", &a, &b, &n) != 2 || text[n] || a < 1 || b > 65535 || a > b) {
		*err = xasprintf("invalid --service-node-port-range '%s': want FIRST-LAST, e.g. 30000-32767", text);
		return -EINVAL;
	}
	st->port_min = a;
	st->port_max = b;
	return 0;
}

int services_init(struct apiserver *s, char **err)
{
	static const struct swatch_cbs cbs = { on_event, on_error };
	struct svc_state *st = xcalloc(1, sizeof(*st));
	const struct api_resource *r = registry_find("", "v1", "services");
	char *prefix = api_key(r, "", "");
	struct slist l = { 0 };
	int ret;

	s->svc = st;
	ret = parse_cidrs(st, s->cfg->service_cidr, err);
	if (ret)
		goto out;
	if (parse_port_range(st, s->cfg->node_port_range ? s->cfg->node_port_range : NODEPORT_RANGE_DEFAULT, err)) {
		ret = -EINVAL;
		goto out;
	}
	bm_init(&st->ports, (uint64_t)(st->port_max - st->port_min + 1));
	ret = storage_list(s, prefix, 0, "", 0, &l);
	if (ret) {
		*err = xasprintf("cannot read services: %s", strerror(-ret));
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		cJSON *o = json_parse(l.items[i].value, l.items[i].len);

		if (o)
			mark(st, o, true);
		cJSON_Delete(o);
	}
	ret = storage_watch(s, prefix, l.rev, &cbs, st, &st->watch);
	if (ret)
		*err = xasprintf("cannot watch services: %s", strerror(-ret));
out:
	slist_release(&l);
	free(prefix);
	return ret;
}

const char *services_first_ip(struct apiserver *s)
{
	return s->svc->fam[0].first;
}

/* ---- admission ---- */

static struct svc_taken *taken_of(struct api_call *c)
{
	if (!c->svc_taken)
		c->svc_taken = xcalloc(1, sizeof(struct svc_taken));
	return c->svc_taken;
}

void services_write_done(struct api_call *c, int err)
{
	struct svc_taken *t = c->svc_taken;
	struct svc_state *st = c->srv->svc;

	if (!t)
		return;
	if (err || c->dry_run) {
		for (int i = 0; i < t->nips; i++)
			bm_set(&st->fam[t->ips[i].fam].used, t->ips[i].off, false);
		for (int i = 0; i < t->nports; i++)
			bm_set(&st->ports, (uint64_t)(t->ports[i] - st->port_min), false);
	}
	free(t);
	c->svc_taken = NULL;
}

static const char *policy_of(const cJSON *spec)
{
	return json_get_str(spec, "ipFamilyPolicy", NULL);
}

static bool is_headless(const cJSON *spec)
{
	const cJSON *ips = json_get(spec, "clusterIPs");
	const char *ip = json_get_str(spec, "clusterIP", NULL);

	if (cJSON_IsString(cJSON_GetArrayItem(ips, 0)))
		ip = cJSON_GetArrayItem(ips, 0)->valuestring;
	return ip && !strcmp(ip, "None");
}

/* Takes a requested IP of family f, or answers why not. */
static bool take_ip(struct svc_state *st, struct svc_taken *t, int f, const struct inet_addr *a,
		    const cJSON *shown, const char *field, struct api_error *e)
{
	char msg[256];
	uint64_t off;

	if (inet_prefix_offset(&st->fam[f].cidr, a, &off) || off >= st->fam[f].used.size ||
	    off == 0) {
		char cidr[INET_PREFIX_STRLEN];

		snprintf(msg, sizeof(msg),
			 "provided IP is not in the valid range. The range of valid IPs is %s",
			 inet_prefix_format(&st->fam[f].cidr, cidr));
		field_invalid(e, field, shown, msg);
		return false;
	}
	if (bm_get(&st->fam[f].used, off)) {
		field_invalid(e, field, shown, "provided IP is already allocated");
		return false;
	}
	bm_set(&st->fam[f].used, off, true);
	t->ips[t->nips].fam = f;
	t->ips[t->nips++].off = off;
	return true;
}

static bool alloc_ip(struct svc_state *st, struct svc_taken *t, int f, char out[INET_ADDR_STRLEN],
		     const char *field, struct api_error *e)
{
	struct ipfam *fam = &st->fam[f];
	uint64_t top = fam->used.size - fam_reserved_top(fam);
	int64_t i = bm_find_free(&fam->used, fam_static_band(fam), top);
	struct inet_addr a;

	if (i < 0)
		i = bm_find_free(&fam->used, 2, top);
	if (i < 0) {
		api_error_add_cause(e, "FieldValueInvalid", field,
				    "Internal error: failed to allocate a serviceIP: range is full");
		return false;
	}
	bm_set(&fam->used, (uint64_t)i, true);
	t->ips[t->nips].fam = f;
	t->ips[t->nips++].off = (uint64_t)i;
	inet_prefix_nth(&fam->cidr, (uint64_t)i, &a);
	inet_addr_format(&a, out);
	return true;
}

/* ipFamilyPolicy and ipFamilies, defaulted and checked. */
static void families(struct svc_state *st, cJSON *spec, const cJSON *old_spec, struct api_error *e)
{
	const char *policy = policy_of(spec);
	cJSON *fams = json_get(spec, "ipFamilies"), *ips = json_get(spec, "clusterIPs"), *it;
	bool headless = is_headless(spec);
	int i = 0;
	char field[64];

	if (!policy && old_spec)
		policy = policy_of(old_spec);
	if (!policy)
		policy = headless && !cJSON_GetArraySize(json_get(spec, "selector")) && st->nfam == 2 ?
			 "RequireDualStack" : "SingleStack";
	if (strcmp(policy, "SingleStack") && strcmp(policy, "PreferDualStack") &&
	    strcmp(policy, "RequireDualStack")) {
		static const char *const ok[] = { "SingleStack", "PreferDualStack", "RequireDualStack", NULL };

		field_not_supported(e, "spec.ipFamilyPolicy", policy, ok);
		return;
	}
	if (policy != json_get_str(spec, "ipFamilyPolicy", NULL))
		json_set_str(spec, "ipFamilyPolicy", policy);	/* (replacing frees the old string) */
	policy = json_get_str(spec, "ipFamilyPolicy", "");
	if (!strcmp(policy, "RequireDualStack") && st->nfam < 2) {
		field_invalid(e, "spec.ipFamilyPolicy", json_get(spec, "ipFamilyPolicy"),
			      "this cluster is not configured for dual-stack services");
		return;
	}
	if (!cJSON_IsArray(fams) || !cJSON_GetArraySize(fams)) {
		fams = cJSON_CreateArray();
		/* from the requested IPs, else the old families, else the cluster's primary */
		cJSON_ArrayForEach(it, ips) {
			struct inet_addr a;

			if (cJSON_IsString(it) && strcmp(it->valuestring, "None") && !inet_addr_parse(it->valuestring, &a))
				cJSON_AddItemToArray(fams, cJSON_CreateString(family_name(a.family)));
		}
		if (!cJSON_GetArraySize(fams) && old_spec && cJSON_GetArraySize(json_get(old_spec, "ipFamilies")))
			cJSON_AddItemToArray(fams, cJSON_Duplicate(cJSON_GetArrayItem(json_get(old_spec, "ipFamilies"), 0), 1));
		if (!cJSON_GetArraySize(fams))
			cJSON_AddItemToArray(fams, cJSON_CreateString(st->fam[0].name));
		json_set(spec, "ipFamilies", fams);
	}
	if (cJSON_GetArraySize(fams) > 2) {
		api_error_add_cause(e, "FieldValueTooMany", "spec.ipFamilies", "Too many: %d: must have at most 2 items",
				    cJSON_GetArraySize(fams));
		return;
	}
	cJSON_ArrayForEach(it, fams) {
		snprintf(field, sizeof(field), "spec.ipFamilies[%d]", i);
		if (!cJSON_IsString(it) || (strcmp(it->valuestring, "IPv4") && strcmp(it->valuestring, "IPv6"))) {
			static const char *const ok[] = { "IPv4", "IPv6", NULL };

			field_not_supported(e, field, cJSON_IsString(it) ? it->valuestring : "", ok);
		} else if (i == 1 && !strcmp(it->valuestring, cJSON_GetArrayItem(fams, 0)->valuestring)) {
			api_error_add_cause(e, "FieldValueDuplicate", field, "Duplicate value: \"%s\"", it->valuestring);
		} else if (fam_of_name(st, it->valuestring) < 0 && (i == 0 || !strcmp(policy, "RequireDualStack"))) {
			field_invalid(e, field, it, "not configured on this cluster");
		}
		i++;
	}
	if (e->ncauses)
		return;
	if (!strcmp(policy, "SingleStack") && (cJSON_GetArraySize(fams) > 1 || cJSON_GetArraySize(ips) > 1)) {
		if (old_spec && cJSON_GetArraySize(json_get(old_spec, "clusterIPs")) > 1 &&
		    cJSON_GetArraySize(ips) > 1 && json_equal(ips, json_get(old_spec, "clusterIPs"))) {
			/* a downgrade: keep the primary only */
			cJSON_DeleteItemFromArray(ips, 1);
			if (cJSON_GetArraySize(fams) > 1)
				cJSON_DeleteItemFromArray(fams, 1);
		} else if (cJSON_GetArraySize(fams) > 1 && old_spec &&
			   cJSON_GetArraySize(json_get(old_spec, "ipFamilies")) > 1 &&
			   json_equal(fams, json_get(old_spec, "ipFamilies"))) {
			cJSON_DeleteItemFromArray(fams, 1);
		} else {
			field_invalid(e, "spec.ipFamilyPolicy", json_get(spec, "ipFamilyPolicy"),
				      "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified");
			return;
		}
	}
	/* dual-stack policies on a dual-stack cluster get both families */
	if (strcmp(policy, "SingleStack") && st->nfam == 2 && cJSON_GetArraySize(fams) == 1) {
		int f = fam_of_name(st, cJSON_GetArrayItem(fams, 0)->valuestring);

		cJSON_AddItemToArray(fams, cJSON_CreateString(st->fam[f == 0 ? 1 : 0].name));
	}
}

static void cluster_ips(struct api_call *c, cJSON *spec, const cJSON *old_spec, struct api_error *e)
{
	struct svc_state *st = c->srv->svc;
	struct svc_taken *t = taken_of(c);
	cJSON *fams = json_get(spec, "ipFamilies"), *ips = json_get(spec, "clusterIPs"), *out;
	const cJSON *old_ips = json_get(old_spec, "clusterIPs");
	const char *one = json_get_str(spec, "clusterIP", NULL);
	char field[32];

	if (!cJSON_IsArray(ips) && one && *one) {
		ips = cJSON_CreateArray();
		cJSON_AddItemToArray(ips, cJSON_CreateString(one));
		json_set(spec, "clusterIPs", ips);
	}
	if (one && *one && cJSON_GetArraySize(ips) && cJSON_IsString(cJSON_GetArrayItem(ips, 0)) &&
	    strcmp(one, cJSON_GetArrayItem(ips, 0)->valuestring)) {
		field_invalid(e, "spec.clusterIPs[0]", cJSON_GetArrayItem(ips, 0),
			      "must match `clusterIP` when present");
		return;
	}
	if (is_headless(spec)) {
		json_set_str(spec, "clusterIP", "None");
		out = cJSON_CreateArray();
		cJSON_AddItemToArray(out, cJSON_CreateString("None"));
		json_set(spec, "clusterIPs", out);
		return;
	}
	out = cJSON_CreateArray();
	for (int i = 0; i < cJSON_GetArraySize(fams); i++) {
		const char *fname = cJSON_GetArrayItem(fams, i)->valuestring;
		int f = fam_of_name(st, fname);
		const cJSON *want = cJSON_GetArrayItem(ips, i), *had = cJSON_GetArrayItem(old_ips, i);
		char ip[INET_ADDR_STRLEN];
		struct inet_addr a;

		snprintf(field, sizeof(field), "spec.clusterIPs[%d]", i);
		if (f < 0)
			continue;	/* PreferDualStack on a family the cluster lacks */
		if (cJSON_IsString(want) && *want->valuestring) {
			int wf = fam_of_ip(st, want->valuestring, &a);

			if (wf < 0 || strcmp(family_name(a.family), fname)) {
				field_invalid(e, field, want, wf == -1 ? "must be a valid IP address" :
					      "expected an IP of the family listed in spec.ipFamilies");
				break;
			}
			if (!(cJSON_IsString(had) && !strcmp(had->valuestring, want->valuestring)) &&
			    !take_ip(st, t, f, &a, want, field, e))
				break;
			cJSON_AddItemToArray(out, cJSON_CreateString(want->valuestring));
		} else if (cJSON_IsString(had) && i < cJSON_GetArraySize(json_get(old_spec, "ipFamilies")) &&
			   !strcmp(cJSON_GetArrayItem(json_get(old_spec, "ipFamilies"), i)->valuestring, fname)) {
			cJSON_AddItemToArray(out, cJSON_CreateString(had->valuestring));
		} else {
			if (!alloc_ip(st, t, f, ip, field, e))
				break;
			cJSON_AddItemToArray(out, cJSON_CreateString(ip));
		}
	}
	if (old_spec && cJSON_GetArraySize(old_ips) && cJSON_GetArraySize(out) &&
	    !json_equal(cJSON_GetArrayItem(out, 0), cJSON_GetArrayItem(old_ips, 0)) &&
	    strcmp(cJSON_GetArrayItem(old_ips, 0)->valuestring, "None"))
		api_error_add_cause(e, "FieldValueInvalid", "spec.clusterIPs[0]",
				    "Invalid value: %s: may not change once set",
				    cJSON_GetArrayItem(out, 0)->valuestring);
	/* the families actually given IPs (PreferDualStack on one family) */
	while (cJSON_GetArraySize(fams) > cJSON_GetArraySize(out) && cJSON_GetArraySize(out))
		cJSON_DeleteItemFromArray(fams, cJSON_GetArraySize(fams) - 1);
	json_set(spec, "clusterIPs", out);
	if (cJSON_GetArraySize(out))
		json_set_str(spec, "clusterIP", cJSON_GetArrayItem(out, 0)->valuestring);
}

static const cJSON *old_port(const cJSON *old_spec, const cJSON *p)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, json_get(old_spec, "ports"))
		if (json_get_int(o, "port", 0) == json_get_int(p, "port", -1) &&
		    !strcmp(json_get_str(o, "protocol", "TCP"), json_get_str(p, "protocol", "TCP")))
			return o;
	return NULL;
}

static bool node_port(struct api_call *c, cJSON *obj, const char *key, int64_t had,
		      const char *field, struct api_error *e)
{
	struct svc_state *st = c->srv->svc;
	struct svc_taken *t = taken_of(c);
	int64_t np = json_get_int(obj, key, 0);
	char msg[128];

	if (np) {
		if (np < st->port_min || np > st->port_max) {
			snprintf(msg, sizeof(msg),
				 "provided port is not in the valid range. The range of valid ports is %d-%d",
				 st->port_min, st->port_max);
			field_invalid(e, field, json_get(obj, key), msg);
			return false;
		}
		if (np == had)
			return true;
		if (bm_get(&st->ports, (uint64_t)(np - st->port_min))) {
			field_invalid(e, field, json_get(obj, key), "provided port is already allocated");
			return false;
		}
	} else if (had) {
		np = had;
		json_set_int(obj, key, np);
		return true;
	} else {
		int64_t i = bm_find_free(&st->ports, 0, st->ports.size);

		if (i < 0) {
			api_error_add_cause(e, "FieldValueInvalid", field,
					    "Internal error: failed to allocate a nodePort: range is full");
			return false;
		}
		np = st->port_min + i;
		json_set_int(obj, key, np);
	}
	if (t->nports < TAKEN_MAX)
		t->ports[t->nports++] = (int)np;
	bm_set(&st->ports, (uint64_t)(np - st->port_min), true);
	return true;
}

static void node_ports(struct api_call *c, cJSON *spec, const cJSON *old_spec, struct api_error *e)
{
	const char *type = json_get_str(spec, "type", "ClusterIP");
	bool want = !strcmp(type, "NodePort") ||
		    (!strcmp(type, "LoadBalancer") && json_get_bool(spec, "allocateLoadBalancerNodePorts", true));
	cJSON *p;
	char field[48];
	int i = 0;

	cJSON_ArrayForEach(p, json_get(spec, "ports")) {
		const cJSON *o = old_port(old_spec, p);

		snprintf(field, sizeof(field), "spec.ports[%d].nodePort", i++);
		if (!want) {
			if (!strcmp(type, "LoadBalancer") && json_get(p, "nodePort"))
				node_port(c, p, "nodePort", json_get_int(o, "nodePort", 0), field, e);
			else
				cJSON_DeleteItemFromObjectCaseSensitive(p, "nodePort");
			continue;
		}
		if (!node_port(c, p, "nodePort", json_get_int(o, "nodePort", 0), field, e))
			return;
	}
	if (!strcmp(type, "LoadBalancer") &&
	    !strcmp(json_get_str(spec, "externalTrafficPolicy", "Cluster"), "Local"))
		node_port(c, spec, "healthCheckNodePort", json_get_int(old_spec, "healthCheckNodePort", 0),
			  "spec.healthCheckNodePort", e);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(spec, "healthCheckNodePort");
}

void services_admit(struct api_call *c, cJSON *svc, const cJSON *old, struct api_error *e)
{
	cJSON *spec = json_obj(svc, "spec");
	const cJSON *old_spec = json_get(old, "spec");
	const char *type = json_get_str(spec, "type", "ClusterIP");

	if (e->ncauses || !strcmp(c->route.sub, "status"))
		return;
	if (!strcmp(type, "ExternalName")) {
		static const char *const cleared[] = { "clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy" };

		for (size_t i = 0; i < ARRAY_SIZE(cleared); i++)
			cJSON_DeleteItemFromObjectCaseSensitive(spec, cleared[i]);
		return;
	}
	if (!json_get(spec, "internalTrafficPolicy"))
		json_set_str(spec, "internalTrafficPolicy", "Cluster");
	families(c->srv->svc, spec, old_spec, e);
	if (!e->ncauses)
		cluster_ips(c, spec, old_spec, e);
	if (!e->ncauses)
		node_ports(c, spec, old_spec, e);
	if (e->ncauses)
		services_write_done(c, -EINVAL);
}

cJSON *services_kubernetes(struct apiserver *s)
{
	struct svc_state *st = s->svc;
	cJSON *svc = cJSON_CreateObject(), *m = json_obj(svc, "metadata"), *spec = json_obj(svc, "spec");
	cJSON *ports = cJSON_CreateArray(), *p = cJSON_CreateObject(), *arr;

	json_set_str(svc, "apiVersion", "v1");
	json_set_str(svc, "kind", "Service");
	json_set_str(m, "name", "kubernetes");
	json_set_str(m, "namespace", "default");
	json_set_str(json_obj(m, "labels"), "component", "apiserver");
	json_set_str(json_obj(m, "labels"), "provider", "kubernetes");
	json_set_str(spec, "type", "ClusterIP");
	json_set_str(spec, "clusterIP", st->fam[0].first);
	arr = cJSON_CreateArray();
	cJSON_AddItemToArray(arr, cJSON_CreateString(st->fam[0].first));
	json_set(spec, "clusterIPs", arr);
	arr = cJSON_CreateArray();
	cJSON_AddItemToArray(arr, cJSON_CreateString(st->fam[0].name));
	json_set(spec, "ipFamilies", arr);
	json_set_str(spec, "ipFamilyPolicy", "SingleStack");
	json_set_str(spec, "sessionAffinity", "None");
	json_set_str(spec, "internalTrafficPolicy", "Cluster");
	json_set_str(p, "name", "https");
	json_set_int(p, "port", 443);
	json_set_str(p, "protocol", "TCP");
	json_set_int(p, "targetPort", s->cfg->https_port);
	cJSON_AddItemToArray(ports, p);
	json_set(spec, "ports", ports);
	json_obj(json_obj(svc, "status"), "loadBalancer");
	return svc;
}

void services_release(struct apiserver *s)
{
	struct svc_state *st = s->svc;

	if (!st)
		return;
	if (st->watch)
		storage_watch_cancel(st->watch);
	for (int i = 0; i < st->nfam; i++)
		free(st->fam[i].used.bits);
	free(st->ports.bits);
	free(st);
	s->svc = NULL;
}
