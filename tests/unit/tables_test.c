/* Printer tables: one table-driven test per printer family, exact cells. */
#include "test.h"
#include "server/tables.h"
#include "lib/json.h"
#include "lib/timefmt.h"
#include "lib/util.h"

/* Test JSON is written with ' for " to stay readable. */
static cJSON *parse_q(const char *s)
{
	char *t = xstrdup(s);
	cJSON *o;

	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	o = cJSON_Parse(t);
	free(t);
	return o;
}

struct row_case {
	const char *group, *resource;
	const char *obj;		/* ' for " */
	const char *cells[12];		/* as text: numbers %lld, bools true/false */
};

static void cell_text(const cJSON *c, char *out, size_t len)
{
	if (cJSON_IsString(c))
		snprintf(out, len, "%s", c->valuestring);
	else if (cJSON_IsNumber(c))
		snprintf(out, len, "%lld", (long long)c->valuedouble);
	else if (cJSON_IsBool(c))
		snprintf(out, len, "%s", cJSON_IsTrue(c) ? "true" : "false");
	else
		snprintf(out, len, "<type %d>", c ? c->type : -1);
}

/* The cells must match exactly, in number too. "now" is 01:00 on 2026-01-01. */
static void check_rows(const struct row_case *cases, size_t n)
{
	int64_t now;

	ASSERT_OK(rfc3339_parse("2026-01-01T01:00:00Z", &now));
	for (size_t i = 0; i < n; i++) {
		cJSON *o = parse_q(cases[i].obj), *t, *cells;
		const cJSON *objs[1];
		const struct table_printer *p;
		size_t want = 0;

		if (!o)
			test_fail(__FILE__, __LINE__, "case %zu (%s): bad JSON", i, cases[i].resource);
		objs[0] = o;
		p = table_printer_find(cases[i].group, cases[i].resource);
		t = table_build(p, objs, 1, TABLE_INCLUDE_NONE, NULL, now);
		cells = json_get(cJSON_GetArrayItem(json_get(t, "rows"), 0), "cells");
		while (want < ARRAY_SIZE(cases[i].cells) && cases[i].cells[want])
			want++;
		if ((size_t)cJSON_GetArraySize(cells) != want || p->ncols != want)
			test_fail(__FILE__, __LINE__, "case %zu (%s): %d cells, %zu columns, want %zu", i,
				  cases[i].resource, cJSON_GetArraySize(cells), p->ncols, want);
		for (size_t c = 0; c < want; c++) {
			char got[512];

			cell_text(cJSON_GetArrayItem(cells, (int)c), got, sizeof(got));
			if (strcmp(got, cases[i].cells[c]))
				test_fail(__FILE__, __LINE__, "case %zu (%s) column %s: \"%s\" != \"%s\"", i,
					  cases[i].resource, p->cols[c].name, got, cases[i].cells[c]);
		}
		cJSON_Delete(t);
		cJSON_Delete(o);
	}
}

#define META(name) "'metadata':{'name':'" name "','namespace':'default','creationTimestamp':'2026-01-01T00:00:00Z'}"

TEST(tables_pods)
{
	static const struct row_case cases[] = {
		{ "", "pods", "{" META("init-running") ",'spec':{'initContainers':[{'name':'init'}],'containers':[{'name':'a'}]},"
		  "'status':{'phase':'Pending','initContainerStatuses':[{'name':'init','ready':false,'restartCount':0,'state':{'running':{}}}],"
		  "'containerStatuses':[{'name':'a','ready':false,'restartCount':0,'state':{'waiting':{'reason':'PodInitializing'}}}]}}",
		  { "init-running", "0/1", "Init:0/1", "0", "60m", "<none>", "<none>", "<none>", "<none>" } },
		{ "", "pods", "{" META("pod-init") ",'spec':{'initContainers':[{'name':'init'}],'containers':[{'name':'a'}]},"
		  "'status':{'phase':'Pending','initContainerStatuses':[{'name':'init','ready':false,'restartCount':0,"
		  "'state':{'terminated':{'exitCode':0,'reason':'Completed'}}}],"
		  "'containerStatuses':[{'name':'a','ready':false,'restartCount':0,'state':{'waiting':{'reason':'PodInitializing'}}}]}}",
		  { "pod-init", "0/1", "PodInitializing", "0", "60m", "<none>", "<none>", "<none>", "<none>" } },
		{ "", "pods", "{" META("init-crash") ",'spec':{'nodeName':'n1','initContainers':[{'name':'i1'},{'name':'i2'}],'containers':[{'name':'a'}]},"
		  "'status':{'phase':'Pending','podIP':'10.42.0.7','initContainerStatuses':["
		  "{'name':'i1','restartCount':0,'state':{'terminated':{'exitCode':0,'reason':'Completed'}}},"
		  "{'name':'i2','restartCount':3,'state':{'waiting':{'reason':'CrashLoopBackOff'}},"
		  "'lastState':{'terminated':{'exitCode':1,'finishedAt':'2026-01-01T00:50:00Z'}}}]}}",
		  { "init-crash", "0/1", "Init:CrashLoopBackOff", "3 (10m ago)", "60m", "10.42.0.7", "n1", "<none>", "<none>" } },
		{ "", "pods", "{" META("init-error") ",'spec':{'initContainers':[{'name':'i1'}],'containers':[{'name':'a'}]},"
		  "'status':{'phase':'Pending','initContainerStatuses':[{'name':'i1','restartCount':0,'state':{'terminated':{'exitCode':2,'reason':'Error'}}}]}}",
		  { "init-error", "0/1", "Init:Error", "0", "60m", "<none>", "<none>", "<none>", "<none>" } },
		{ "", "pods", "{" META("init-signal") ",'spec':{'initContainers':[{'name':'i1'}],'containers':[{'name':'a'}]},"
		  "'status':{'phase':'Pending','initContainerStatuses':[{'name':'i1','restartCount':0,'state':{'terminated':{'exitCode':137,'signal':9}}}]}}",
		  { "init-signal", "0/1", "Init:Signal:9", "0", "60m", "<none>", "<none>", "<none>", "<none>" } },
		{ "", "pods", "{" META("sidecar") ",'spec':{'nodeName':'n1','readinessGates':[{'conditionType':'x/ready'}],"
		  "'initContainers':[{'name':'proxy','restartPolicy':'Always'}],'containers':[{'name':'a'}]},"
		  "'status':{'phase':'Running','podIPs':[{'ip':'10.42.0.9'}],'nominatedNodeName':'n2',"
		  "'conditions':[{'type':'Initialized','status':'True'},{'type':'Ready','status':'True'},{'type':'x/ready','status':'True'}],"
		  "'initContainerStatuses':[{'name':'proxy','started':true,'ready':true,'restartCount':2,'state':{'running':{}}}],"
		  "'containerStatuses':[{'name':'a','ready':true,'restartCount':1,'state':{'running':{}}}]}}",
		  { "sidecar", "2/2", "Running", "3", "60m", "10.42.0.9", "n1", "n2", "1/1" } },
		{ "", "pods", "{" META("crash") ",'spec':{'containers':[{'name':'a'},{'name':'b'}]},"
		  "'status':{'phase':'Running','containerStatuses':["
		  "{'name':'a','ready':true,'restartCount':0,'state':{'running':{}}},"
		  "{'name':'b','ready':false,'restartCount':5,'state':{'waiting':{'reason':'CrashLoopBackOff'}},"
		  "'lastState':{'terminated':{'exitCode':1,'finishedAt':'2026-01-01T00:58:00Z'}}}]}}",
		  { "crash", "1/2", "CrashLoopBackOff", "5 (2m ago)", "60m", "<none>", "<none>", "<none>", "<none>" } },
		{ "", "pods", "{" META("done") ",'spec':{'containers':[{'name':'a'}]},"
		  "'status':{'phase':'Succeeded','containerStatuses':[{'name':'a','ready':false,'restartCount':0,"
		  "'state':{'terminated':{'exitCode':0,'reason':'Completed'}}}]}}",
		  { "done", "0/1", "Completed", "0", "60m", "<none>", "<none>", "<none>", "<none>" } },
		{ "", "pods", "{'metadata':{'name':'term','creationTimestamp':'2026-01-01T00:00:00Z','deletionTimestamp':'2026-01-01T00:59:00Z'},"
		  "'spec':{'containers':[{'name':'a'}]},'status':{'phase':'Running','containerStatuses':[{'name':'a','ready':true,'state':{'running':{}}}]}}",
		  { "term", "1/1", "Terminating", "0", "60m", "<none>", "<none>", "<none>", "<none>" } },
		{ "", "pods", "{'metadata':{'name':'lost','creationTimestamp':'2026-01-01T00:00:00Z','deletionTimestamp':'2026-01-01T00:59:00Z'},"
		  "'spec':{'containers':[{'name':'a'}]},'status':{'phase':'Running','reason':'NodeLost'}}",
		  { "lost", "0/1", "Unknown", "0", "60m", "<none>", "<none>", "<none>", "<none>" } },
		{ "", "pods", "{" META("gated") ",'spec':{'containers':[{'name':'a'}]},"
		  "'status':{'phase':'Pending','conditions':[{'type':'PodScheduled','status':'False','reason':'SchedulingGated'}]}}",
		  { "gated", "0/1", "SchedulingGated", "0", "60m", "<none>", "<none>", "<none>", "<none>" } },
	};

	check_rows(cases, ARRAY_SIZE(cases));
}

TEST(tables_pod_row_conditions)
{
	cJSON *o = parse_q("{" META("done") ",'status':{'phase':'Failed'}}"), *t, *c;
	const cJSON *objs[1] = { o };

	t = table_build(table_printer_find("", "pods"), objs, 1, TABLE_INCLUDE_NONE, NULL, 0);
	c = cJSON_GetArrayItem(json_get(cJSON_GetArrayItem(json_get(t, "rows"), 0), "conditions"), 0);
	ASSERT_STR_EQ(json_get_str(c, "type", NULL), "Completed");
	ASSERT_STR_EQ(json_get_str(c, "status", NULL), "True");
	ASSERT_STR_EQ(json_get_str(c, "reason", NULL), "Failed");
	ASSERT_STR_EQ(json_get_str(c, "message", NULL), "The pod failed.");
	cJSON_Delete(t);
	json_set_str(json_obj(o, "status"), "phase", "Running");
	t = table_build(table_printer_find("", "pods"), objs, 1, TABLE_INCLUDE_NONE, NULL, 0);
	ASSERT_NULL(json_get(cJSON_GetArrayItem(json_get(t, "rows"), 0), "conditions"));
	cJSON_Delete(t);
	cJSON_Delete(o);
}

TEST(tables_core)
{
	static const struct row_case cases[] = {
		{ "", "namespaces", "{" META("kube-system") ",'status':{'phase':'Active'}}", { "kube-system", "Active", "60m" } },
		{ "", "configmaps", "{" META("cm") ",'data':{'a':'1'},'binaryData':{'b':'AA=='}}", { "cm", "2", "60m" } },
		{ "", "secrets", "{" META("tls") ",'type':'kubernetes.io/tls','data':{'tls.crt':'','tls.key':''}}",
		  { "tls", "kubernetes.io/tls", "2", "60m" } },
		{ "", "serviceaccounts", "{" META("default") "}", { "default", "0", "60m" } },
		{ "", "podtemplates", "{" META("tmpl") ",'template':{'metadata':{'labels':{'tier':'fe','app':'web'}},"
		  "'spec':{'containers':[{'name':'web','image':'nginx:1.27'},{'name':'log','image':'busybox'}]}}}",
		  { "tmpl", "web,log", "nginx:1.27,busybox", "app=web,tier=fe" } },
		{ "", "services", "{" META("kube-dns") ",'spec':{'type':'ClusterIP','clusterIP':'10.43.0.10','clusterIPs':['10.43.0.10'],"
		  "'ports':[{'port':53,'protocol':'UDP'},{'port':53,'protocol':'TCP'}],'selector':{'k8s-app':'kube-dns'}}}",
		  { "kube-dns", "ClusterIP", "10.43.0.10", "<none>", "53/UDP,53/TCP", "60m", "k8s-app=kube-dns" } },
		{ "", "services", "{" META("lb") ",'spec':{'type':'LoadBalancer','clusterIPs':['10.43.1.1'],"
		  "'ports':[{'port':80,'nodePort':30080,'protocol':'TCP'}],'selector':{'b':'2','a':'1'}}}",
		  { "lb", "LoadBalancer", "10.43.1.1", "<pending>", "80:30080/TCP", "60m", "a=1,b=2" } },
		{ "", "services", "{" META("lb2") ",'spec':{'type':'LoadBalancer','clusterIPs':['10.43.1.2'],'externalIPs':['1.2.3.4'],"
		  "'ports':[{'port':443,'protocol':'TCP'}]},'status':{'loadBalancer':{'ingress':[{'hostname':'lb.example.com'},{'ip':'192.168.1.5'}]}}}",
		  { "lb2", "LoadBalancer", "10.43.1.2", "192.168.1.5,lb.example.com,1.2.3.4", "443/TCP", "60m", "<none>" } },
		{ "", "services", "{" META("ext") ",'spec':{'type':'ExternalName','externalName':'db.example.com'}}",
		  { "ext", "ExternalName", "<none>", "db.example.com", "<none>", "60m", "<none>" } },
		{ "", "endpoints", "{" META("web") ",'subsets':[{'addresses':[{'ip':'10.42.0.5'},{'ip':'10.42.0.6'}],"
		  "'ports':[{'port':8080},{'port':9090}]}]}",
		  { "web", "10.42.0.5:8080,10.42.0.6:8080,10.42.0.5:9090 + 1 more...", "60m" } },
		{ "", "endpoints", "{" META("headless") ",'subsets':[{'addresses':[{'ip':'fd00::1'}]}]}", { "headless", "fd00::1", "60m" } },
		{ "", "endpoints", "{" META("v6") ",'subsets':[{'addresses':[{'ip':'fd00::1'}],'ports':[{'port':80}]}]}",
		  { "v6", "[fd00::1]:80", "60m" } },
		{ "", "endpoints", "{" META("empty") "}", { "empty", "<none>", "60m" } },
		{ "", "nodes", "{'metadata':{'name':'n1','creationTimestamp':'2026-01-01T00:00:00Z','labels':{"
		  "'node-role.kubernetes.io/master':'','node-role.kubernetes.io/control-plane':'true','kubernetes.io/role':'master'}},"
		  "'spec':{'unschedulable':true},'status':{'conditions':[{'type':'MemoryPressure','status':'False'},{'type':'Ready','status':'True'}],"
		  "'addresses':[{'type':'Hostname','address':'n1'},{'type':'InternalIP','address':'10.0.0.2'}],"
		  "'nodeInfo':{'kubeletVersion':'v1.36.0+k1s','osImage':'Debian GNU/Linux 13 (trixie)','kernelVersion':'6.12.0','containerRuntimeVersion':'containerd://2.1.0'}}}",
		  { "n1", "Ready,SchedulingDisabled", "control-plane,master", "60m", "v1.36.0+k1s", "10.0.0.2", "<none>",
		    "Debian GNU/Linux 13 (trixie)", "6.12.0", "containerd://2.1.0" } },
		{ "", "nodes", "{'metadata':{'name':'n2','creationTimestamp':'2026-01-01T00:00:00Z'},'status':{'conditions':[{'type':'Ready','status':'Unknown'}]}}",
		  { "n2", "NotReady", "<none>", "60m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>" } },
		{ "", "nodes", "{'metadata':{'name':'n3','creationTimestamp':'2026-01-01T00:00:00Z'}}",
		  { "n3", "Unknown", "<none>", "60m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>" } },
	};

	check_rows(cases, ARRAY_SIZE(cases));
}

TEST(tables_events)
{
	static const struct row_case cases[] = {
		{ "", "events", "{" META("web-1.abc") ",'involvedObject':{'kind':'Pod','name':'web-1','fieldPath':'spec.containers{web}'},"
		  "'reason':'Pulled','message':'  Successfully pulled image \\n','source':{'component':'kubelet','host':'node1'},"
		  "'firstTimestamp':'2026-01-01T00:30:00Z','lastTimestamp':'2026-01-01T00:50:00Z','count':3,'type':'Normal'}",
		  { "10m", "Normal", "Pulled", "pod/web-1", "spec.containers{web}", "kubelet, node1", "Successfully pulled image",
		    "30m", "3", "web-1.abc" } },
		{ "", "events", "{" META("ns.1") ",'involvedObject':{'kind':'Namespace'},'reason':'Created','message':'m',"
		  "'firstTimestamp':null,'lastTimestamp':null,'eventTime':'2026-01-01T00:58:00.000000Z','reportingComponent':'k1s',"
		  "'reportingInstance':'k1s-node1','type':'Warning'}",
		  { "2m", "Warning", "Created", "namespace", "", "k1s, k1s-node1", "m", "2m", "1", "ns.1" } },
		{ "events.k8s.io", "events", "{" META("web.1") ",'regarding':{'kind':'Deployment','name':'web'},'note':'Scaled up',"
		  "'reportingController':'deployment-controller','reportingInstance':'','eventTime':'2026-01-01T00:55:00.000000Z',"
		  "'series':{'count':4,'lastObservedTime':'2026-01-01T00:59:00.000000Z'},'type':'Normal','reason':'ScalingReplicaSet',"
		  "'deprecatedFirstTimestamp':null}",
		  { "60s", "Normal", "ScalingReplicaSet", "deployment/web", "", "deployment-controller", "Scaled up", "5m", "4", "web.1" } },
	};

	check_rows(cases, ARRAY_SIZE(cases));
}

TEST(tables_storage_and_quota)
{
	static const struct row_case cases[] = {
		{ "", "persistentvolumes", "{" META("pv1") ",'spec':{'capacity':{'storage':'10Gi'},'accessModes':['ReadWriteMany','ReadWriteOnce'],"
		  "'persistentVolumeReclaimPolicy':'Retain','claimRef':{'namespace':'default','name':'data'},'storageClassName':'local-path',"
		  "'volumeMode':'Filesystem'},'status':{'phase':'Bound'}}",
		  { "pv1", "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "local-path", "<unset>", "", "60m", "Filesystem" } },
		{ "", "persistentvolumes", "{'metadata':{'name':'pv2','creationTimestamp':'2026-01-01T00:00:00Z','deletionTimestamp':'2026-01-01T00:59:00Z'},"
		  "'spec':{'accessModes':['ReadWriteOncePod'],'persistentVolumeReclaimPolicy':'Delete','volumeAttributesClassName':'gold'},"
		  "'status':{'phase':'Failed','reason':'Recycling failed'}}",
		  { "pv2", "0", "RWOP", "Delete", "Terminating", "", "", "gold", "Recycling failed", "60m", "<unset>" } },
		{ "", "persistentvolumeclaims", "{" META("data") ",'spec':{'volumeName':'pv1','storageClassName':'fast',"
		  "'resources':{'requests':{'storage':'5Gi'}}},'status':{'phase':'Bound','capacity':{'storage':'10Gi'},'accessModes':['ReadWriteOnce']}}",
		  { "data", "Bound", "pv1", "10Gi", "RWO", "fast", "<unset>", "60m", "<unset>" } },
		{ "", "persistentvolumeclaims", "{'metadata':{'name':'old','creationTimestamp':'2026-01-01T00:00:00Z',"
		  "'annotations':{'volume.beta.kubernetes.io/storage-class':'legacy'}},'spec':{'storageClassName':'fast','volumeMode':'Block'},"
		  "'status':{'phase':'Pending'}}",
		  { "old", "Pending", "", "", "", "legacy", "<unset>", "60m", "Block" } },
		{ "", "resourcequotas", "{" META("q") ",'status':{'hard':{'pods':'10','requests.cpu':'1','limits.memory':'2Gi',"
		  "'limits.cpu':'2','requests.memory':'1Gi'},'used':{'pods':'3','requests.cpu':'500m','limits.cpu':'1'}}}",
		  { "q", "pods: 3/10, requests.cpu: 500m/1, requests.memory: 0/1Gi", "limits.cpu: 1/2, limits.memory: 0/2Gi", "60m" } },
	};

	check_rows(cases, ARRAY_SIZE(cases));
}

TEST(tables_default_printer)
{
	static const char *const defaults[][2] = {
		{ "", "limitranges" },
		{ "rbac.authorization.k8s.io", "clusterroles" },
		{ "rbac.authorization.k8s.io", "roles" },
		{ "apiextensions.k8s.io", "customresourcedefinitions" },
		{ "example.com", "widgets" },
	};
	static const struct row_case cases[] = {
		{ "", "limitranges", "{" META("lr") "}", { "lr", "2026-01-01T00:00:00Z" } },
		{ "apiextensions.k8s.io", "customresourcedefinitions", "{" META("widgets.example.com") "}",
		  { "widgets.example.com", "2026-01-01T00:00:00Z" } },
	};

	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++) {
		const struct table_printer *p = table_printer_find(defaults[i][0], defaults[i][1]);

		ASSERT_EQ(p->ncols, 2);
		ASSERT_STR_EQ(p->cols[0].name, "Name");
		ASSERT_STR_EQ(p->cols[1].name, "Created At");
		ASSERT_STR_EQ(p->cols[1].type, "date");
	}
	check_rows(cases, ARRAY_SIZE(cases));
}

TEST(tables_column_definitions)
{
	static const struct { const char *group, *resource, *names; } cases[] = {
		{ "batch", "jobs", "Name,Status,Completions,Duration,Age,Containers*,Images*,Selector*" },
		{ "batch", "cronjobs", "Name,Schedule,Timezone,Suspend,Active,Last Schedule,Age,Containers*,Images*,Selector*" },
		{ "", "events", "Last Seen,Type,Reason,Object,Subobject*,Source*,Message,First Seen*,Count*,Name*" },
		{ "", "pods", "Name,Ready,Status,Restarts,Age,IP*,Node*,Nominated Node*,Readiness Gates*" },
		{ "autoscaling", "horizontalpodautoscalers", "Name,Reference,Targets,MinPods,MaxPods,Replicas,Age" },
		{ "certificates.k8s.io", "certificatesigningrequests", "Name,Age,SignerName,Requestor,RequestedDuration,Condition" },
		{ "scheduling.k8s.io", "priorityclasses", "Name,Value,Global-Default,Age,PreemptionPolicy" },
		{ "", "persistentvolumes", "Name,Capacity,Access Modes,Reclaim Policy,Status,Claim,StorageClass,VolumeAttributesClass,Reason,Age,VolumeMode*" },
	};
	int64_t now = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cJSON *t = table_build(table_printer_find(cases[i].group, cases[i].resource), NULL, 0,
				       TABLE_INCLUDE_NONE, NULL, now);
		const cJSON *d;
		struct buf b = BUF_INIT;

		cJSON_ArrayForEach(d, json_get(t, "columnDefinitions"))
			buf_addf(&b, "%s%s%s", b.len ? "," : "", json_get_str(d, "name", ""),
				 json_get_int(d, "priority", 0) ? "*" : "");
		ASSERT_STR_EQ(b.data, cases[i].names);
		ASSERT_EQ(cJSON_GetArraySize(json_get(t, "rows")), 0);
		buf_release(&b);
		cJSON_Delete(t);
	}
}

#define TMPL "'template':{'spec':{'containers':[{'name':'web','image':'nginx:1.27'},{'name':'side','image':'busybox'}]}}"

TEST(tables_apps)
{
	static const struct row_case cases[] = {
		{ "apps", "deployments", "{" META("web") ",'spec':{'replicas':3,'selector':{'matchLabels':{'app':'web'},"
		  "'matchExpressions':[{'key':'tier','operator':'In','values':['fe','be']},{'key':'canary','operator':'DoesNotExist'}]}," TMPL "},"
		  "'status':{'readyReplicas':2,'updatedReplicas':3,'availableReplicas':2}}",
		  { "web", "2/3", "3", "2", "60m", "web,side", "nginx:1.27,busybox", "app=web,!canary,tier in (be,fe)" } },
		{ "apps", "deployments", "{" META("empty") ",'spec':{'replicas':0,'selector':{}}}",
		  { "empty", "0/0", "0", "0", "60m", "", "", "" } },
		{ "apps", "replicasets", "{" META("web-abc") ",'spec':{'replicas':2,'selector':{'matchLabels':{'pod-template-hash':'abc','app':'web'}}," TMPL "},"
		  "'status':{'replicas':2,'readyReplicas':1}}",
		  { "web-abc", "2", "2", "1", "60m", "web,side", "nginx:1.27,busybox", "app=web,pod-template-hash=abc" } },
		{ "", "replicationcontrollers", "{" META("rc") ",'spec':{'replicas':1,'selector':{'app':'rc'}}}",
		  { "rc", "1", "0", "0", "60m", "", "", "app=rc" } },
		{ "apps", "daemonsets", "{" META("ds") ",'spec':{'selector':{'matchLabels':{'app':'ds'}},'template':{'spec':{"
		  "'nodeSelector':{'kubernetes.io/os':'linux'},'containers':[{'name':'agent','image':'k1s'}]}}},"
		  "'status':{'desiredNumberScheduled':3,'currentNumberScheduled':3,'numberReady':2,'updatedNumberScheduled':3,'numberAvailable':2}}",
		  { "ds", "3", "3", "2", "3", "2", "kubernetes.io/os=linux", "60m", "agent", "k1s", "app=ds" } },
		{ "apps", "statefulsets", "{" META("db") ",'spec':{'replicas':3," TMPL "},'status':{'readyReplicas':1}}",
		  { "db", "1/3", "60m", "web,side", "nginx:1.27,busybox" } },
		{ "apps", "controllerrevisions", "{'metadata':{'name':'db-7f9','creationTimestamp':'2026-01-01T00:00:00Z','ownerReferences':["
		  "{'apiVersion':'v1','kind':'Pod','name':'x'},{'apiVersion':'apps/v1','kind':'StatefulSet','name':'db','controller':true}]},'revision':2}",
		  { "db-7f9", "statefulset.apps/db", "2", "60m" } },
		{ "apps", "controllerrevisions", "{" META("orphan") ",'revision':1}", { "orphan", "<none>", "1", "60m" } },
		{ "policy", "poddisruptionbudgets", "{" META("pdb") ",'spec':{'minAvailable':1},'status':{'disruptionsAllowed':0}}",
		  { "pdb", "1", "N/A", "0", "60m" } },
		{ "policy", "poddisruptionbudgets", "{" META("pdb2") ",'spec':{'maxUnavailable':'25%'},'status':{'disruptionsAllowed':2}}",
		  { "pdb2", "N/A", "25%", "2", "60m" } },
	};

	check_rows(cases, ARRAY_SIZE(cases));
}

TEST(tables_batch)
{
	static const struct row_case cases[] = {
		{ "batch", "jobs", "{" META("done") ",'spec':{'completions':3,'parallelism':1,'selector':{'matchLabels':"
		  "{'batch.kubernetes.io/controller-uid':'u1'}}," TMPL "},'status':{'succeeded':3,'startTime':'2026-01-01T00:00:00Z',"
		  "'completionTime':'2026-01-01T00:02:30Z','conditions':[{'type':'SuccessCriteriaMet','status':'True'},{'type':'Complete','status':'True'}]}}",
		  { "done", "Complete", "3/3", "2m30s", "60m", "web,side", "nginx:1.27,busybox", "batch.kubernetes.io/controller-uid=u1" } },
		{ "batch", "jobs", "{" META("par") ",'spec':{'parallelism':4},'status':{'succeeded':1,'startTime':'2026-01-01T00:55:00Z'}}",
		  { "par", "Running", "1/1 of 4", "5m", "60m", "", "", "<none>" } },
		{ "batch", "jobs", "{" META("susp") ",'spec':{'suspend':true},'status':{'conditions':[{'type':'Suspended','status':'True'}]}}",
		  { "susp", "Suspended", "0/1", "", "60m", "", "", "<none>" } },
		{ "batch", "jobs", "{" META("fail") ",'spec':{'completions':1},'status':{'failed':6,'startTime':'2026-01-01T00:10:00Z',"
		  "'conditions':[{'type':'FailureTarget','status':'True'},{'type':'Failed','status':'True'}]}}",
		  { "fail", "Failed", "0/1", "50m", "60m", "", "", "<none>" } },
		{ "batch", "jobs", "{'metadata':{'name':'term','creationTimestamp':'2026-01-01T00:00:00Z','deletionTimestamp':'2026-01-01T00:59:00Z'},"
		  "'spec':{'completions':2},'status':{'conditions':[{'type':'Complete','status':'False'}]}}",
		  { "term", "Terminating", "0/2", "", "60m", "", "", "<none>" } },
		{ "batch", "cronjobs", "{" META("backup") ",'spec':{'schedule':'*/5 * * * *','suspend':false,'jobTemplate':{'spec':{"
		  "'template':{'spec':{'containers':[{'name':'b','image':'alpine'}]}}}}},"
		  "'status':{'active':[{'name':'backup-1'}],'lastScheduleTime':'2026-01-01T00:55:00Z'}}",
		  { "backup", "*/5 * * * *", "<none>", "False", "1", "5m", "60m", "b", "alpine", "<none>" } },
		{ "batch", "cronjobs", "{" META("tz") ",'spec':{'schedule':'@daily','timeZone':'Etc/UTC'}}",
		  { "tz", "@daily", "Etc/UTC", "<unset>", "0", "<none>", "60m", "", "", "<none>" } },
	};

	check_rows(cases, ARRAY_SIZE(cases));
}

TEST(tables_hpa)
{
	static const struct row_case cases[] = {
		{ "autoscaling", "horizontalpodautoscalers", "{'apiVersion':'autoscaling/v2','kind':'HorizontalPodAutoscaler'," META("web") ","
		  "'spec':{'scaleTargetRef':{'apiVersion':'apps/v1','kind':'Deployment','name':'web'},'minReplicas':1,'maxReplicas':10,'metrics':["
		  "{'type':'Resource','resource':{'name':'cpu','target':{'type':'Utilization','averageUtilization':80}}},"
		  "{'type':'Resource','resource':{'name':'memory','target':{'type':'AverageValue','averageValue':'500Mi'}}},"
		  "{'type':'Pods','pods':{'metric':{'name':'packets'},'target':{'type':'AverageValue','averageValue':'1k'}}}]},"
		  "'status':{'currentReplicas':3,'desiredReplicas':3,'currentMetrics':["
		  "{'type':'Resource','resource':{'name':'cpu','current':{'averageUtilization':45,'averageValue':'120m'}}},"
		  "{'type':'Resource','resource':{'name':'memory','current':{'averageValue':'300Mi'}}}]}}",
		  { "web", "Deployment/web", "cpu: 45%/80%, memory: 300Mi/500Mi + 1 more...", "1", "10", "3", "60m" } },
		{ "autoscaling", "horizontalpodautoscalers", "{'apiVersion':'autoscaling/v2','kind':'HorizontalPodAutoscaler'," META("ext") ","
		  "'spec':{'scaleTargetRef':{'kind':'Deployment','name':'worker'},'maxReplicas':5,'metrics':["
		  "{'type':'External','external':{'metric':{'name':'queue'},'target':{'type':'Value','value':'100'}}},"
		  "{'type':'Object','object':{'metric':{'name':'rps'},'describedObject':{'kind':'Ingress','name':'main'},"
		  "'target':{'type':'AverageValue','averageValue':'2k'}}}]},"
		  "'status':{'currentReplicas':2,'currentMetrics':[{'type':'External','external':{'metric':{'name':'queue'},'current':{'value':'42'}}}]}}",
		  { "ext", "Deployment/worker", "42/100, <unknown>/2k (avg)", "<unset>", "5", "2", "60m" } },
		{ "autoscaling", "horizontalpodautoscalers", "{'apiVersion':'autoscaling/v1','kind':'HorizontalPodAutoscaler'," META("v1") ","
		  "'spec':{'scaleTargetRef':{'kind':'Deployment','name':'web'},'maxReplicas':4,'targetCPUUtilizationPercentage':50},"
		  "'status':{'currentReplicas':1,'desiredReplicas':1,'currentCPUUtilizationPercentage':20}}",
		  { "v1", "Deployment/web", "cpu: 20%/50%", "<unset>", "4", "1", "60m" } },
		{ "autoscaling", "horizontalpodautoscalers", "{'apiVersion':'autoscaling/v1','kind':'HorizontalPodAutoscaler',"
		  "'metadata':{'name':'v1ann','creationTimestamp':'2026-01-01T00:00:00Z','annotations':{'autoscaling.alpha.kubernetes.io/metrics':"
		  "'[{\\'type\\':\\'External\\',\\'external\\':{\\'metricName\\':\\'queue\\',\\'targetAverageValue\\':\\'30\\'}}]'}},"
		  "'spec':{'scaleTargetRef':{'kind':'Deployment','name':'web'},'minReplicas':2,'maxReplicas':4,'targetCPUUtilizationPercentage':50},"
		  "'status':{'currentReplicas':2,'desiredReplicas':2,'currentCPUUtilizationPercentage':20}}",
		  { "v1ann", "Deployment/web", "<unknown>/30 (avg), cpu: <unknown>/50%", "2", "4", "2", "60m" } },
		{ "autoscaling", "horizontalpodautoscalers", "{'apiVersion':'autoscaling/v2'," META("none") ",'spec':{'scaleTargetRef':{'kind':'StatefulSet','name':'db'},'maxReplicas':3}}",
		  { "none", "StatefulSet/db", "<none>", "<unset>", "3", "0", "60m" } },
	};

	check_rows(cases, ARRAY_SIZE(cases));
}

TEST(tables_cluster)
{
	static const struct row_case cases[] = {
		{ "networking.k8s.io", "ingresses", "{" META("ing") ",'spec':{'ingressClassName':'traefik','tls':[{'hosts':['a.example.com']}],"
		  "'rules':[{'host':'a.example.com'},{'host':'b.example.com'},{},{'host':'d.example.com'},{'host':'e.example.com'}]},"
		  "'status':{'loadBalancer':{'ingress':[{'ip':'10.0.0.6'},{'ip':'10.0.0.5'}]}}}",
		  { "ing", "traefik", "a.example.com,b.example.com,d.example.com + 2 more...", "10.0.0.5,10.0.0.6", "80, 443", "60m" } },
		{ "networking.k8s.io", "ingresses", "{" META("bare") ",'spec':{'defaultBackend':{'service':{'name':'x'}}}}",
		  { "bare", "<none>", "*", "", "80", "60m" } },
		{ "networking.k8s.io", "ingressclasses", "{" META("nginx") ",'spec':{'controller':'k8s.io/ingress-nginx','parameters':"
		  "{'apiGroup':'k8s.example.com','kind':'IngressParameters','name':'external-lb'}}}",
		  { "nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external-lb", "60m" } },
		{ "networking.k8s.io", "ingressclasses", "{" META("plain") ",'spec':{'controller':'traefik.io/ingress-controller'}}",
		  { "plain", "traefik.io/ingress-controller", "<none>", "60m" } },
		{ "networking.k8s.io", "networkpolicies", "{" META("deny") ",'spec':{'podSelector':{}}}", { "deny", "<none>", "60m" } },
		{ "networking.k8s.io", "networkpolicies", "{" META("db") ",'spec':{'podSelector':{'matchLabels':{'role':'db'},"
		  "'matchExpressions':[{'key':'env','operator':'NotIn','values':['prod']},{'key':'zone','operator':'Exists'}]}}}",
		  { "db", "env notin (prod),role=db,zone", "60m" } },
		{ "discovery.k8s.io", "endpointslices", "{" META("web-x") ",'addressType':'IPv4','ports':[{'port':80,'name':'http'},"
		  "{'name':'metrics'},{},{'port':9}],'endpoints':[{'addresses':['10.0.0.1']},{'addresses':['10.0.0.2','10.0.0.3']}]}",
		  { "web-x", "IPv4", "80,metrics,* + 1 more...", "10.0.0.1,10.0.0.2,10.0.0.3", "60m" } },
		{ "discovery.k8s.io", "endpointslices", "{" META("empty") ",'addressType':'IPv6','endpoints':[]}",
		  { "empty", "IPv6", "<unset>", "<unset>", "60m" } },
		{ "coordination.k8s.io", "leases", "{" META("n1") ",'spec':{'holderIdentity':'n1'}}", { "n1", "n1", "60m" } },
		{ "coordination.k8s.io", "leases", "{" META("free") ",'spec':{}}", { "free", "", "60m" } },
		{ "certificates.k8s.io", "certificatesigningrequests", "{" META("csr-1") ",'spec':{'signerName':'kubernetes.io/kube-apiserver-client-kubelet',"
		  "'username':'system:node:n1','expirationSeconds':86400},'status':{'conditions':[{'type':'Approved','status':'True'}],'certificate':'LS0t'}}",
		  { "csr-1", "60m", "kubernetes.io/kube-apiserver-client-kubelet", "system:node:n1", "24h", "Approved,Issued" } },
		{ "certificates.k8s.io", "certificatesigningrequests", "{" META("csr-2") ",'spec':{'username':'bob'},"
		  "'status':{'conditions':[{'type':'Approved'},{'type':'Denied'},{'type':'Failed'}]}}",
		  { "csr-2", "60m", "<none>", "bob", "<none>", "Denied,Failed" } },
		{ "certificates.k8s.io", "certificatesigningrequests", "{" META("csr-3") ",'spec':{'signerName':'example.com/x','username':'u'}}",
		  { "csr-3", "60m", "example.com/x", "u", "<none>", "Pending" } },
	};

	check_rows(cases, ARRAY_SIZE(cases));
}

TEST(tables_rbac_storage_scheduling)
{
	static const struct row_case cases[] = {
		{ "rbac.authorization.k8s.io", "rolebindings", "{" META("admins") ",'roleRef':{'apiGroup':'rbac.authorization.k8s.io',"
		  "'kind':'ClusterRole','name':'admin'},'subjects':[{'kind':'User','name':'alice'},{'kind':'Group','name':'devs'},"
		  "{'kind':'ServiceAccount','name':'sa1','namespace':'ns1'},{'kind':'User','name':'bob'}]}",
		  { "admins", "ClusterRole/admin", "60m", "alice, bob", "devs", "ns1/sa1" } },
		{ "rbac.authorization.k8s.io", "clusterrolebindings", "{" META("nodes") ",'roleRef':{'kind':'ClusterRole','name':'system:node'}}",
		  { "nodes", "ClusterRole/system:node", "60m", "", "", "" } },
		{ "storage.k8s.io", "storageclasses", "{'metadata':{'name':'local-path','creationTimestamp':'2026-01-01T00:00:00Z',"
		  "'annotations':{'storageclass.kubernetes.io/is-default-class':'true'}},'provisioner':'rancher.io/local-path',"
		  "'volumeBindingMode':'WaitForFirstConsumer'}",
		  { "local-path (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", "false", "60m" } },
		{ "storage.k8s.io", "storageclasses", "{'metadata':{'name':'fast','creationTimestamp':'2026-01-01T00:00:00Z',"
		  "'annotations':{'storageclass.kubernetes.io/is-default-class':'false'}},'provisioner':'csi.example.com',"
		  "'reclaimPolicy':'Retain','allowVolumeExpansion':true}",
		  { "fast", "csi.example.com", "Retain", "Immediate", "true", "60m" } },
		{ "storage.k8s.io", "csidrivers", "{" META("csi.example.com") ",'spec':{'attachRequired':false,'podInfoOnMount':true,"
		  "'volumeLifecycleModes':['Persistent','Ephemeral'],'tokenRequests':[{'audience':'vault'},{'audience':'api'}]}}",
		  { "csi.example.com", "false", "true", "false", "vault,api", "false", "Persistent,Ephemeral", "60m" } },
		{ "storage.k8s.io", "csidrivers", "{" META("plain.csi") ",'spec':{}}",
		  { "plain.csi", "true", "false", "false", "<unset>", "false", "<none>", "60m" } },
		{ "storage.k8s.io", "csinodes", "{" META("n1") ",'spec':{'drivers':[{'name':'a'}]}}", { "n1", "1", "60m" } },
		{ "storage.k8s.io", "volumeattachments", "{" META("csi-123") ",'spec':{'attacher':'csi.example.com','nodeName':'n1',"
		  "'source':{'persistentVolumeName':'pv1'}},'status':{'attached':true}}",
		  { "csi-123", "csi.example.com", "pv1", "n1", "true", "60m" } },
		{ "scheduling.k8s.io", "priorityclasses", "{" META("system-node-critical") ",'value':2000001000,'preemptionPolicy':'PreemptLowerPriority'}",
		  { "system-node-critical", "2000001000", "false", "60m", "PreemptLowerPriority" } },
		{ "scheduling.k8s.io", "priorityclasses", "{" META("default") ",'value':1000,'globalDefault':true}",
		  { "default", "1000", "true", "60m", "" } },
		{ "node.k8s.io", "runtimeclasses", "{" META("gvisor") ",'handler':'runsc'}", { "gvisor", "runsc", "60m" } },
		{ "admissionregistration.k8s.io", "validatingwebhookconfigurations", "{" META("vw") ",'webhooks':[{},{}]}", { "vw", "2", "60m" } },
		{ "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "{" META("mw") "}", { "mw", "0", "60m" } },
	};

	check_rows(cases, ARRAY_SIZE(cases));
}
