#include "tables.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void table_human_duration(int64_t ns, char *out, size_t len)
{
	int64_t s = ns / 1000000000, m, h;

	if (s < -1) {
		snprintf(out, len, "<invalid>");
		return;
	}
	if (s < 0)
		s = 0;
	m = s / 60;
	h = s / 3600;
	if (s < 120)
		snprintf(out, len, "%llds", (long long)s);
	else if (m < 10)
		s % 60 ? snprintf(out, len, "%lldm%llds", (long long)m, (long long)(s % 60))
		       : snprintf(out, len, "%lldm", (long long)m);
	else if (m < 180)
		snprintf(out, len, "%lldm", (long long)m);
	else if (h < 8)
		m % 60 ? snprintf(out, len, "%lldh%lldm", (long long)h, (long long)(m % 60))
		       : snprintf(out, len, "%lldh", (long long)h);
	else if (h < 48)
		snprintf(out, len, "%lldh", (long long)h);
	else if (h < 24 * 8)
		h % 24 ? snprintf(out, len, "%lldd%lldh", (long long)(h / 24), (long long)(h % 24))
		       : snprintf(out, len, "%lldd", (long long)(h / 24));
	else if (h < 24 * 365 * 2)
		snprintf(out, len, "%lldd", (long long)(h / 24));
	else if (h < 24 * 365 * 8)
		(h / 24) % 365 ? snprintf(out, len, "%lldy%lldd", (long long)(h / 24 / 365),
					  (long long)((h / 24) % 365))
			       : snprintf(out, len, "%lldy", (long long)(h / 24 / 365));
	else
		snprintf(out, len, "%lldy", (long long)(h / 24 / 365));
}

/* ---- cell helpers ---- */

static cJSON *str_or(const char *s, const char *fallback)
{
	return cJSON_CreateString(s && *s ? s : fallback);
}

static cJSON *path_str(const cJSON *o, const char *path, const char *fallback)
{
	const cJSON *v = json_path(o, path);

	return str_or(cJSON_IsString(v) ? v->valuestring : NULL, fallback);
}

static cJSON *age_of(const cJSON *o, const char *path, int64_t now)
{
	const cJSON *v = json_path(o, path);
	char out[32];
	int64_t t;

	if (!cJSON_IsString(v) || rfc3339_parse(v->valuestring, &t))
		return cJSON_CreateString("<unknown>");
	table_human_duration(now - t, out, sizeof(out));
	return cJSON_CreateString(out);
}

static cJSON *count_of(const cJSON *o, const char *path)
{
	const cJSON *v = json_path(o, path);

	return cJSON_CreateNumber(v ? cJSON_GetArraySize(v) : 0);
}

static cJSON *int_of(const cJSON *o, const char *path)
{
	const cJSON *v = json_path(o, path);

	return cJSON_CreateNumber(cJSON_IsNumber(v) ? v->valuedouble : 0);
}

static cJSON *join_strs(const cJSON *arr, const char *field, const char *fallback)
{
	struct buf b = BUF_INIT;
	const cJSON *it;
	cJSON *r;

	cJSON_ArrayForEach(it, arr) {
		const char *s = field ? json_get_str(it, field, NULL)
				      : (cJSON_IsString(it) ? it->valuestring : NULL);

		if (s)
			buf_addf(&b, "%s%s", b.len ? "," : "", s);
	}
	r = str_or(b.data, fallback);
	buf_release(&b);
	return r;
}

static cJSON *c_name(const cJSON *o, int64_t now) { (void)now; return path_str(o, "metadata.name", ""); }
static cJSON *c_age(const cJSON *o, int64_t now) { return age_of(o, "metadata.creationTimestamp", now); }
static cJSON *c_created(const cJSON *o, int64_t now) { (void)now; return path_str(o, "metadata.creationTimestamp", ""); }

#define COL_NAME { "Name", "string", "name", "Name must be unique within a namespace.", 0, c_name }
#define COL_AGE { "Age", "string", "", "Time since the object was created.", 0, c_age }

/* ---- namespaces, configmaps, secrets, serviceaccounts ---- */

static cJSON *c_ns_status(const cJSON *o, int64_t now) { (void)now; return path_str(o, "status.phase", ""); }
static cJSON *c_data_count(const cJSON *o, int64_t now)
{
	const cJSON *d = json_get(o, "data"), *bd = json_get(o, "binaryData");

	(void)now;
	return cJSON_CreateNumber(cJSON_GetArraySize(d) + cJSON_GetArraySize(bd));
}
static cJSON *c_secret_type(const cJSON *o, int64_t now) { (void)now; return path_str(o, "type", ""); }
static cJSON *c_sa_secrets(const cJSON *o, int64_t now) { (void)now; return count_of(o, "secrets"); }

static const struct table_col ns_cols[] = {
	COL_NAME, { "Status", "string", "", "The status of the namespace", 0, c_ns_status }, COL_AGE,
};
static const struct table_col cm_cols[] = {
	COL_NAME, { "Data", "string", "", "Number of keys", 0, c_data_count }, COL_AGE,
};
static const struct table_col secret_cols[] = {
	COL_NAME, { "Type", "string", "", "The type of the secret", 0, c_secret_type },
	{ "Data", "string", "", "Number of keys", 0, c_data_count }, COL_AGE,
};
static const struct table_col sa_cols[] = {
	COL_NAME, { "Secrets", "string", "", "Number of secrets", 0, c_sa_secrets }, COL_AGE,
};

/* ---- pods ---- */

static const char *pod_reason(const cJSON *o, int *ready, int *total, int64_t *restarts)
{
	static char buf[64];
	const char *reason = json_get_str(json_get(o, "status"), "phase", "");
	const cJSON *st = json_get(o, "status"), *cs, *it;
	int has_running = 0, n = 0;

	if (json_get_str(st, "reason", NULL))
		reason = json_get_str(st, "reason", NULL);
	*ready = 0;
	*restarts = 0;
	*total = cJSON_GetArraySize(json_path(o, "spec.containers"));
	cs = json_get(st, "containerStatuses");
	n = cJSON_GetArraySize(cs);
	for (int i = n - 1; i >= 0; i--) {
		const cJSON *state;

		it = cJSON_GetArrayItem(cs, i);
		*restarts += json_get_int(it, "restartCount", 0);
		state = json_get(it, "state");
		if (json_get_str(json_get(state, "waiting"), "reason", NULL)) {
			reason = json_get_str(json_get(state, "waiting"), "reason", NULL);
		} else if (json_get(state, "terminated")) {
			const cJSON *t = json_get(state, "terminated");

			if (json_get_str(t, "reason", NULL))
				reason = json_get_str(t, "reason", NULL);
			else if (json_get_int(t, "signal", 0)) {
				snprintf(buf, sizeof(buf), "Signal:%lld", (long long)json_get_int(t, "signal", 0));
				reason = buf;
			} else {
				snprintf(buf, sizeof(buf), "ExitCode:%lld", (long long)json_get_int(t, "exitCode", 0));
				reason = buf;
			}
		} else if (json_get_bool(it, "ready", false) && json_get(state, "running")) {
			has_running = 1;
			(*ready)++;
		}
	}
	if (!strcmp(reason, "Completed") && has_running) {
		const cJSON *c;
		int pod_ready = 0;

		cJSON_ArrayForEach(c, json_get(st, "conditions"))
			if (!strcmp(json_get_str(c, "type", ""), "Ready") &&
			    !strcmp(json_get_str(c, "status", ""), "True"))
				pod_ready = 1;
		reason = pod_ready ? "Running" : "NotReady";
	}
	if (json_path(o, "metadata.deletionTimestamp"))
		reason = !strcmp(json_get_str(st, "reason", ""), "NodeLost") ? "Unknown" : "Terminating";
	if (!*reason)
		reason = "Pending";
	return reason;
}

static cJSON *c_pod_ready(const cJSON *o, int64_t now)
{
	int ready, total;
	int64_t r;
	char out[32];

	(void)now;
	pod_reason(o, &ready, &total, &r);
	snprintf(out, sizeof(out), "%d/%d", ready, total);
	return cJSON_CreateString(out);
}

static cJSON *c_pod_status(const cJSON *o, int64_t now)
{
	int ready, total;
	int64_t r;

	(void)now;
	return cJSON_CreateString(pod_reason(o, &ready, &total, &r));
}

static cJSON *c_pod_restarts(const cJSON *o, int64_t now)
{
	int ready, total;
	int64_t r;
	const cJSON *it, *last = NULL;
	char out[64], age[32];
	int64_t t, best = 0;

	pod_reason(o, &ready, &total, &r);
	cJSON_ArrayForEach(it, json_path(o, "status.containerStatuses")) {
		const cJSON *f = json_path(it, "lastState.terminated.finishedAt");

		if (cJSON_IsString(f) && !rfc3339_parse(f->valuestring, &t) && t > best) {
			best = t;
			last = f;
		}
	}
	if (r && last) {
		table_human_duration(now - best, age, sizeof(age));
		snprintf(out, sizeof(out), "%lld (%s ago)", (long long)r, age);
	} else {
		snprintf(out, sizeof(out), "%lld", (long long)r);
	}
	return cJSON_CreateString(out);
}

static cJSON *c_pod_ip(const cJSON *o, int64_t now) { (void)now; return path_str(o, "status.podIP", "<none>"); }
static cJSON *c_pod_node(const cJSON *o, int64_t now) { (void)now; return path_str(o, "spec.nodeName", "<none>"); }
static cJSON *c_pod_nominated(const cJSON *o, int64_t now) { (void)now; return path_str(o, "status.nominatedNodeName", "<none>"); }
static cJSON *c_pod_gates(const cJSON *o, int64_t now)
{
	const cJSON *gates = json_path(o, "spec.readinessGates"), *g, *c;
	int n = cJSON_GetArraySize(gates), ok = 0;
	char out[32];

	(void)now;
	if (!n)
		return cJSON_CreateString("<none>");
	cJSON_ArrayForEach(g, gates)
		cJSON_ArrayForEach(c, json_path(o, "status.conditions"))
			if (!strcmp(json_get_str(c, "type", ""), json_get_str(g, "conditionType", "-")) &&
			    !strcmp(json_get_str(c, "status", ""), "True"))
				ok++;
	snprintf(out, sizeof(out), "%d/%d", ok, n);
	return cJSON_CreateString(out);
}

static const struct table_col pod_cols[] = {
	COL_NAME,
	{ "Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0, c_pod_ready },
	{ "Status", "string", "", "The aggregate status of the containers in this pod.", 0, c_pod_status },
	{ "Restarts", "string", "", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", 0, c_pod_restarts },
	COL_AGE,
	{ "IP", "string", "", "IP address allocated to the pod.", 1, c_pod_ip },
	{ "Node", "string", "", "Name of the Node this pod is assigned to.", 1, c_pod_node },
	{ "Nominated Node", "string", "", "Name of the node this pod is nominated to run on.", 1, c_pod_nominated },
	{ "Readiness Gates", "string", "", "Readiness gates of the pod.", 1, c_pod_gates },
};

/* ---- services ---- */

static cJSON *c_svc_type(const cJSON *o, int64_t now) { (void)now; return path_str(o, "spec.type", "ClusterIP"); }
static cJSON *c_svc_cip(const cJSON *o, int64_t now) { (void)now; return path_str(o, "spec.clusterIP", "<none>"); }
static cJSON *c_svc_eip(const cJSON *o, int64_t now)
{
	const char *type = json_get_str(json_get(o, "spec"), "type", "ClusterIP");
	struct buf b = BUF_INIT;
	const cJSON *it;
	cJSON *r;

	(void)now;
	if (!strcmp(type, "ExternalName"))
		return path_str(o, "spec.externalName", "<none>");
	cJSON_ArrayForEach(it, json_path(o, "status.loadBalancer.ingress")) {
		const char *s = json_get_str(it, "ip", json_get_str(it, "hostname", NULL));

		if (s)
			buf_addf(&b, "%s%s", b.len ? "," : "", s);
	}
	cJSON_ArrayForEach(it, json_path(o, "spec.externalIPs"))
		if (cJSON_IsString(it))
			buf_addf(&b, "%s%s", b.len ? "," : "", it->valuestring);
	if (!b.len && !strcmp(type, "LoadBalancer"))
		buf_addstr(&b, "<pending>");
	r = str_or(b.data, "<none>");
	buf_release(&b);
	return r;
}
static cJSON *c_svc_ports(const cJSON *o, int64_t now)
{
	struct buf b = BUF_INIT;
	const cJSON *p;
	cJSON *r;

	(void)now;
	cJSON_ArrayForEach(p, json_path(o, "spec.ports")) {
		buf_addf(&b, "%s%lld", b.len ? "," : "", (long long)json_get_int(p, "port", 0));
		if (json_get_int(p, "nodePort", 0))
			buf_addf(&b, ":%lld", (long long)json_get_int(p, "nodePort", 0));
		buf_addf(&b, "/%s", json_get_str(p, "protocol", "TCP"));
	}
	r = str_or(b.data, "<none>");
	buf_release(&b);
	return r;
}
static cJSON *c_selector(const cJSON *o, const char *path)
{
	struct buf b = BUF_INIT;
	const cJSON *kv;
	cJSON *r;

	cJSON_ArrayForEach(kv, json_path(o, path))
		if (cJSON_IsString(kv))
			buf_addf(&b, "%s%s=%s", b.len ? "," : "", kv->string, kv->valuestring);
	r = str_or(b.data, "<none>");
	buf_release(&b);
	return r;
}
static cJSON *c_svc_selector(const cJSON *o, int64_t now) { (void)now; return c_selector(o, "spec.selector"); }

static const struct table_col svc_cols[] = {
	COL_NAME,
	{ "Type", "string", "", "The type of the service.", 0, c_svc_type },
	{ "Cluster-IP", "string", "", "The cluster IP of the service.", 0, c_svc_cip },
	{ "External-IP", "string", "", "The external IP of the service.", 0, c_svc_eip },
	{ "Port(s)", "string", "", "The ports of the service.", 0, c_svc_ports },
	COL_AGE,
	{ "Selector", "string", "", "The label selector of the service.", 1, c_svc_selector },
};

/* ---- nodes ---- */

static cJSON *c_node_status(const cJSON *o, int64_t now)
{
	struct buf b = BUF_INIT;
	const cJSON *c;
	const char *ready = "Unknown";
	cJSON *r;

	(void)now;
	cJSON_ArrayForEach(c, json_path(o, "status.conditions"))
		if (!strcmp(json_get_str(c, "type", ""), "Ready"))
			ready = !strcmp(json_get_str(c, "status", ""), "True") ? "Ready" : "NotReady";
	buf_addstr(&b, ready);
	if (json_get_bool(json_get(o, "spec"), "unschedulable", false))
		buf_addstr(&b, ",SchedulingDisabled");
	r = cJSON_CreateString(b.data);
	buf_release(&b);
	return r;
}
static cJSON *c_node_roles(const cJSON *o, int64_t now)
{
	struct buf b = BUF_INIT;
	const cJSON *kv;
	cJSON *r;

	(void)now;
	cJSON_ArrayForEach(kv, json_path(o, "metadata.labels"))
		if (str_has_prefix(kv->string, "node-role.kubernetes.io/"))
			buf_addf(&b, "%s%s", b.len ? "," : "", kv->string + strlen("node-role.kubernetes.io/"));
	r = str_or(b.data, "<none>");
	buf_release(&b);
	return r;
}
static cJSON *node_addr(const cJSON *o, const char *type)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, json_path(o, "status.addresses"))
		if (!strcmp(json_get_str(a, "type", ""), type))
			return str_or(json_get_str(a, "address", NULL), "<none>");
	return cJSON_CreateString("<none>");
}
static cJSON *c_node_version(const cJSON *o, int64_t now) { (void)now; return path_str(o, "status.nodeInfo.kubeletVersion", ""); }
static cJSON *c_node_iip(const cJSON *o, int64_t now) { (void)now; return node_addr(o, "InternalIP"); }
static cJSON *c_node_eip(const cJSON *o, int64_t now) { (void)now; return node_addr(o, "ExternalIP"); }
static cJSON *c_node_os(const cJSON *o, int64_t now) { (void)now; return path_str(o, "status.nodeInfo.osImage", "<unknown>"); }
static cJSON *c_node_kernel(const cJSON *o, int64_t now) { (void)now; return path_str(o, "status.nodeInfo.kernelVersion", "<unknown>"); }
static cJSON *c_node_cri(const cJSON *o, int64_t now) { (void)now; return path_str(o, "status.nodeInfo.containerRuntimeVersion", "<unknown>"); }

static const struct table_col node_cols[] = {
	COL_NAME,
	{ "Status", "string", "", "The status of the node", 0, c_node_status },
	{ "Roles", "string", "", "The roles of the node", 0, c_node_roles },
	COL_AGE,
	{ "Version", "string", "", "Kubelet Version reported by the node.", 0, c_node_version },
	{ "Internal-IP", "string", "", "List of internal IPs.", 1, c_node_iip },
	{ "External-IP", "string", "", "List of external IPs.", 1, c_node_eip },
	{ "OS-Image", "string", "", "OS image reported by the node.", 1, c_node_os },
	{ "Kernel-Version", "string", "", "Kernel version reported by the node.", 1, c_node_kernel },
	{ "Container-Runtime", "string", "", "Container runtime reported by the node.", 1, c_node_cri },
};

/* ---- workloads ---- */

static cJSON *ratio(const cJSON *o, const char *a, const char *b)
{
	char out[48];

	snprintf(out, sizeof(out), "%lld/%lld", (long long)json_get_int(json_path(o, "status"), a, 0),
		 (long long)json_get_int(json_path(o, "spec"), b, b[0] == 'r' ? 1 : 0));
	return cJSON_CreateString(out);
}
static cJSON *c_deploy_ready(const cJSON *o, int64_t now) { (void)now; return ratio(o, "readyReplicas", "replicas"); }
static cJSON *c_uptodate(const cJSON *o, int64_t now) { (void)now; return int_of(o, "status.updatedReplicas"); }
static cJSON *c_available(const cJSON *o, int64_t now) { (void)now; return int_of(o, "status.availableReplicas"); }
static cJSON *c_containers(const cJSON *o, int64_t now) { (void)now; return join_strs(json_path(o, "spec.template.spec.containers"), "name", "<none>"); }
static cJSON *c_images(const cJSON *o, int64_t now) { (void)now; return join_strs(json_path(o, "spec.template.spec.containers"), "image", "<none>"); }
static cJSON *c_match_selector(const cJSON *o, int64_t now) { (void)now; return c_selector(o, "spec.selector.matchLabels"); }
static cJSON *c_desired(const cJSON *o, int64_t now)
{
	const cJSON *r = json_path(o, "spec.replicas");

	(void)now;
	return cJSON_CreateNumber(cJSON_IsNumber(r) ? r->valuedouble : 1);
}
static cJSON *c_current(const cJSON *o, int64_t now) { (void)now; return int_of(o, "status.replicas"); }
static cJSON *c_ready_n(const cJSON *o, int64_t now) { (void)now; return int_of(o, "status.readyReplicas"); }

#define COL_CONTAINERS { "Containers", "string", "", "Names of each container in the template.", 1, c_containers }
#define COL_IMAGES { "Images", "string", "", "Images referenced by each container in the template.", 1, c_images }
#define COL_SELECTOR { "Selector", "string", "", "Label selector for pods.", 1, c_match_selector }

static const struct table_col deploy_cols[] = {
	COL_NAME,
	{ "Ready", "string", "", "Number of the pod with ready state", 0, c_deploy_ready },
	{ "Up-to-date", "string", "", "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", 0, c_uptodate },
	{ "Available", "string", "", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", 0, c_available },
	COL_AGE, COL_CONTAINERS, COL_IMAGES, COL_SELECTOR,
};
static const struct table_col rs_cols[] = {
	COL_NAME,
	{ "Desired", "integer", "", "Number of desired pods.", 0, c_desired },
	{ "Current", "integer", "", "Number of actually running pods.", 0, c_current },
	{ "Ready", "integer", "", "Number of ready pods.", 0, c_ready_n },
	COL_AGE, COL_CONTAINERS, COL_IMAGES, COL_SELECTOR,
};
static cJSON *c_ds_desired(const cJSON *o, int64_t now) { (void)now; return int_of(o, "status.desiredNumberScheduled"); }
static cJSON *c_ds_current(const cJSON *o, int64_t now) { (void)now; return int_of(o, "status.currentNumberScheduled"); }
static cJSON *c_ds_ready(const cJSON *o, int64_t now) { (void)now; return int_of(o, "status.numberReady"); }
static cJSON *c_ds_uptodate(const cJSON *o, int64_t now) { (void)now; return int_of(o, "status.updatedNumberScheduled"); }
static cJSON *c_ds_avail(const cJSON *o, int64_t now) { (void)now; return int_of(o, "status.numberAvailable"); }
static cJSON *c_ds_nodesel(const cJSON *o, int64_t now) { (void)now; return c_selector(o, "spec.template.spec.nodeSelector"); }
static const struct table_col ds_cols[] = {
	COL_NAME,
	{ "Desired", "integer", "", "The number of nodes that should be running the daemon pod.", 0, c_ds_desired },
	{ "Current", "integer", "", "The number of nodes running at least one daemon pod.", 0, c_ds_current },
	{ "Ready", "integer", "", "The number of nodes that have a ready daemon pod.", 0, c_ds_ready },
	{ "Up-to-date", "integer", "", "The number of nodes running the updated daemon pod.", 0, c_ds_uptodate },
	{ "Available", "integer", "", "The number of nodes running an available daemon pod.", 0, c_ds_avail },
	{ "Node Selector", "string", "", "The node selector of the daemon pods.", 0, c_ds_nodesel },
	COL_AGE, COL_CONTAINERS, COL_IMAGES, COL_SELECTOR,
};
static const struct table_col sts_cols[] = {
	COL_NAME,
	{ "Ready", "string", "", "Number of the pod with ready state", 0, c_deploy_ready },
	COL_AGE, COL_CONTAINERS, COL_IMAGES,
};

/* ---- discovery, coordination, events ---- */

static cJSON *c_eps_type(const cJSON *o, int64_t now) { (void)now; return path_str(o, "addressType", ""); }
static cJSON *c_eps_ports(const cJSON *o, int64_t now)
{
	struct buf b = BUF_INIT;
	const cJSON *p;
	cJSON *r;

	(void)now;
	cJSON_ArrayForEach(p, json_get(o, "ports"))
		buf_addf(&b, "%s%lld", b.len ? "," : "", (long long)json_get_int(p, "port", 0));
	r = str_or(b.data, "<unset>");
	buf_release(&b);
	return r;
}
static cJSON *c_eps_endpoints(const cJSON *o, int64_t now)
{
	struct buf b = BUF_INIT;
	const cJSON *e, *a;
	int n = 0, more = 0;
	cJSON *r;

	(void)now;
	cJSON_ArrayForEach(e, json_get(o, "endpoints"))
		cJSON_ArrayForEach(a, json_get(e, "addresses")) {
			if (n++ < 3)
				buf_addf(&b, "%s%s", b.len ? "," : "", cJSON_IsString(a) ? a->valuestring : "");
			else
				more++;
		}
	if (more)
		buf_addf(&b, " + %d more...", more);
	r = str_or(b.data, "<unset>");
	buf_release(&b);
	return r;
}
static const struct table_col eps_cols[] = {
	COL_NAME,
	{ "AddressType", "string", "", "The type of address in this slice.", 0, c_eps_type },
	{ "Ports", "string", "", "The ports of the slice.", 0, c_eps_ports },
	{ "Endpoints", "string", "", "The addresses of the slice.", 0, c_eps_endpoints },
	COL_AGE,
};
static cJSON *c_lease_holder(const cJSON *o, int64_t now) { (void)now; return path_str(o, "spec.holderIdentity", "<unknown>"); }
static const struct table_col lease_cols[] = {
	COL_NAME,
	{ "Holder", "string", "", "The holder of the lease.", 0, c_lease_holder },
	COL_AGE,
};

static cJSON *c_ev_last(const cJSON *o, int64_t now)
{
	if (json_get(o, "lastTimestamp") && !cJSON_IsNull(json_get(o, "lastTimestamp")))
		return age_of(o, "lastTimestamp", now);
	if (json_get(o, "eventTime") && !cJSON_IsNull(json_get(o, "eventTime")))
		return age_of(o, "eventTime", now);
	return age_of(o, "metadata.creationTimestamp", now);
}
static cJSON *c_ev_type(const cJSON *o, int64_t now) { (void)now; return path_str(o, "type", ""); }
static cJSON *c_ev_reason(const cJSON *o, int64_t now) { (void)now; return path_str(o, "reason", ""); }
static cJSON *c_ev_object(const cJSON *o, int64_t now)
{
	const cJSON *io = json_get(o, "involvedObject");
	char *s;
	cJSON *r;

	(void)now;
	if (!io)
		io = json_get(o, "regarding");
	s = xasprintf("%s/%s", json_get_str(io, "kind", ""), json_get_str(io, "name", ""));
	for (char *p = s; *p && *p != '/'; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	r = cJSON_CreateString(s);
	free(s);
	return r;
}
static cJSON *c_ev_message(const cJSON *o, int64_t now) { (void)now; return path_str(o, "message", json_get_str(o, "note", "")); }
static const struct table_col event_cols[] = {
	{ "Last Seen", "string", "", "Time since the event was last seen.", 0, c_ev_last },
	{ "Type", "string", "", "The type of the event.", 0, c_ev_type },
	{ "Reason", "string", "", "The reason of the event.", 0, c_ev_reason },
	{ "Object", "string", "", "The object the event is about.", 0, c_ev_object },
	{ "Message", "string", "", "The message of the event.", 0, c_ev_message },
};

static const struct table_col default_cols[] = {
	COL_NAME,
	{ "Created At", "date", "", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0, c_created },
};

#define PRINTER(g, r, cols) { g, r, cols, ARRAY_SIZE(cols) }
static const struct table_printer printers[] = {
	PRINTER("", "namespaces", ns_cols),
	PRINTER("", "configmaps", cm_cols),
	PRINTER("", "secrets", secret_cols),
	PRINTER("", "serviceaccounts", sa_cols),
	PRINTER("", "pods", pod_cols),
	PRINTER("", "services", svc_cols),
	PRINTER("", "nodes", node_cols),
	PRINTER("", "events", event_cols),
	PRINTER("events.k8s.io", "events", event_cols),
	PRINTER("apps", "deployments", deploy_cols),
	PRINTER("apps", "replicasets", rs_cols),
	PRINTER("", "replicationcontrollers", rs_cols),
	PRINTER("apps", "daemonsets", ds_cols),
	PRINTER("apps", "statefulsets", sts_cols),
	PRINTER("discovery.k8s.io", "endpointslices", eps_cols),
	PRINTER("coordination.k8s.io", "leases", lease_cols),
};
static const struct table_printer default_printer = PRINTER("", "", default_cols);

const struct table_printer *table_printer_find(const char *group, const char *resource)
{
	for (size_t i = 0; i < ARRAY_SIZE(printers); i++)
		if (!strcmp(printers[i].group, group) && !strcmp(printers[i].resource, resource))
			return &printers[i];
	return &default_printer;
}

static cJSON *partial_metadata(const cJSON *obj)
{
	cJSON *m = cJSON_CreateObject();
	const cJSON *meta = json_get(obj, "metadata");

	json_set_str(m, "kind", "PartialObjectMetadata");
	json_set_str(m, "apiVersion", "meta.k8s.io/v1");
	json_set(m, "metadata", meta ? cJSON_Duplicate(meta, 1) : cJSON_CreateObject());
	return m;
}

cJSON *table_build(const struct table_printer *p, const cJSON *const *objs, size_t n,
		   enum table_include include, const cJSON *list_meta, int64_t now)
{
	cJSON *t = cJSON_CreateObject(), *defs = cJSON_CreateArray(), *rows = cJSON_CreateArray();

	json_set_str(t, "kind", "Table");
	json_set_str(t, "apiVersion", "meta.k8s.io/v1");
	json_set(t, "metadata", list_meta ? cJSON_Duplicate(list_meta, 1) : cJSON_CreateObject());
	for (size_t c = 0; c < p->ncols; c++) {
		cJSON *d = cJSON_CreateObject();

		json_set_str(d, "name", p->cols[c].name);
		json_set_str(d, "type", p->cols[c].type);
		json_set_str(d, "format", p->cols[c].format);
		json_set_str(d, "description", p->cols[c].description);
		json_set_int(d, "priority", p->cols[c].priority);
		cJSON_AddItemToArray(defs, d);
	}
	json_set(t, "columnDefinitions", defs);
	for (size_t i = 0; i < n; i++) {
		cJSON *row = cJSON_CreateObject(), *cells = cJSON_CreateArray();

		for (size_t c = 0; c < p->ncols; c++)
			cJSON_AddItemToArray(cells, p->cols[c].cell(objs[i], now));
		json_set(row, "cells", cells);
		if (include == TABLE_INCLUDE_OBJECT)
			json_set(row, "object", cJSON_Duplicate(objs[i], 1));
		else if (include == TABLE_INCLUDE_METADATA)
			json_set(row, "object", partial_metadata(objs[i]));
		cJSON_AddItemToArray(rows, row);
	}
	json_set(t, "rows", rows);
	return t;
}
