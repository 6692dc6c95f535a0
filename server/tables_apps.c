/* Printers of apps, batch, autoscaling and policy resources (and RCs). */
#include "tables_priv.h"
#include "convert.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *ratio(long long a, long long b)
{
	char out[48];

	snprintf(out, sizeof(out), "%lld/%lld", a, b);
	return cJSON_CreateString(out);
}

static cJSON *c_tmpl_names(const cJSON *o, int64_t now) { (void)now; return table__containers(o, "spec.template.spec.containers", "name"); }
static cJSON *c_tmpl_images(const cJSON *o, int64_t now) { (void)now; return table__containers(o, "spec.template.spec.containers", "image"); }
static cJSON *c_selector(const cJSON *o, int64_t now) { (void)now; return table__selector_cell(o, "spec.selector"); }

/* ---- deployments, replica sets, replication controllers ---- */

static cJSON *c_deploy_ready(const cJSON *o, int64_t now)
{
	(void)now;
	return ratio(json_get_int(json_get(o, "status"), "readyReplicas", 0),
		     json_get_int(json_get(o, "spec"), "replicas", 1));
}
static cJSON *c_updated(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "status.updatedReplicas"); }
static cJSON *c_available(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "status.availableReplicas"); }
static cJSON *c_deploy_selector(const cJSON *o, int64_t now)
{
	struct buf b = BUF_INIT;

	(void)now;
	table__fmt_selector(&b, json_path(o, "spec.selector"));
	return table__buf_cell(&b, "");
}
static const struct table_col deploy_cols[] = {
	COL_NAME,
	{ "Ready", "string", "", "Number of the pod with ready state", 0, c_deploy_ready },
	{ "Up-to-date", "string", "", "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", 0, c_updated },
	{ "Available", "string", "", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", 0, c_available },
	COL_AGE, COL_CONTAINERS(c_tmpl_names), COL_IMAGES(c_tmpl_images), COL_SELECTOR(c_deploy_selector),
};

/* spec.replicas defaults to 1 (absent only if defaulting was skipped). */
static cJSON *c_desired(const cJSON *o, int64_t now)
{
	(void)now;
	return cJSON_CreateNumber((double)json_get_int(json_get(o, "spec"), "replicas", 1));
}
static cJSON *c_current(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "status.replicas"); }
static cJSON *c_ready_n(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "status.readyReplicas"); }
static const struct table_col rs_cols[] = {
	COL_NAME,
	{ "Desired", "integer", "", "Replicas is the number of desired pods.", 0, c_desired },
	{ "Current", "integer", "", "Replicas is the most recently observed number of non-terminating pods.", 0, c_current },
	{ "Ready", "integer", "", "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.", 0, c_ready_n },
	COL_AGE, COL_CONTAINERS(c_tmpl_names), COL_IMAGES(c_tmpl_images), COL_SELECTOR(c_selector),
};
static cJSON *c_rc_selector(const cJSON *o, int64_t now)
{
	struct buf b = BUF_INIT;

	(void)now;
	table__fmt_labels(&b, json_path(o, "spec.selector"));
	return table__buf_cell(&b, "<none>");
}
static const struct table_col rc_cols[] = {
	COL_NAME,
	{ "Desired", "integer", "", "Replicas is the number of desired replicas.", 0, c_desired },
	{ "Current", "integer", "", "Replicas is the most recently observed number of replicas.", 0, c_current },
	{ "Ready", "integer", "", "The number of ready replicas for this replication controller.", 0, c_ready_n },
	COL_AGE, COL_CONTAINERS(c_tmpl_names), COL_IMAGES(c_tmpl_images), COL_SELECTOR(c_rc_selector),
};

/* ---- daemon sets, stateful sets, controller revisions ---- */

static cJSON *c_ds_desired(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "status.desiredNumberScheduled"); }
static cJSON *c_ds_current(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "status.currentNumberScheduled"); }
static cJSON *c_ds_ready(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "status.numberReady"); }
static cJSON *c_ds_updated(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "status.updatedNumberScheduled"); }
static cJSON *c_ds_avail(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "status.numberAvailable"); }
static cJSON *c_ds_nodesel(const cJSON *o, int64_t now)
{
	struct buf b = BUF_INIT;

	(void)now;
	table__fmt_labels(&b, json_path(o, "spec.template.spec.nodeSelector"));
	return table__buf_cell(&b, "<none>");
}
static const struct table_col ds_cols[] = {
	COL_NAME,
	{ "Desired", "integer", "", "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).", 0, c_ds_desired },
	{ "Current", "integer", "", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.", 0, c_ds_current },
	{ "Ready", "integer", "", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.", 0, c_ds_ready },
	{ "Up-to-date", "integer", "", "The total number of nodes that are running updated daemon pod", 0, c_ds_updated },
	{ "Available", "integer", "", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)", 0, c_ds_avail },
	{ "Node Selector", "string", "", "NodeSelector is a selector which must be true for the pod to fit on a node.", 0, c_ds_nodesel },
	COL_AGE, COL_CONTAINERS(c_tmpl_names), COL_IMAGES(c_tmpl_images), COL_SELECTOR(c_selector),
};

static const struct table_col sts_cols[] = {
	COL_NAME,
	{ "Ready", "string", "", "Number of the pod with ready state", 0, c_deploy_ready },
	COL_AGE, COL_CONTAINERS(c_tmpl_names), COL_IMAGES(c_tmpl_images),
};

/* formatResourceName of the controller owner: "statefulset.apps/web". */
static cJSON *c_cr_controller(const cJSON *o, int64_t now)
{
	const cJSON *ref;

	(void)now;
	cJSON_ArrayForEach(ref, json_path(o, "metadata.ownerReferences")) {
		const char *av = json_get_str(ref, "apiVersion", ""), *slash = strchr(av, '/');
		char *s;
		cJSON *r;

		if (!json_get_bool(ref, "controller", false))
			continue;
		if (slash)
			s = xasprintf("%s.%.*s/%s", json_get_str(ref, "kind", ""), (int)(slash - av), av,
				      json_get_str(ref, "name", ""));
		else
			s = xasprintf("%s/%s", json_get_str(ref, "kind", ""), json_get_str(ref, "name", ""));
		for (char *p = s; *p && *p != '/'; p++)
			*p = (char)tolower((unsigned char)*p);
		r = cJSON_CreateString(s);
		free(s);
		return r;
	}
	return cJSON_CreateString("<none>");
}
static cJSON *c_cr_revision(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "revision"); }
static const struct table_col cr_cols[] = {
	COL_NAME,
	{ "Controller", "string", "", "Controller of the object", 0, c_cr_controller },
	{ "Revision", "string", "", "Revision indicates the revision of the state represented by Data.", 0, c_cr_revision },
	COL_AGE,
};

/* ---- jobs, cron jobs ---- */

static cJSON *c_job_status(const cJSON *o, int64_t now)
{
	static const char *const conds[] = { "Complete", "Failed", NULL, "Suspended", "FailureTarget",
					     "SuccessCriteriaMet" };

	(void)now;
	for (size_t i = 0; i < ARRAY_SIZE(conds); i++) {
		if (!conds[i] && json_path(o, "metadata.deletionTimestamp"))
			return cJSON_CreateString("Terminating");
		if (conds[i] && table__cond_true(o, "status.conditions", conds[i]))
			return cJSON_CreateString(conds[i]);
	}
	return cJSON_CreateString("Running");
}
static cJSON *c_job_completions(const cJSON *o, int64_t now)
{
	const cJSON *spec = json_get(o, "spec"), *comp = json_get(spec, "completions");
	long long ok = json_get_int(json_get(o, "status"), "succeeded", 0);
	long long par = json_get_int(spec, "parallelism", 0);
	char out[64];

	(void)now;
	if (cJSON_IsNumber(comp))
		snprintf(out, sizeof(out), "%lld/%lld", ok, (long long)comp->valuedouble);
	else if (par > 1)
		snprintf(out, sizeof(out), "%lld/1 of %lld", ok, par);
	else
		snprintf(out, sizeof(out), "%lld/1", ok);
	return cJSON_CreateString(out);
}
static cJSON *c_job_duration(const cJSON *o, int64_t now)
{
	int64_t start, end = now;
	char out[32] = "";

	if (table__time(o, "status.startTime", &start)) {
		table__time(o, "status.completionTime", &end);
		table_human_duration(end - start, out, sizeof(out));
	}
	return cJSON_CreateString(out);
}
static const struct table_col job_cols[] = {
	COL_NAME,
	{ "Status", "string", "", "Status of the job.", 0, c_job_status },
	{ "Completions", "string", "", "The number of pods which reached phase Succeeded.", 0, c_job_completions },
	{ "Duration", "string", "", "Time required to complete the job.", 0, c_job_duration },
	COL_AGE, COL_CONTAINERS(c_tmpl_names), COL_IMAGES(c_tmpl_images), COL_SELECTOR(c_selector),
};

static cJSON *c_cj_schedule(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.schedule", ""); }
static cJSON *c_cj_tz(const cJSON *o, int64_t now)
{
	const char *tz = table__gets(o, "spec.timeZone");

	(void)now;
	return cJSON_CreateString(tz ? tz : "<none>");
}
static cJSON *c_cj_suspend(const cJSON *o, int64_t now)
{
	const cJSON *s = json_path(o, "spec.suspend");

	(void)now;
	return cJSON_CreateString(!cJSON_IsBool(s) ? "<unset>" : cJSON_IsTrue(s) ? "True" : "False");
}
static cJSON *c_cj_active(const cJSON *o, int64_t now) { (void)now; return cJSON_CreateNumber(table__count(o, "status.active")); }
static cJSON *c_cj_last(const cJSON *o, int64_t now)
{
	const cJSON *t = json_path(o, "status.lastScheduleTime");

	return cJSON_IsString(t) ? table__since(t, now) : cJSON_CreateString("<none>");
}
static cJSON *c_cj_names(const cJSON *o, int64_t now) { (void)now; return table__containers(o, "spec.jobTemplate.spec.template.spec.containers", "name"); }
static cJSON *c_cj_images(const cJSON *o, int64_t now) { (void)now; return table__containers(o, "spec.jobTemplate.spec.template.spec.containers", "image"); }
static cJSON *c_cj_selector(const cJSON *o, int64_t now) { (void)now; return table__selector_cell(o, "spec.jobTemplate.spec.selector"); }
static const struct table_col cj_cols[] = {
	COL_NAME,
	{ "Schedule", "string", "", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.", 0, c_cj_schedule },
	{ "Timezone", "string", "", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.", 0, c_cj_tz },
	{ "Suspend", "boolean", "", "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.", 0, c_cj_suspend },
	{ "Active", "integer", "", "A list of pointers to currently running jobs.", 0, c_cj_active },
	{ "Last Schedule", "string", "", "Information when was the last time the job was successfully scheduled.", 0, c_cj_last },
	COL_AGE, COL_CONTAINERS(c_cj_names), COL_IMAGES(c_cj_images), COL_SELECTOR(c_cj_selector),
};

/* ---- horizontal pod autoscalers (v2 shape; v1 objects are converted) ---- */

static const char *qty_or(const cJSON *v, char *tmp, size_t len, const char *fallback)
{
	const char *q = table__qty(v, tmp, len);

	return q ? q : fallback;
}

/* One entry of formatHPAMetrics for spec (type t) and its status st. */
static void hpa_metric(struct buf *b, const char *t, const cJSON *spec, const cJSON *st)
{
	static const char *const keys[][2] = {
		{ "External", "external" }, { "Pods", "pods" }, { "Object", "object" },
		{ "Resource", "resource" }, { "ContainerResource", "containerResource" },
	};
	const cJSON *src = NULL, *tgt, *cur = NULL;
	char c1[40], c2[40];
	size_t k;

	for (k = 0; k < ARRAY_SIZE(keys) && strcmp(keys[k][0], t); k++)
		;
	if (k == ARRAY_SIZE(keys) || !(src = json_get(spec, keys[k][1]))) {
		buf_addstr(b, "<unknown type>");
		return;
	}
	tgt = json_get(src, "target");
	if (json_get(st, keys[k][1]))
		cur = json_path(json_get(st, keys[k][1]), "current");
	if (k >= 3) {	/* Resource, ContainerResource: "cpu: 50%/80%" */
		const char *name = json_get_str(src, "name", "");
		const cJSON *u = json_get(cur, "averageUtilization"), *tu = json_get(tgt, "averageUtilization");

		if (json_get(tgt, "averageValue")) {
			buf_addf(b, "%s: %s/%s", name,
				 qty_or(cur ? json_get(cur, "averageValue") : NULL, c1, sizeof(c1), "<unknown>"),
				 qty_or(json_get(tgt, "averageValue"), c2, sizeof(c2), "<nil>"));
			return;
		}
		buf_addf(b, "%s: ", name);
		cJSON_IsNumber(u) ? buf_addf(b, "%d%%", u->valueint) : buf_addstr(b, "<unknown>");
		cJSON_IsNumber(tu) ? buf_addf(b, "/%d%%", tu->valueint) : buf_addstr(b, "/<auto>");
	} else if (k == 1 || !json_get(tgt, "averageValue")) {	/* Pods, or a Value target */
		const char *f = k == 1 ? "averageValue" : "value";

		buf_addf(b, "%s/%s", qty_or(json_get(cur, f), c1, sizeof(c1), "<unknown>"),
			 qty_or(json_get(tgt, f), c2, sizeof(c2), "<nil>"));
	} else {
		buf_addf(b, "%s/%s (avg)", qty_or(json_get(cur, "averageValue"), c1, sizeof(c1), "<unknown>"),
			 qty_or(json_get(tgt, "averageValue"), c2, sizeof(c2), "<nil>"));
	}
}

static cJSON *hpa_targets(const cJSON *o)
{
	const cJSON *specs = json_path(o, "spec.metrics"), *sts = json_path(o, "status.currentMetrics"), *m;
	struct buf b = BUF_INIT;
	int i = 0, n = cJSON_GetArraySize(specs);

	if (!n)
		return cJSON_CreateString("<none>");
	cJSON_ArrayForEach(m, specs) {
		if (i == 2)
			break;
		if (i)
			buf_addstr(&b, ", ");
		hpa_metric(&b, json_get_str(m, "type", ""), m, cJSON_GetArrayItem(sts, i));
		i++;
	}
	if (n > 2)
		buf_addf(&b, " + %d more...", n - 2);
	return table__buf_cell(&b, "");
}

static cJSON *c_hpa_targets(const cJSON *o, int64_t now)
{
	cJSON *v2, *r;

	(void)now;
	if (strcmp(json_get_str(o, "apiVersion", ""), "autoscaling/v1"))
		return hpa_targets(o);
	v2 = cJSON_Duplicate(o, 1);
	r = convert_object(v2, "autoscaling", "v2") ? cJSON_CreateString("<unknown>") : hpa_targets(v2);
	cJSON_Delete(v2);
	return r;
}
static cJSON *c_hpa_ref(const cJSON *o, int64_t now)
{
	const cJSON *ref = json_path(o, "spec.scaleTargetRef");
	char *s = xasprintf("%s/%s", json_get_str(ref, "kind", ""), json_get_str(ref, "name", ""));
	cJSON *r = cJSON_CreateString(s);

	(void)now;
	free(s);
	return r;
}
static cJSON *c_hpa_min(const cJSON *o, int64_t now)
{
	const cJSON *m = json_path(o, "spec.minReplicas");
	char out[32];

	(void)now;
	if (!cJSON_IsNumber(m))
		return cJSON_CreateString("<unset>");
	snprintf(out, sizeof(out), "%lld", (long long)m->valuedouble);
	return cJSON_CreateString(out);
}
static cJSON *c_hpa_max(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "spec.maxReplicas"); }
static cJSON *c_hpa_replicas(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "status.currentReplicas"); }
static const struct table_col hpa_cols[] = {
	COL_NAME,
	{ "Reference", "string", "", "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.", 0, c_hpa_ref },
	{ "Targets", "string", "", "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).", 0, c_hpa_targets },
	{ "MinPods", "string", "", "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.", 0, c_hpa_min },
	{ "MaxPods", "string", "", "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.", 0, c_hpa_max },
	{ "Replicas", "string", "", "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.", 0, c_hpa_replicas },
	COL_AGE,
};

/* ---- pod disruption budgets ---- */

static cJSON *intstr(const cJSON *o, const char *path)
{
	const cJSON *v = json_path(o, path);
	char out[32];

	if (cJSON_IsString(v))
		return cJSON_CreateString(v->valuestring);
	if (!cJSON_IsNumber(v))
		return cJSON_CreateString("N/A");
	snprintf(out, sizeof(out), "%lld", (long long)v->valuedouble);
	return cJSON_CreateString(out);
}
static cJSON *c_pdb_min(const cJSON *o, int64_t now) { (void)now; return intstr(o, "spec.minAvailable"); }
static cJSON *c_pdb_max(const cJSON *o, int64_t now) { (void)now; return intstr(o, "spec.maxUnavailable"); }
static cJSON *c_pdb_allowed(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "status.disruptionsAllowed"); }
static const struct table_col pdb_cols[] = {
	COL_NAME,
	{ "Min Available", "string", "", "The minimum number of pods that must be available.", 0, c_pdb_min },
	{ "Max Unavailable", "string", "", "The maximum number of pods that may be unavailable.", 0, c_pdb_max },
	{ "Allowed Disruptions", "integer", "", "Calculated number of pods that may be disrupted at this time.", 0, c_pdb_allowed },
	COL_AGE,
};

const struct table_printer table__apps_printers[] = {
	PRINTER("apps", "deployments", deploy_cols),
	PRINTER("apps", "replicasets", rs_cols),
	PRINTER("", "replicationcontrollers", rc_cols),
	PRINTER("apps", "daemonsets", ds_cols),
	PRINTER("apps", "statefulsets", sts_cols),
	PRINTER("apps", "controllerrevisions", cr_cols),
	PRINTER("batch", "jobs", job_cols),
	PRINTER("batch", "cronjobs", cj_cols),
	PRINTER("autoscaling", "horizontalpodautoscalers", hpa_cols),
	PRINTER("policy", "poddisruptionbudgets", pdb_cols),
};
const size_t table__apps_nprinters = ARRAY_SIZE(table__apps_printers);
