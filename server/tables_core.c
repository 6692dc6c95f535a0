/* Printers of core/v1 resources (and events.k8s.io events). */
#include "tables_priv.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- namespaces, configmaps, secrets, serviceaccounts ---- */

static cJSON *c_ns_status(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "status.phase", ""); }
static cJSON *c_cm_data(const cJSON *o, int64_t now)
{
	(void)now;
	return cJSON_CreateNumber(table__count(o, "data") + table__count(o, "binaryData"));
}
static cJSON *c_secret_data(const cJSON *o, int64_t now) { (void)now; return cJSON_CreateNumber(table__count(o, "data")); }
static cJSON *c_secret_type(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "type", ""); }
static cJSON *c_sa_secrets(const cJSON *o, int64_t now) { (void)now; return cJSON_CreateNumber(table__count(o, "secrets")); }

static const struct table_col ns_cols[] = {
	COL_NAME, { "Status", "string", "", "The status of the namespace", 0, c_ns_status }, COL_AGE,
};
static const struct table_col cm_cols[] = {
	COL_NAME, { "Data", "string", "", "Data contains the configuration data.", 0, c_cm_data }, COL_AGE,
};
static const struct table_col secret_cols[] = {
	COL_NAME, { "Type", "string", "", "Used to facilitate programmatic handling of secret data.", 0, c_secret_type },
	{ "Data", "string", "", "Data contains the secret data.", 0, c_secret_data }, COL_AGE,
};
static const struct table_col sa_cols[] = {
	COL_NAME, { "Secrets", "string", "", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.", 0, c_sa_secrets }, COL_AGE,
};

/* ---- pods ---- */

struct pod_summary {
	char reason[128];
	int ready, total;
	long long restarts;
	int64_t last_restart;	/* ns since the epoch, 0 when none */
};

static bool restartable_init(const cJSON *pod, const char *name)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, json_path(pod, "spec.initContainers"))
		if (!strcmp(json_get_str(c, "name", ""), name))
			return !strcmp(json_get_str(c, "restartPolicy", ""), "Always");
	return false;
}

static void note_restart(const cJSON *cs, int64_t *last)
{
	int64_t t;

	if (table__time(cs, "lastState.terminated.finishedAt", &t) && t > *last)
		*last = t;
}

static void terminated_reason(char *out, size_t len, const char *prefix, const cJSON *t)
{
	const char *r = json_get_str(t, "reason", "");

	if (*r)
		snprintf(out, len, "%s%s", prefix, r);
	else if (json_get_int(t, "signal", 0))
		snprintf(out, len, "%sSignal:%lld", prefix, (long long)json_get_int(t, "signal", 0));
	else
		snprintf(out, len, "%sExitCode:%lld", prefix, (long long)json_get_int(t, "exitCode", 0));
}

/* Walks the init containers; returns true while the pod is initializing. */
static bool pod_init_status(const cJSON *o, struct pod_summary *s, long long *rrestarts, int64_t *rlast)
{
	const cJSON *cs;
	int i = 0, ninit = table__count(o, "spec.initContainers");

	cJSON_ArrayForEach(cs, json_path(o, "status.initContainerStatuses")) {
		const cJSON *st = json_get(cs, "state"), *term = json_get(st, "terminated");
		const char *wr = json_get_str(json_get(st, "waiting"), "reason", "");
		bool restartable = restartable_init(o, json_get_str(cs, "name", ""));

		s->restarts += json_get_int(cs, "restartCount", 0);
		note_restart(cs, &s->last_restart);
		if (restartable) {
			*rrestarts += json_get_int(cs, "restartCount", 0);
			note_restart(cs, rlast);
		}
		if (term && json_get_int(term, "exitCode", 0) == 0) {
			i++;
			continue;
		}
		if (restartable && json_get_bool(cs, "started", false)) {
			s->ready += json_get_bool(cs, "ready", false);
			i++;
			continue;
		}
		if (term)
			terminated_reason(s->reason, sizeof(s->reason), "Init:", term);
		else if (*wr && strcmp(wr, "PodInitializing"))
			snprintf(s->reason, sizeof(s->reason), "Init:%s", wr);
		else
			snprintf(s->reason, sizeof(s->reason), "Init:%d/%d", i, ninit);
		return true;
	}
	return false;
}

static void pod_main_status(const cJSON *o, struct pod_summary *s)
{
	const cJSON *list = json_path(o, "status.containerStatuses");
	bool has_running = false;

	for (int i = cJSON_GetArraySize(list) - 1; i >= 0; i--) {
		const cJSON *cs = cJSON_GetArrayItem(list, i), *st = json_get(cs, "state");
		const cJSON *term = json_get(st, "terminated");
		const char *wr = json_get_str(json_get(st, "waiting"), "reason", "");

		s->restarts += json_get_int(cs, "restartCount", 0);
		note_restart(cs, &s->last_restart);
		if (*wr)
			snprintf(s->reason, sizeof(s->reason), "%s", wr);
		else if (term)
			terminated_reason(s->reason, sizeof(s->reason), "", term);
		else if (json_get_bool(cs, "ready", false) && json_get(st, "running")) {
			has_running = true;
			s->ready++;
		}
	}
	if (!strcmp(s->reason, "Completed") && has_running)
		snprintf(s->reason, sizeof(s->reason), "%s",
			 table__cond_true(o, "status.conditions", "Ready") ? "Running" : "NotReady");
}

/* printPod's READY/STATUS/RESTARTS logic. */
static void pod_summarize(const cJSON *o, struct pod_summary *s)
{
	const char *phase = table__gets(o, "status.phase"), *sr = table__gets(o, "status.reason");
	const cJSON *c;
	long long rrestarts = 0;
	int64_t rlast = 0;

	memset(s, 0, sizeof(*s));
	snprintf(s->reason, sizeof(s->reason), "%s", sr && *sr ? sr : phase ? phase : "");
	cJSON_ArrayForEach(c, json_path(o, "status.conditions"))
		if (!strcmp(json_get_str(c, "type", ""), "PodScheduled") &&
		    !strcmp(json_get_str(c, "reason", ""), "SchedulingGated"))
			snprintf(s->reason, sizeof(s->reason), "SchedulingGated");
	s->total = table__count(o, "spec.containers");
	cJSON_ArrayForEach(c, json_path(o, "spec.initContainers"))
		s->total += !strcmp(json_get_str(c, "restartPolicy", ""), "Always");
	if (!pod_init_status(o, s, &rrestarts, &rlast) ||
	    table__cond_true(o, "status.conditions", "Initialized")) {
		s->restarts = rrestarts;
		s->last_restart = rlast;
		pod_main_status(o, s);
	}
	if (json_path(o, "metadata.deletionTimestamp") && sr && !strcmp(sr, "NodeLost"))
		snprintf(s->reason, sizeof(s->reason), "Unknown");
	else if (json_path(o, "metadata.deletionTimestamp") &&
		 !(phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
		snprintf(s->reason, sizeof(s->reason), "Terminating");
}

static cJSON *c_pod_ready(const cJSON *o, int64_t now)
{
	struct pod_summary s;
	char out[32];

	(void)now;
	pod_summarize(o, &s);
	snprintf(out, sizeof(out), "%d/%d", s.ready, s.total);
	return cJSON_CreateString(out);
}

static cJSON *c_pod_status(const cJSON *o, int64_t now)
{
	struct pod_summary s;

	(void)now;
	pod_summarize(o, &s);
	return cJSON_CreateString(s.reason);
}

static cJSON *c_pod_restarts(const cJSON *o, int64_t now)
{
	struct pod_summary s;
	char out[64], age[32];

	pod_summarize(o, &s);
	if (s.restarts && s.last_restart) {
		table_human_duration(now - s.last_restart, age, sizeof(age));
		snprintf(out, sizeof(out), "%lld (%s ago)", s.restarts, age);
	} else {
		snprintf(out, sizeof(out), "%lld", s.restarts);
	}
	return cJSON_CreateString(out);
}

/* status.podIP wins over podIPs[0], as the core/v1 conversion makes it. */
static cJSON *c_pod_ip(const cJSON *o, int64_t now)
{
	const char *ip = table__gets(o, "status.podIP");

	(void)now;
	if (!ip || !*ip)
		ip = json_get_str(cJSON_GetArrayItem(json_path(o, "status.podIPs"), 0), "ip", NULL);
	return table__str(ip, "<none>");
}
static cJSON *c_pod_node(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.nodeName", "<none>"); }
static cJSON *c_pod_nominated(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "status.nominatedNodeName", "<none>"); }
static cJSON *c_pod_gates(const cJSON *o, int64_t now)
{
	const cJSON *g, *c;
	int n = table__count(o, "spec.readinessGates"), ok = 0;
	char out[32];

	(void)now;
	if (!n)
		return cJSON_CreateString("<none>");
	cJSON_ArrayForEach(g, json_path(o, "spec.readinessGates"))
		cJSON_ArrayForEach(c, json_path(o, "status.conditions"))
			if (!strcmp(json_get_str(c, "type", ""), json_get_str(g, "conditionType", ""))) {
				ok += !strcmp(json_get_str(c, "status", ""), "True");
				break;
			}
	snprintf(out, sizeof(out), "%d/%d", ok, n);
	return cJSON_CreateString(out);
}

static cJSON *pod_conditions(const cJSON *o)
{
	const char *phase = table__gets(o, "status.phase");
	const char *msg;
	cJSON *arr, *c;

	if (!phase || (strcmp(phase, "Succeeded") && strcmp(phase, "Failed")))
		return NULL;
	msg = !strcmp(phase, "Succeeded") ? "The pod has completed successfully." : "The pod failed.";
	arr = cJSON_CreateArray();
	c = cJSON_CreateObject();
	json_set_str(c, "type", "Completed");
	json_set_str(c, "status", "True");
	json_set_str(c, "reason", phase);
	json_set_str(c, "message", msg);
	cJSON_AddItemToArray(arr, c);
	return arr;
}

static const struct table_col pod_cols[] = {
	COL_NAME,
	{ "Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0, c_pod_ready },
	{ "Status", "string", "", "The aggregate status of the containers in this pod.", 0, c_pod_status },
	{ "Restarts", "string", "", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", 0, c_pod_restarts },
	COL_AGE,
	{ "IP", "string", "", "podIP address allocated to the pod.", 1, c_pod_ip },
	{ "Node", "string", "", "NodeName indicates in which node this pod is scheduled.", 1, c_pod_node },
	{ "Nominated Node", "string", "", "nominatedNodeName is set only when this pod preempts other pods on the node.", 1, c_pod_nominated },
	{ "Readiness Gates", "string", "", "If specified, all readiness gates will be evaluated for pod readiness.", 1, c_pod_gates },
};

static cJSON *c_pt_names(const cJSON *o, int64_t now) { (void)now; return table__containers(o, "template.spec.containers", "name"); }
static cJSON *c_pt_images(const cJSON *o, int64_t now) { (void)now; return table__containers(o, "template.spec.containers", "image"); }
static cJSON *c_pt_labels(const cJSON *o, int64_t now)
{
	struct buf b = BUF_INIT;

	(void)now;
	table__fmt_labels(&b, json_path(o, "template.metadata.labels"));
	return table__buf_cell(&b, "<none>");
}
static const struct table_col podtemplate_cols[] = {
	COL_NAME,
	{ "Containers", "string", "", "Names of each container in the template.", 0, c_pt_names },
	{ "Images", "string", "", "Images referenced by each container in the template.", 0, c_pt_images },
	{ "Pod Labels", "string", "", "The labels for the pod template.", 0, c_pt_labels },
};

/* ---- services, endpoints ---- */

static cJSON *c_svc_type(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.type", ""); }
static cJSON *c_svc_cip(const cJSON *o, int64_t now)
{
	const cJSON *ip = cJSON_GetArrayItem(json_path(o, "spec.clusterIPs"), 0);

	(void)now;
	return table__str(cJSON_IsString(ip) ? ip->valuestring : NULL, "<none>");
}

/* loadBalancerStatusStringer (wide): sorted unique IPs, else hostnames. */
static void lb_ingress(struct buf *b, const cJSON *ingress)
{
	size_t n = 0;
	const char **items = xmalloc(((size_t)cJSON_GetArraySize(ingress) + 1) * sizeof(*items));
	const cJSON *in;

	cJSON_ArrayForEach(in, ingress) {
		const char *s = json_get_str(in, "ip", "");

		if (!*s)
			s = json_get_str(in, "hostname", "");
		if (*s)
			items[n++] = s;
	}
	table__join_sorted(b, ",", items, n);
	free(items);
}

static void join_strings(struct buf *b, const cJSON *arr)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it))
			table__join(b, ",", it->valuestring);
}

static cJSON *c_svc_eip(const cJSON *o, int64_t now)
{
	const char *type = json_get_str(json_get(o, "spec"), "type", "");
	const cJSON *eips = json_path(o, "spec.externalIPs");
	struct buf b = BUF_INIT;

	(void)now;
	if (!strcmp(type, "ClusterIP") || !strcmp(type, "NodePort")) {
		join_strings(&b, eips);
		return table__buf_cell(&b, "<none>");
	}
	if (!strcmp(type, "LoadBalancer")) {
		lb_ingress(&b, json_path(o, "status.loadBalancer.ingress"));
		join_strings(&b, eips);
		return table__buf_cell(&b, "<pending>");
	}
	if (!strcmp(type, "ExternalName"))
		return table__path_str(o, "spec.externalName", "");
	return cJSON_CreateString("<unknown>");
}
static cJSON *c_svc_ports(const cJSON *o, int64_t now)
{
	struct buf b = BUF_INIT;
	const cJSON *p;

	(void)now;
	cJSON_ArrayForEach(p, json_path(o, "spec.ports")) {
		long long port = json_get_int(p, "port", 0), np = json_get_int(p, "nodePort", 0);
		const char *proto = json_get_str(p, "protocol", "TCP");

		if (b.len)
			buf_addch(&b, ',');
		if (np > 0)
			buf_addf(&b, "%lld:%lld/%s", port, np, proto);
		else
			buf_addf(&b, "%lld/%s", port, proto);
	}
	return table__buf_cell(&b, "<none>");
}
static cJSON *c_svc_selector(const cJSON *o, int64_t now)
{
	struct buf b = BUF_INIT;

	(void)now;
	table__fmt_labels(&b, json_path(o, "spec.selector"));
	return table__buf_cell(&b, "<none>");
}
static const struct table_col svc_cols[] = {
	COL_NAME,
	{ "Type", "string", "", "type determines how the Service is exposed.", 0, c_svc_type },
	{ "Cluster-IP", "string", "", "clusterIP is the IP address of the service.", 0, c_svc_cip },
	{ "External-IP", "string", "", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.", 0, c_svc_eip },
	{ "Port(s)", "string", "", "The list of ports that are exposed by this service.", 0, c_svc_ports },
	COL_AGE,
	{ "Selector", "string", "", "Route service traffic to pods with label keys and values matching this selector.", 1, c_svc_selector },
};

/* formatEndpoints: "ip:port" per port and address, 3 at most. */
static cJSON *c_ep_endpoints(const cJSON *o, int64_t now)
{
	const cJSON *ss, *p, *a;
	struct buf b = BUF_INIT;
	int listed = 0, count = 0;
	bool more = false;

	(void)now;
	if (!table__count(o, "subsets"))
		return cJSON_CreateString("<none>");
	cJSON_ArrayForEach(ss, json_get(o, "subsets")) {
		const cJSON *ports = json_get(ss, "ports");
		int np = cJSON_GetArraySize(ports);

		for (int i = 0; i < (np ? np : 1); i++) {
			p = np ? cJSON_GetArrayItem(ports, i) : NULL;
			count += cJSON_GetArraySize(json_get(ss, "addresses"));
			cJSON_ArrayForEach(a, json_get(ss, "addresses")) {
				const char *ip = json_get_str(a, "ip", "");

				if (listed == 3) {
					more = true;
					break;
				}
				if (b.len)
					buf_addch(&b, ',');
				if (!p)
					buf_addstr(&b, ip);
				else if (strchr(ip, ':'))
					buf_addf(&b, "[%s]:%lld", ip, (long long)json_get_int(p, "port", 0));
				else
					buf_addf(&b, "%s:%lld", ip, (long long)json_get_int(p, "port", 0));
				listed++;
			}
		}
	}
	if (more)
		buf_addf(&b, " + %d more...", count - 3);
	return table__buf_cell(&b, "");
}
static const struct table_col ep_cols[] = {
	COL_NAME,
	{ "Endpoints", "string", "", "The set of all endpoints is the union of all subsets.", 0, c_ep_endpoints },
	COL_AGE,
};

/* ---- nodes ---- */

static cJSON *c_node_status(const cJSON *o, int64_t now)
{
	struct buf b = BUF_INIT;
	const cJSON *c;

	(void)now;
	cJSON_ArrayForEach(c, json_path(o, "status.conditions"))
		if (!strcmp(json_get_str(c, "type", ""), "Ready")) {
			buf_reset(&b);
			buf_addstr(&b, !strcmp(json_get_str(c, "status", ""), "True") ? "Ready" : "NotReady");
		}
	if (!b.len)
		buf_addstr(&b, "Unknown");
	if (json_get_bool(json_get(o, "spec"), "unschedulable", false))
		buf_addstr(&b, ",SchedulingDisabled");
	return table__buf_cell(&b, "");
}
static cJSON *c_node_roles(const cJSON *o, int64_t now)
{
	const cJSON *labels = json_path(o, "metadata.labels"), *kv;
	const char **roles = xmalloc(((size_t)cJSON_GetArraySize(labels) + 1) * sizeof(*roles));
	struct buf b = BUF_INIT;
	size_t n = 0;

	(void)now;
	cJSON_ArrayForEach(kv, labels) {
		const char *v = cJSON_IsString(kv) ? kv->valuestring : "";

		if (str_has_prefix(kv->string, "node-role.kubernetes.io/") &&
		    kv->string[strlen("node-role.kubernetes.io/")])
			roles[n++] = kv->string + strlen("node-role.kubernetes.io/");
		else if (!strcmp(kv->string, "kubernetes.io/role") && *v)
			roles[n++] = v;
	}
	table__join_sorted(&b, ",", roles, n);
	free(roles);
	return table__buf_cell(&b, "<none>");
}
static cJSON *node_addr(const cJSON *o, const char *type)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, json_path(o, "status.addresses"))
		if (!strcmp(json_get_str(a, "type", ""), type))
			return cJSON_CreateString(json_get_str(a, "address", ""));
	return cJSON_CreateString("<none>");
}
static cJSON *c_node_version(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "status.nodeInfo.kubeletVersion", ""); }
static cJSON *c_node_iip(const cJSON *o, int64_t now) { (void)now; return node_addr(o, "InternalIP"); }
static cJSON *c_node_eip(const cJSON *o, int64_t now) { (void)now; return node_addr(o, "ExternalIP"); }
static cJSON *c_node_os(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "status.nodeInfo.osImage", "<unknown>"); }
static cJSON *c_node_kernel(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "status.nodeInfo.kernelVersion", "<unknown>"); }
static cJSON *c_node_cri(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "status.nodeInfo.containerRuntimeVersion", "<unknown>"); }

static const struct table_col node_cols[] = {
	COL_NAME,
	{ "Status", "string", "", "The status of the node", 0, c_node_status },
	{ "Roles", "string", "", "The roles of the node", 0, c_node_roles },
	COL_AGE,
	{ "Version", "string", "", "Kubelet Version reported by the node.", 0, c_node_version },
	{ "Internal-IP", "string", "", "List of addresses reachable to the node.", 1, c_node_iip },
	{ "External-IP", "string", "", "List of addresses reachable to the node.", 1, c_node_eip },
	{ "OS-Image", "string", "", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1, c_node_os },
	{ "Kernel-Version", "string", "", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1, c_node_kernel },
	{ "Container-Runtime", "string", "", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1, c_node_cri },
};

/* ---- events (core/v1 and events.k8s.io/v1 shapes) ---- */

/* o[core] when set (not null), else o[events]. */
static const cJSON *ev_get(const cJSON *o, const char *core, const char *events)
{
	const cJSON *v = json_get(o, core);

	return v && !cJSON_IsNull(v) ? v : json_get(o, events);
}

static cJSON *ev_first(const cJSON *o, int64_t now)
{
	const cJSON *f = ev_get(o, "firstTimestamp", "deprecatedFirstTimestamp");

	return table__since(cJSON_IsString(f) ? f : json_get(o, "eventTime"), now);
}
static cJSON *c_ev_last(const cJSON *o, int64_t now)
{
	const cJSON *l = ev_get(o, "lastTimestamp", "deprecatedLastTimestamp"), *series = json_get(o, "series");

	if (cJSON_IsObject(series))
		return table__since(json_get(series, "lastObservedTime"), now);
	return cJSON_IsString(l) ? table__since(l, now) : ev_first(o, now);
}
static cJSON *c_ev_count(const cJSON *o, int64_t now)
{
	const cJSON *series = json_get(o, "series");
	int64_t n = json_get_int(o, "count", json_get_int(o, "deprecatedCount", 0));

	(void)now;
	if (cJSON_IsObject(series))
		n = json_get_int(series, "count", 0);
	else if (!n)
		n = 1;
	return cJSON_CreateNumber((double)n);
}
static cJSON *c_ev_type(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "type", ""); }
static cJSON *c_ev_reason(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "reason", ""); }
static cJSON *c_ev_object(const cJSON *o, int64_t now)
{
	const cJSON *io = ev_get(o, "involvedObject", "regarding");
	const char *name = json_get_str(io, "name", "");
	char *s = *name ? xasprintf("%s/%s", json_get_str(io, "kind", ""), name)
			: xstrdup(json_get_str(io, "kind", ""));
	cJSON *r;

	(void)now;
	for (char *p = s; *p && *p != '/'; p++)
		*p = (char)tolower((unsigned char)*p);
	r = cJSON_CreateString(s);
	free(s);
	return r;
}
static cJSON *c_ev_subobject(const cJSON *o, int64_t now)
{
	(void)now;
	return cJSON_CreateString(json_get_str(ev_get(o, "involvedObject", "regarding"), "fieldPath", ""));
}
static cJSON *c_ev_source(const cJSON *o, int64_t now)
{
	const cJSON *src = ev_get(o, "source", "deprecatedSource");
	const char *comp = json_get_str(src, "component", ""), *host = json_get_str(src, "host", "");
	char *s;
	cJSON *r;

	(void)now;
	if (!*comp) {
		const cJSON *rc = ev_get(o, "reportingComponent", "reportingController");

		comp = cJSON_IsString(rc) ? rc->valuestring : "";
	}
	if (!*host)
		host = json_get_str(o, "reportingInstance", "");
	s = *host ? xasprintf("%s, %s", comp, host) : xstrdup(comp);
	r = cJSON_CreateString(s);
	free(s);
	return r;
}
static cJSON *c_ev_message(const cJSON *o, int64_t now)
{
	const cJSON *m = ev_get(o, "message", "note");
	const char *s = cJSON_IsString(m) ? m->valuestring : "";
	size_t n;
	char *t;
	cJSON *r;

	(void)now;
	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	t = xstrndup(s, n);
	r = cJSON_CreateString(t);
	free(t);
	return r;
}
static const struct table_col event_cols[] = {
	{ "Last Seen", "string", "", "The time at which the most recent occurrence of this event was recorded.", 0, c_ev_last },
	{ "Type", "string", "", "Type of this event (Normal, Warning), new types could be added in the future", 0, c_ev_type },
	{ "Reason", "string", "", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.", 0, c_ev_reason },
	{ "Object", "string", "", "The object that this event is about.", 0, c_ev_object },
	{ "Subobject", "string", "", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.", 1, c_ev_subobject },
	{ "Source", "string", "", "The component reporting this event. Should be a short machine understandable string.", 1, c_ev_source },
	{ "Message", "string", "", "A human-readable description of the status of this operation.", 0, c_ev_message },
	{ "First Seen", "string", "", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", 1, ev_first },
	{ "Count", "string", "", "The number of times this event has occurred.", 1, c_ev_count },
	{ "Name", "string", "name", TABLE__NAME_DESC, 1, table__c_name },
};

/* ---- persistent volumes and claims ---- */

/* GetAccessModesAsString: RWO,ROX,RWX,RWOP in that order. */
static cJSON *access_modes(const cJSON *modes)
{
	static const char *const names[][2] = {
		{ "ReadWriteOnce", "RWO" }, { "ReadOnlyMany", "ROX" },
		{ "ReadWriteMany", "RWX" }, { "ReadWriteOncePod", "RWOP" },
	};
	struct buf b = BUF_INIT;
	const cJSON *m;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		cJSON_ArrayForEach(m, modes)
			if (cJSON_IsString(m) && !strcmp(m->valuestring, names[i][0])) {
				table__join(&b, ",", names[i][1]);
				break;
			}
	return table__buf_cell(&b, "");
}

static cJSON *qty_cell(const cJSON *v)
{
	char tmp[40];
	const char *q = table__qty(v, tmp, sizeof(tmp));

	return cJSON_CreateString(q ? q : "0");
}

static cJSON *phase_or_terminating(const cJSON *o)
{
	if (json_path(o, "metadata.deletionTimestamp"))
		return cJSON_CreateString("Terminating");
	return table__path_str(o, "status.phase", "");
}

/* GetPersistentVolume(Claim)Class: the beta annotation wins. */
static cJSON *storage_class(const cJSON *o)
{
	const char *a = table__annotation(o, "volume.beta.kubernetes.io/storage-class");

	return cJSON_CreateString(a ? a : json_get_str(json_get(o, "spec"), "storageClassName", ""));
}

static cJSON *c_pv_cap(const cJSON *o, int64_t now) { (void)now; return qty_cell(json_path(o, "spec.capacity.storage")); }
static cJSON *c_pv_modes(const cJSON *o, int64_t now) { (void)now; return access_modes(json_path(o, "spec.accessModes")); }
static cJSON *c_pv_reclaim(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.persistentVolumeReclaimPolicy", ""); }
static cJSON *c_pv_status(const cJSON *o, int64_t now) { (void)now; return phase_or_terminating(o); }
static cJSON *c_pv_claim(const cJSON *o, int64_t now)
{
	const cJSON *ref = json_path(o, "spec.claimRef");
	char *s;
	cJSON *r;

	(void)now;
	if (!ref)
		return cJSON_CreateString("");
	s = xasprintf("%s/%s", json_get_str(ref, "namespace", ""), json_get_str(ref, "name", ""));
	r = cJSON_CreateString(s);
	free(s);
	return r;
}
static cJSON *c_sc(const cJSON *o, int64_t now) { (void)now; return storage_class(o); }
static cJSON *c_vac(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.volumeAttributesClassName", "<unset>"); }
static cJSON *c_pv_reason(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "status.reason", ""); }
static cJSON *c_volmode(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.volumeMode", "<unset>"); }

static const struct table_col pv_cols[] = {
	COL_NAME,
	{ "Capacity", "string", "", "capacity is the description of the persistent volume's resources and capacity.", 0, c_pv_cap },
	{ "Access Modes", "string", "", "accessModes contains all ways the volume can be mounted.", 0, c_pv_modes },
	{ "Reclaim Policy", "string", "", "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.", 0, c_pv_reclaim },
	{ "Status", "string", "", "phase indicates if a volume is available, bound to a claim, or released by a claim.", 0, c_pv_status },
	{ "Claim", "string", "", "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.", 0, c_pv_claim },
	{ "StorageClass", "string", "", "StorageClass of the pv", 0, c_sc },
	{ "VolumeAttributesClass", "string", "", "VolumeAttributesClass of the pv", 0, c_vac },
	{ "Reason", "string", "", "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.", 0, c_pv_reason },
	COL_AGE,
	{ "VolumeMode", "string", "", "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.", 1, c_volmode },
};

static bool pvc_bound(const cJSON *o)
{
	const char *v = table__gets(o, "spec.volumeName");

	return v && *v;
}
static cJSON *c_pvc_status(const cJSON *o, int64_t now) { (void)now; return phase_or_terminating(o); }
static cJSON *c_pvc_volume(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.volumeName", ""); }
static cJSON *c_pvc_cap(const cJSON *o, int64_t now)
{
	(void)now;
	return pvc_bound(o) ? qty_cell(json_path(o, "status.capacity.storage")) : cJSON_CreateString("");
}
static cJSON *c_pvc_modes(const cJSON *o, int64_t now)
{
	(void)now;
	return pvc_bound(o) ? access_modes(json_path(o, "status.accessModes")) : cJSON_CreateString("");
}
static const struct table_col pvc_cols[] = {
	COL_NAME,
	{ "Status", "string", "", "phase represents the current phase of PersistentVolumeClaim.", 0, c_pvc_status },
	{ "Volume", "string", "", "volumeName is the binding reference to the PersistentVolume backing this claim.", 0, c_pvc_volume },
	{ "Capacity", "string", "", "capacity represents the actual resources of the underlying volume.", 0, c_pvc_cap },
	{ "Access Modes", "string", "", "accessModes contains the actual access modes the volume backing the PVC has.", 0, c_pvc_modes },
	{ "StorageClass", "string", "", "StorageClass of the pvc", 0, c_sc },
	{ "VolumeAttributesClass", "string", "", "VolumeAttributesClass of the pvc", 0, c_vac },
	COL_AGE,
	{ "VolumeMode", "string", "", "volumeMode defines what type of volume is required by the claim.", 1, c_volmode },
};

/* ---- resource quotas ---- */

/* "name: used/hard, ..." of status.hard, sorted, limits.* or the rest. */
static cJSON *quota_column(const cJSON *o, bool limits)
{
	const cJSON *hard = json_path(o, "status.hard"), *used = json_path(o, "status.used"), *it;
	const char **names = xmalloc(((size_t)cJSON_GetArraySize(hard) + 1) * sizeof(*names));
	struct buf b = BUF_INIT;
	size_t n = 0;

	cJSON_ArrayForEach(it, hard)
		if (str_has_prefix(it->string, "limits.") == limits)
			names[n++] = it->string;
	table__sort_strs(names, n);
	for (size_t i = 0; i < n; i++) {
		char u[40], h[40];
		const char *us = table__qty(json_get(used, names[i]), u, sizeof(u));
		const char *hs = table__qty(json_get(hard, names[i]), h, sizeof(h));

		if (i)
			buf_addstr(&b, ", ");
		buf_addf(&b, "%s: %s/%s", names[i], us ? us : "0", hs ? hs : "0");
	}
	free(names);
	return table__buf_cell(&b, "");
}
static cJSON *c_rq_request(const cJSON *o, int64_t now) { (void)now; return quota_column(o, false); }
static cJSON *c_rq_limit(const cJSON *o, int64_t now) { (void)now; return quota_column(o, true); }
static const struct table_col rq_cols[] = {
	COL_NAME,
	{ "Request", "string", "", "Request represents a minimum amount of cpu/memory that a container may consume.", 0, c_rq_request },
	{ "Limit", "string", "", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.", 0, c_rq_limit },
	COL_AGE,
};

const struct table_printer table__core_printers[] = {
	PRINTER("", "namespaces", ns_cols),
	PRINTER("", "configmaps", cm_cols),
	PRINTER("", "secrets", secret_cols),
	PRINTER("", "serviceaccounts", sa_cols),
	PRINTER_ROWCOND("", "pods", pod_cols, pod_conditions),
	PRINTER("", "podtemplates", podtemplate_cols),
	PRINTER("", "services", svc_cols),
	PRINTER("", "endpoints", ep_cols),
	PRINTER("", "nodes", node_cols),
	PRINTER("", "events", event_cols),
	PRINTER("events.k8s.io", "events", event_cols),
	PRINTER("", "persistentvolumes", pv_cols),
	PRINTER("", "persistentvolumeclaims", pvc_cols),
	PRINTER("", "resourcequotas", rq_cols),
};
const size_t table__core_nprinters = ARRAY_SIZE(table__core_printers);
