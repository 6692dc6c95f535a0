/*
 * server/admission.c - the mutating admission steps of pods and nodes on
 * create (see admission.h).
 */
#include "admission.h"
#include "lib/json.h"

#include <string.h>

/* upstream's check: a toleration with the key (or no key and Exists) and
 * the effect (or none) */
static bool tolerated(const cJSON *tols, const char *key, const char *effect)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, tols) {
		const char *k = json_get_str(t, "key", ""), *e = json_get_str(t, "effect", "");

		if ((!strcmp(k, key) || (!*k && !strcmp(json_get_str(t, "operator", ""), "Exists"))) &&
		    (!*e || !strcmp(e, effect)))
			return true;
	}
	return false;
}

static void add(cJSON *spec, const char *key, const char *effect, int64_t seconds)
{
	cJSON *tols = json_get(spec, "tolerations"), *t;

	if (tolerated(tols, key, effect))
		return;
	if (!cJSON_IsArray(tols)) {
		tols = cJSON_CreateArray();
		json_set(spec, "tolerations", tols);
	}
	t = cJSON_CreateObject();
	json_set_str(t, "key", key);
	json_set_str(t, "operator", "Exists");
	json_set_str(t, "effect", effect);
	if (seconds >= 0)
		json_set_int(t, "tolerationSeconds", seconds);
	cJSON_AddItemToArray(tols, t);
}

void admission_pod_tolerations(cJSON *pod)
{
	cJSON *spec = json_get(pod, "spec");

	if (!cJSON_IsObject(spec))
		return;
	add(spec, "node.kubernetes.io/not-ready", "NoExecute", ADMISSION_DEFAULT_TOLERATION_SECONDS);
	add(spec, "node.kubernetes.io/unreachable", "NoExecute", ADMISSION_DEFAULT_TOLERATION_SECONDS);
	if (strcmp(json_get_str(json_get(pod, "status"), "qosClass", "BestEffort"), "BestEffort"))
		add(spec, "node.kubernetes.io/memory-pressure", "NoSchedule", -1);
}

void admission_node_taints(cJSON *node)
{
	cJSON *spec = json_obj(node, "spec"), *taints = json_get(spec, "taints"), *t;

	cJSON_ArrayForEach(t, taints)
		if (!strcmp(json_get_str(t, "key", ""), "node.kubernetes.io/not-ready") &&
		    !strcmp(json_get_str(t, "effect", ""), "NoSchedule"))
			return;
	if (!cJSON_IsArray(taints)) {
		taints = cJSON_CreateArray();
		json_set(spec, "taints", taints);
	}
	t = cJSON_CreateObject();
	json_set_str(t, "key", "node.kubernetes.io/not-ready");
	json_set_str(t, "effect", "NoSchedule");
	cJSON_AddItemToArray(taints, t);
}
