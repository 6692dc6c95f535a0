/* Printers of networking, discovery, coordination, certificates, RBAC,
 * storage, scheduling, node and admission resources. */
#include "tables_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- networking ---- */

static cJSON *c_ing_class(const cJSON *o, int64_t now)
{
	const char *c = table__gets(o, "spec.ingressClassName");

	(void)now;
	return cJSON_CreateString(c ? c : "<none>");
}
/* formatHosts: the first 3 hosts of the rules, "*" when none. */
static cJSON *c_ing_hosts(const cJSON *o, int64_t now)
{
	const cJSON *rules = json_path(o, "spec.rules"), *r;
	struct buf b = BUF_INIT;
	int listed = 0;
	bool more = false;

	(void)now;
	cJSON_ArrayForEach(r, rules) {
		const char *h = json_get_str(r, "host", "");

		if (listed == 3)
			more = true;
		if (!more && *h) {
			table__join(&b, ",", h);
			listed++;
		}
	}
	if (!listed)
		return table__buf_cell(&b, "*");
	if (more)
		buf_addf(&b, " + %d more...", cJSON_GetArraySize(rules) - 3);
	return table__buf_cell(&b, "");
}
static cJSON *c_ing_address(const cJSON *o, int64_t now)
{
	const cJSON *ingress = json_path(o, "status.loadBalancer.ingress"), *in;
	const char **items = xmalloc(((size_t)cJSON_GetArraySize(ingress) + 1) * sizeof(*items));
	struct buf b = BUF_INIT;
	size_t n = 0;

	(void)now;
	cJSON_ArrayForEach(in, ingress) {
		const char *s = json_get_str(in, "ip", "");

		if (!*s)
			s = json_get_str(in, "hostname", "");
		if (*s)
			items[n++] = s;
	}
	table__join_sorted(&b, ",", items, n);
	free(items);
	return table__buf_cell(&b, "");
}
static cJSON *c_ing_ports(const cJSON *o, int64_t now)
{
	(void)now;
	return cJSON_CreateString(table__count(o, "spec.tls") ? "80, 443" : "80");
}
static const struct table_col ing_cols[] = {
	COL_NAME,
	{ "Class", "string", "", "The name of the IngressClass resource that should be used for additional configuration", 0, c_ing_class },
	{ "Hosts", "string", "", "Hosts that incoming requests are matched against before the ingress rule", 0, c_ing_hosts },
	{ "Address", "string", "", "Address is a list containing ingress points for the load-balancer", 0, c_ing_address },
	{ "Ports", "string", "", "Ports of TLS configurations that open", 0, c_ing_ports },
	COL_AGE,
};

static cJSON *c_ic_controller(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.controller", ""); }
static cJSON *c_ic_params(const cJSON *o, int64_t now)
{
	const cJSON *p = json_path(o, "spec.parameters");
	const char *g = json_get_str(p, "apiGroup", NULL);
	char *s;
	cJSON *r;

	(void)now;
	if (!p)
		return cJSON_CreateString("<none>");
	s = xasprintf("%s%s%s/%s", json_get_str(p, "kind", ""), g ? "." : "", g ? g : "",
		      json_get_str(p, "name", ""));
	r = cJSON_CreateString(s);
	free(s);
	return r;
}
static const struct table_col ic_cols[] = {
	COL_NAME,
	{ "Controller", "string", "", "Controller that is responsible for handling this class", 0, c_ic_controller },
	{ "Parameters", "string", "", "A reference to a resource with additional parameters", 0, c_ic_params },
	COL_AGE,
};

static cJSON *c_np_selector(const cJSON *o, int64_t now) { (void)now; return table__selector_cell(o, "spec.podSelector"); }
static const struct table_col np_cols[] = {
	COL_NAME,
	{ "Pod-Selector", "string", "", "Selects the pods to which this NetworkPolicy object applies.", 0, c_np_selector },
	COL_AGE,
};

/* ---- discovery, coordination ---- */

/* listWithMoreString over at most 3 of the items seen. */
struct more_list {
	struct buf b;
	int listed, count;
};

static void more_add(struct more_list *l, const char *s)
{
	if (l->listed < 3) {
		table__join(&l->b, ",", s);
		l->listed++;
	}
	l->count++;
}

static cJSON *more_cell(struct more_list *l)
{
	if (l->count > 3)
		buf_addf(&l->b, " + %d more...", l->count - 3);
	return table__buf_cell(&l->b, "<unset>");
}

static cJSON *c_eps_type(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "addressType", ""); }
static cJSON *c_eps_ports(const cJSON *o, int64_t now)
{
	struct more_list l = { BUF_INIT, 0, 0 };
	const cJSON *p;

	(void)now;
	cJSON_ArrayForEach(p, json_get(o, "ports")) {
		const cJSON *port = json_get(p, "port"), *name = json_get(p, "name");
		char num[32];

		if (cJSON_IsNumber(port))
			snprintf(num, sizeof(num), "%d", port->valueint);
		else
			snprintf(num, sizeof(num), "%s", cJSON_IsString(name) ? name->valuestring : "*");
		more_add(&l, num);
	}
	return more_cell(&l);
}
static cJSON *c_eps_endpoints(const cJSON *o, int64_t now)
{
	struct more_list l = { BUF_INIT, 0, 0 };
	const cJSON *e, *a;

	(void)now;
	cJSON_ArrayForEach(e, json_get(o, "endpoints"))
		cJSON_ArrayForEach(a, json_get(e, "addresses"))
			more_add(&l, cJSON_IsString(a) ? a->valuestring : "");
	return more_cell(&l);
}
static const struct table_col eps_cols[] = {
	COL_NAME,
	{ "AddressType", "string", "", "addressType specifies the type of address carried by this EndpointSlice.", 0, c_eps_type },
	{ "Ports", "string", "", "ports specifies the list of network ports exposed by each endpoint in this slice.", 0, c_eps_ports },
	{ "Endpoints", "string", "", "endpoints is a list of unique endpoints in this slice.", 0, c_eps_endpoints },
	COL_AGE,
};

static cJSON *c_lease_holder(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.holderIdentity", ""); }
static const struct table_col lease_cols[] = {
	COL_NAME,
	{ "Holder", "string", "", "holderIdentity contains the identity of the holder of a current lease.", 0, c_lease_holder },
	COL_AGE,
};

/* ---- certificates ---- */

static cJSON *c_csr_signer(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.signerName", "<none>"); }
static cJSON *c_csr_user(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.username", ""); }
static cJSON *c_csr_duration(const cJSON *o, int64_t now)
{
	const cJSON *s = json_path(o, "spec.expirationSeconds");
	char out[32];

	(void)now;
	if (!cJSON_IsNumber(s))
		return cJSON_CreateString("<none>");
	table_human_duration((int64_t)s->valuedouble * 1000000000LL, out, sizeof(out));
	return cJSON_CreateString(out);
}
/* extractCSRStatus: Denied|Approved|Pending, then ",Failed", ",Issued". */
static cJSON *c_csr_condition(const cJSON *o, int64_t now)
{
	bool approved = false, denied = false, failed = false;
	const cJSON *c;
	struct buf b = BUF_INIT;

	(void)now;
	cJSON_ArrayForEach(c, json_path(o, "status.conditions")) {
		const char *t = json_get_str(c, "type", "");

		approved |= !strcmp(t, "Approved");
		denied |= !strcmp(t, "Denied");
		failed |= !strcmp(t, "Failed");
	}
	buf_addstr(&b, denied ? "Denied" : approved ? "Approved" : "Pending");
	if (failed)
		buf_addstr(&b, ",Failed");
	if (*json_get_str(json_get(o, "status"), "certificate", ""))
		buf_addstr(&b, ",Issued");
	return table__buf_cell(&b, "");
}
static const struct table_col csr_cols[] = {
	COL_NAME, COL_AGE,
	{ "SignerName", "string", "", "Requested signer for the request.", 0, c_csr_signer },
	{ "Requestor", "string", "", "Base64-encoded PKCS#10 CSR data", 0, c_csr_user },
	{ "RequestedDuration", "string", "", "expirationSeconds is the requested duration of validity of the issued certificate.", 0, c_csr_duration },
	{ "Condition", "string", "", "Conditions applied to the request, such as approval or denial.", 0, c_csr_condition },
};

/* ---- RBAC ---- */

static cJSON *c_rb_role(const cJSON *o, int64_t now)
{
	const cJSON *ref = json_get(o, "roleRef");
	char *s = xasprintf("%s/%s", json_get_str(ref, "kind", ""), json_get_str(ref, "name", ""));
	cJSON *r = cJSON_CreateString(s);

	(void)now;
	free(s);
	return r;
}
/* rbac.SubjectsStrings for one kind, joined by ", ". */
static cJSON *subjects(const cJSON *o, const char *kind)
{
	struct buf b = BUF_INIT;
	const cJSON *s;

	cJSON_ArrayForEach(s, json_get(o, "subjects")) {
		if (strcmp(json_get_str(s, "kind", ""), kind))
			continue;
		if (b.len)
			buf_addstr(&b, ", ");
		if (!strcmp(kind, "ServiceAccount"))
			buf_addf(&b, "%s/", json_get_str(s, "namespace", ""));
		buf_addstr(&b, json_get_str(s, "name", ""));
	}
	return table__buf_cell(&b, "");
}
static cJSON *c_rb_users(const cJSON *o, int64_t now) { (void)now; return subjects(o, "User"); }
static cJSON *c_rb_groups(const cJSON *o, int64_t now) { (void)now; return subjects(o, "Group"); }
static cJSON *c_rb_sas(const cJSON *o, int64_t now) { (void)now; return subjects(o, "ServiceAccount"); }
static const struct table_col rb_cols[] = {
	COL_NAME,
	{ "Role", "string", "", "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.", 0, c_rb_role },
	COL_AGE,
	{ "Users", "string", "", "Users in the roleBinding", 1, c_rb_users },
	{ "Groups", "string", "", "Groups in the roleBinding", 1, c_rb_groups },
	{ "ServiceAccounts", "string", "", "ServiceAccounts in the roleBinding", 1, c_rb_sas },
};
static const struct table_col crb_cols[] = {
	COL_NAME,
	{ "Role", "string", "", "RoleRef can only reference a ClusterRole in the global namespace.", 0, c_rb_role },
	COL_AGE,
	{ "Users", "string", "", "Users in the clusterRoleBinding", 1, c_rb_users },
	{ "Groups", "string", "", "Groups in the clusterRoleBinding", 1, c_rb_groups },
	{ "ServiceAccounts", "string", "", "ServiceAccounts in the clusterRoleBinding", 1, c_rb_sas },
};

/* ---- storage ---- */

static cJSON *bool_or(const cJSON *o, const char *path, bool fallback)
{
	const cJSON *v = json_path(o, path);

	return cJSON_CreateBool(cJSON_IsBool(v) ? cJSON_IsTrue(v) : fallback);
}

static cJSON *c_sc_name(const cJSON *o, int64_t now)
{
	const char *a = table__annotation(o, "storageclass.kubernetes.io/is-default-class");
	const char *beta = table__annotation(o, "storageclass.beta.kubernetes.io/is-default-class");
	char *s;
	cJSON *r;

	(void)now;
	if (!(a && !strcmp(a, "true")) && !(beta && !strcmp(beta, "true")))
		return table__path_str(o, "metadata.name", "");
	s = xasprintf("%s (default)", json_get_str(json_get(o, "metadata"), "name", ""));
	r = cJSON_CreateString(s);
	free(s);
	return r;
}
static cJSON *c_sc_prov(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "provisioner", ""); }
static cJSON *c_sc_reclaim(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "reclaimPolicy", "Delete"); }
static cJSON *c_sc_binding(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "volumeBindingMode", "Immediate"); }
static cJSON *c_sc_expand(const cJSON *o, int64_t now) { (void)now; return bool_or(o, "allowVolumeExpansion", false); }
static const struct table_col sc_cols[] = {
	{ "Name", "string", "name", TABLE__NAME_DESC, 0, c_sc_name },
	{ "Provisioner", "string", "", "provisioner indicates the type of the provisioner.", 0, c_sc_prov },
	{ "ReclaimPolicy", "string", "", "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.", 0, c_sc_reclaim },
	{ "VolumeBindingMode", "string", "", "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.", 0, c_sc_binding },
	{ "AllowVolumeExpansion", "string", "", "allowVolumeExpansion shows whether the storage class allow volume expand.", 0, c_sc_expand },
	COL_AGE,
};

static cJSON *c_csi_attach(const cJSON *o, int64_t now) { (void)now; return bool_or(o, "spec.attachRequired", true); }
static cJSON *c_csi_podinfo(const cJSON *o, int64_t now) { (void)now; return bool_or(o, "spec.podInfoOnMount", false); }
static cJSON *c_csi_capacity(const cJSON *o, int64_t now) { (void)now; return bool_or(o, "spec.storageCapacity", false); }
static cJSON *c_csi_republish(const cJSON *o, int64_t now) { (void)now; return bool_or(o, "spec.requiresRepublish", false); }
static cJSON *c_csi_tokens(const cJSON *o, int64_t now)
{
	const cJSON *t, *reqs = json_path(o, "spec.tokenRequests");
	struct buf b = BUF_INIT;

	(void)now;
	if (!cJSON_IsArray(reqs))
		return cJSON_CreateString("<unset>");
	cJSON_ArrayForEach(t, reqs)
		table__join(&b, ",", json_get_str(t, "audience", ""));
	return table__buf_cell(&b, "");
}
static cJSON *c_csi_modes(const cJSON *o, int64_t now)
{
	const cJSON *m;
	struct buf b = BUF_INIT;

	(void)now;
	cJSON_ArrayForEach(m, json_path(o, "spec.volumeLifecycleModes"))
		if (cJSON_IsString(m))
			table__join(&b, ",", m->valuestring);
	return table__buf_cell(&b, "<none>");
}
static const struct table_col csidriver_cols[] = {
	COL_NAME,
	{ "AttachRequired", "boolean", "", "attachRequired indicates this CSI volume driver requires an attach operation.", 0, c_csi_attach },
	{ "PodInfoOnMount", "boolean", "", "podInfoOnMount indicates this CSI volume driver requires additional pod information during mount operations.", 0, c_csi_podinfo },
	{ "StorageCapacity", "boolean", "", "storageCapacity indicates that the CSI volume driver wants pod scheduling to consider the storage capacity.", 0, c_csi_capacity },
	{ "TokenRequests", "string", "", "tokenRequests indicates the CSI driver needs pods' service account tokens it is mounting volume for to do necessary authentication.", 0, c_csi_tokens },
	{ "RequiresRepublish", "boolean", "", "requiresRepublish indicates the CSI driver wants NodePublishVolume being periodically called to reflect any possible change in the mounted volume.", 0, c_csi_republish },
	{ "Modes", "string", "", "volumeLifecycleModes defines what kind of volumes this CSI volume driver supports.", 0, c_csi_modes },
	COL_AGE,
};

static cJSON *c_csinode_drivers(const cJSON *o, int64_t now) { (void)now; return cJSON_CreateNumber(table__count(o, "spec.drivers")); }
static const struct table_col csinode_cols[] = {
	COL_NAME,
	{ "Drivers", "integer", "", "Drivers indicates the number of CSI drivers registered on the node", 0, c_csinode_drivers },
	COL_AGE,
};

static cJSON *c_va_attacher(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.attacher", ""); }
static cJSON *c_va_pv(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.source.persistentVolumeName", ""); }
static cJSON *c_va_node(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "spec.nodeName", ""); }
static cJSON *c_va_attached(const cJSON *o, int64_t now) { (void)now; return bool_or(o, "status.attached", false); }
static const struct table_col va_cols[] = {
	COL_NAME,
	{ "Attacher", "string", "name", "attacher indicates the name of the volume driver that MUST handle this request.", 0, c_va_attacher },
	{ "PV", "string", "", "persistentVolumeName represents the name of the persistent volume to attach.", 0, c_va_pv },
	{ "Node", "string", "", "nodeName represents the node that the volume should be attached to.", 0, c_va_node },
	{ "Attached", "boolean", "", "attached indicates the volume is successfully attached.", 0, c_va_attached },
	COL_AGE,
};

/* ---- scheduling, node, admission ---- */

static cJSON *c_pc_value(const cJSON *o, int64_t now) { (void)now; return table__path_int(o, "value"); }
static cJSON *c_pc_default(const cJSON *o, int64_t now) { (void)now; return bool_or(o, "globalDefault", false); }
static cJSON *c_pc_preemption(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "preemptionPolicy", ""); }
static const struct table_col pc_cols[] = {
	COL_NAME,
	{ "Value", "integer", "", "value represents the integer value of this priority class.", 0, c_pc_value },
	{ "Global-Default", "boolean", "", "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.", 0, c_pc_default },
	COL_AGE,
	{ "PreemptionPolicy", "string", "", "preemptionPolicy is the Policy for preempting pods with lower priority.", 0, c_pc_preemption },
};

static cJSON *c_rc_handler(const cJSON *o, int64_t now) { (void)now; return table__path_str(o, "handler", ""); }
static const struct table_col runtimeclass_cols[] = {
	COL_NAME,
	{ "Handler", "string", "", "handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class.", 0, c_rc_handler },
	COL_AGE,
};

static cJSON *c_webhooks(const cJSON *o, int64_t now) { (void)now; return cJSON_CreateNumber(table__count(o, "webhooks")); }
static const struct table_col webhook_cols[] = {
	COL_NAME,
	{ "Webhooks", "integer", "", "Webhooks indicates the number of webhooks registered in this configuration", 0, c_webhooks },
	COL_AGE,
};

const struct table_printer table__cluster_printers[] = {
	PRINTER("networking.k8s.io", "ingresses", ing_cols),
	PRINTER("networking.k8s.io", "ingressclasses", ic_cols),
	PRINTER("networking.k8s.io", "networkpolicies", np_cols),
	PRINTER("discovery.k8s.io", "endpointslices", eps_cols),
	PRINTER("coordination.k8s.io", "leases", lease_cols),
	PRINTER("certificates.k8s.io", "certificatesigningrequests", csr_cols),
	PRINTER("rbac.authorization.k8s.io", "rolebindings", rb_cols),
	PRINTER("rbac.authorization.k8s.io", "clusterrolebindings", crb_cols),
	PRINTER("storage.k8s.io", "storageclasses", sc_cols),
	PRINTER("storage.k8s.io", "csidrivers", csidriver_cols),
	PRINTER("storage.k8s.io", "csinodes", csinode_cols),
	PRINTER("storage.k8s.io", "volumeattachments", va_cols),
	PRINTER("scheduling.k8s.io", "priorityclasses", pc_cols),
	PRINTER("node.k8s.io", "runtimeclasses", runtimeclass_cols),
	PRINTER("admissionregistration.k8s.io", "mutatingwebhookconfigurations", webhook_cols),
	PRINTER("admissionregistration.k8s.io", "validatingwebhookconfigurations", webhook_cols),
};
const size_t table__cluster_nprinters = ARRAY_SIZE(table__cluster_printers);
