/*
 * server/controllers/topology.c - topology hints of the EndpointSlice
 * controller (hints.forZones), after upstream's topologycache and
 * trafficdist packages.
 *
 * Modes, per Service:
 * - the annotation service.kubernetes.io/topology-mode: Auto (or the older
 *   service.kubernetes.io/topology-aware-hints: Auto) takes precedence:
 *   hints proportional to the allocatable CPU of each zone's Ready nodes
 *   (control-plane nodes excluded), bounded by the overload threshold (20%);
 *   every safeguard that drops them comes with a TopologyAwareHintsDisabled
 *   event carrying upstream's message;
 * - spec.trafficDistribution PreferClose (or PreferSameZone): each endpoint
 *   with a zone is hinted for its own zone;
 * - otherwise no hints.
 * Unlike upstream the allocation is recomputed from scratch at each
 * reconcile (endpoints sorted by pod name, so it is stable and writes only
 * happen when the result changes); upstream keeps earlier allocations of
 * unchanged slices.
 */
#include "ctrl_priv.h"
#include "lib/json.h"
#include "lib/quantity.h"
#include "lib/util.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define OVERLOAD 0.2
#define LABEL_ZONE "topology.kubernetes.io/zone"

/* upstream's event messages */
#define MSG_NO_ZONE "One or more endpoints do not have a zone specified"
#define MSG_NO_ALLOC "No hints allocated for zones"
#define MSG_ENABLED "Topology Aware Hints has been enabled"
#define MSG_DISABLED "Topology Aware Hints has been disabled"
#define MSG_NODE_INFO "Insufficient Node information: allocatable CPU or zone not specified on one or more nodes"
#define MSG_FEW_EPS "Insufficient number of endpoints"
#define MSG_OVERLOAD "Unable to allocate minimum required endpoints to each zone without exceeding overload threshold"

static bool auto_value(const char *v)
{
	return v && (!strcmp(v, "Auto") || !strcmp(v, "auto"));
}

enum eps_hint_mode eps_hint_mode(const cJSON *svc)
{
	const cJSON *ann = json_path(svc, "metadata.annotations");
	const char *mode = json_get_str(ann, "service.kubernetes.io/topology-mode", NULL);
	const char *td = json_get_str(json_get(svc, "spec"), "trafficDistribution", "");

	if (mode ? auto_value(mode) : auto_value(json_get_str(ann, "service.kubernetes.io/topology-aware-hints", NULL)))
		return EPS_HINTS_AUTO;
	if (!strcmp(td, "PreferClose") || !strcmp(td, "PreferSameZone"))
		return EPS_HINTS_PREFER_CLOSE;
	return EPS_HINTS_NONE;
}

void eps_topology_add_node(struct eps_topology *t, const cJSON *node)
{
	const cJSON *labels = json_path(node, "metadata.labels");
	const char *zone = json_get_str(labels, LABEL_ZONE, "");
	struct quantity q;
	int64_t milli = 0;
	size_t i;

	if (json_get(labels, "node-role.kubernetes.io/control-plane") ||
	    json_get(labels, "node-role.kubernetes.io/master") || !ctrl__ready(node) || t->bad)
		return;
	if (!quantity_from_json(json_path(node, "status.allocatable.cpu"), &q, NULL))
		milli = quantity_milli_value(&q);
	if (!*zone || milli <= 0 || strlen(zone) >= sizeof(t->zone[0])) {
		t->bad = true;
		return;
	}
	for (i = 0; i < t->n && strcmp(t->zone[i], zone); i++)
		;
	if (i == t->n) {
		if (t->n == EPS_MAX_ZONES) {
			t->bad = true;
			return;
		}
		snprintf(t->zone[t->n++], sizeof(t->zone[0]), "%s", zone);
	}
	t->cpu[i] += milli;
}

bool eps_topology_usable(const struct eps_topology *t)
{
	return !t->bad && t->n >= 2;
}

static void event(cJSON *events, const char *type, const char *reason, const char *msg,
		  const char *family)
{
	cJSON *e = cJSON_CreateObject();
	char *m = xasprintf("%s, addressType: %s", msg, family);

	json_set_str(e, "type", type);
	json_set_str(e, "reason", reason);
	json_set_str(e, "message", m);
	cJSON_AddItemToArray(events, e);
	free(m);
}

static void set_hint(cJSON *ep, const char *zone)
{
	cJSON *h = cJSON_CreateObject(), *z = cJSON_CreateArray(), *one = cJSON_CreateObject();

	json_set_str(one, "name", zone);
	cJSON_AddItemToArray(z, one);
	json_set(h, "forZones", z);
	json_set(ep, "hints", h);
}

static void clear_hints(cJSON *const *eps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(eps[i], "hints");
}

static bool ready(const cJSON *ep)
{
	return json_get_bool(json_get(ep, "conditions"), "ready", false);
}

static size_t zone_idx(const struct eps_topology *t, const char *z)
{
	size_t i;

	for (i = 0; i < t->n && strcmp(t->zone[i], z); i++)
		;
	return i;
}

/* The zone of the largest positive value (first on ties), or n. */
static size_t most(const double *v, size_t n)
{
	size_t best = n;

	for (size_t i = 0; i < n; i++)
		if (v[i] > 0 && (best == n || v[i] > v[best]))
			best = i;
	return best;
}

/* Minimum and desired endpoints per zone; NULL message when possible. */
static const char *allocate(const struct eps_topology *t, size_t total, double *desired,
			    char *buf, size_t len)
{
	int64_t cpu = 0;
	size_t remaining = total;

	if (!eps_topology_usable(t))
		return MSG_NODE_INFO;
	if (t->n > total) {
		snprintf(buf, len, "%s (%zu endpoints, %zu zones)", MSG_FEW_EPS, total, t->n);
		return buf;
	}
	for (size_t i = 0; i < t->n; i++)
		cpu += t->cpu[i];
	for (size_t i = 0; i < t->n; i++) {
		double want = (double)t->cpu[i] / (double)cpu * (double)total;
		size_t min = (size_t)ceil(want * (1 / (1 + OVERLOAD)));

		desired[i] = want > (double)min ? want : (double)min;
		if (min > remaining) {
			snprintf(buf, len, "%s (%zu endpoints, %zu zones)", MSG_OVERLOAD, total, t->n);
			return buf;
		}
		remaining -= min;
	}
	return NULL;
}

/* Moves hints from zones above their desired share to zones below it. */
static void redistribute(const struct eps_topology *t, cJSON *const *eps, size_t n,
			 const double *desired, size_t *alloc)
{
	double give_d[EPS_MAX_ZONES] = { 0 }, take_d[EPS_MAX_ZONES] = { 0 };
	int give[EPS_MAX_ZONES] = { 0 }, take[EPS_MAX_ZONES] = { 0 };

	for (size_t z = 0; z < t->n; z++) {
		if ((double)alloc[z] > desired[z])
			give_d[z] = (double)alloc[z] - desired[z];
		else
			take_d[z] = desired[z] - (double)alloc[z];
	}
	for (;;) {	/* whole endpoints from the precise shares */
		size_t g = most(give_d, t->n), r = most(take_d, t->n);

		if (g == t->n || r == t->n || (give_d[g] < 1.0 && take_d[r] < 1.0) || give_d[g] < 0.5 ||
		    take_d[r] < 0.5)
			break;
		give[g]++, give_d[g]--, take[r]++, take_d[r]--;
	}
	for (size_t i = 0; i < n; i++) {
		size_t g, r;

		if (!ready(eps[i]))
			continue;
		g = zone_idx(t, json_get_str(eps[i], "zone", ""));
		if (g == t->n || give[g] <= 0)
			continue;
		for (r = 0; r < t->n && take[r] <= 0; r++)
			;
		if (r == t->n)
			break;
		set_hint(eps[i], t->zone[r]);
		give[g]--, take[r]--, alloc[g]--, alloc[r]++;
	}
}

static void hints_auto(const struct eps_topology *t, cJSON *const *eps, size_t n, bool prev,
		       const char *family, cJSON *events)
{
	double desired[EPS_MAX_ZONES] = { 0 };
	size_t alloc[EPS_MAX_ZONES] = { 0 }, total = 0, any = 0;
	char buf[256];
	const char *why;

	for (size_t i = 0; i < n; i++)
		total += ready(eps[i]);
	why = allocate(t, total, desired, buf, sizeof(buf));
	if (why) {
		event(events, "Warning", "TopologyAwareHintsDisabled", why, family);
		clear_hints(eps, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {	/* 1. each ready endpoint for its own zone */
		const char *zone = json_get_str(eps[i], "zone", "");
		size_t z;

		cJSON_DeleteItemFromObjectCaseSensitive(eps[i], "hints");
		if (!ready(eps[i]))
			continue;
		if (!*zone) {
			event(events, "Warning", "TopologyAwareHintsDisabled", MSG_NO_ZONE, family);
			clear_hints(eps, n);
			return;
		}
		z = zone_idx(t, zone);
		if (z < t->n)
			alloc[z]++;
		set_hint(eps[i], zone);
	}
	redistribute(t, eps, n, desired, alloc);	/* 2. and 3. */
	for (size_t z = 0; z < t->n; z++)
		any += alloc[z];
	if (!any) {
		event(events, "Warning", "TopologyAwareHintsDisabled", MSG_NO_ALLOC, family);
		clear_hints(eps, n);
		return;
	}
	if (!prev)
		event(events, "Normal", "TopologyAwareHintsEnabled", MSG_ENABLED, family);
}

void eps_hints_apply(const cJSON *svc, const char *family, const struct eps_topology *t,
		     cJSON *const *eps, size_t n, bool prev, cJSON *events)
{
	switch (eps_hint_mode(svc)) {
	case EPS_HINTS_AUTO:
		hints_auto(t, eps, n, prev, family, events);
		break;
	case EPS_HINTS_PREFER_CLOSE:
		for (size_t i = 0; i < n; i++) {
			const char *zone = json_get_str(eps[i], "zone", "");

			if (*zone)
				set_hint(eps[i], zone);
			else
				cJSON_DeleteItemFromObjectCaseSensitive(eps[i], "hints");
		}
		break;
	case EPS_HINTS_NONE:
		if (prev)
			event(events, "Warning", "TopologyAwareHintsDisabled", MSG_DISABLED, family);
		clear_hints(eps, n);
		break;
	}
}
