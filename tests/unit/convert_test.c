/* Version conversion: Event core/v1 <-> events.k8s.io/v1, HPA autoscaling/v2 <-> v1. */
#include "test.h"
#include "server/convert.h"
#include "lib/json.h"
#include "lib/util.h"

#include <errno.h>

/* Test JSON is written with ' for " (and \\' for a quote inside a string). */
static cJSON *parse_q(const char *s)
{
	char *t = xstrdup(s), *w = t;
	cJSON *o;

	for (const char *p = s; *p; p++) {
		if (*p == '\\' && p[1] == '\'') {
			*w++ = '\\';
			*w++ = '"';
			p++;
		} else {
			*w++ = *p == '\'' ? '"' : *p;
		}
	}
	*w = '\0';
	o = cJSON_Parse(t);
	if (!o)
		test_fail(__FILE__, __LINE__, "bad test JSON: %s", t);
	free(t);
	return o;
}

static void assert_json_eq(const char *file, int line, const cJSON *got, const cJSON *want)
{
	if (!cJSON_Compare(got, want, 1)) {
		char *g = json_print(got), *w = json_print(want);

		test_fail(file, line, "JSON differs:\n got: %s\nwant: %s", g, w);
	}
}
#define ASSERT_JSON_EQ(got, want) assert_json_eq(__FILE__, __LINE__, got, want)

/* The annotation key of o parsed as JSON. */
static cJSON *annotation(const cJSON *o, const char *key)
{
	const cJSON *v = json_get(json_path(o, "metadata.annotations"), key);

	if (!cJSON_IsString(v))
		test_fail(__FILE__, __LINE__, "annotation %s missing", key);
	return cJSON_Parse(v->valuestring);
}

#define CORE_EVENT "{'apiVersion':'v1','kind':'Event','metadata':{'name':'web-1.17f','namespace':'default'}," \
	"'involvedObject':{'kind':'Pod','namespace':'default','name':'web-1','uid':'u1','apiVersion':'v1','fieldPath':'spec.containers{web}'}," \
	"'reason':'Pulled','message':'Successfully pulled image','source':{'component':'kubelet','host':'node1'}," \
	"'firstTimestamp':'2026-01-01T00:30:00Z','lastTimestamp':'2026-01-01T00:50:00Z','count':3,'type':'Normal'," \
	"'eventTime':null,'reportingComponent':'kubelet','reportingInstance':'node1'}"

TEST(convert_event_core_to_events_v1)
{
	cJSON *o = parse_q(CORE_EVENT), *want = parse_q(
		"{'apiVersion':'events.k8s.io/v1','kind':'Event','metadata':{'name':'web-1.17f','namespace':'default'},"
		"'regarding':{'kind':'Pod','namespace':'default','name':'web-1','uid':'u1','apiVersion':'v1','fieldPath':'spec.containers{web}'},"
		"'reason':'Pulled','note':'Successfully pulled image','deprecatedSource':{'component':'kubelet','host':'node1'},"
		"'deprecatedFirstTimestamp':'2026-01-01T00:30:00Z','deprecatedLastTimestamp':'2026-01-01T00:50:00Z','deprecatedCount':3,"
		"'type':'Normal','eventTime':null,'reportingController':'kubelet','reportingInstance':'node1'}");
	cJSON *orig = parse_q(CORE_EVENT);

	ASSERT_OK(convert_object(o, "events.k8s.io", "v1"));
	ASSERT_JSON_EQ(o, want);
	/* source.host stays in deprecatedSource; it is not reportingInstance */
	ASSERT_STR_EQ(json_get_str(json_get(o, "deprecatedSource"), "host", NULL), "node1");
	ASSERT_OK(convert_object(o, "", "v1"));
	ASSERT_JSON_EQ(o, orig);
	cJSON_Delete(o);
	cJSON_Delete(want);
	cJSON_Delete(orig);
}

TEST(convert_event_events_v1_to_core)
{
	const char *ev = "{'apiVersion':'events.k8s.io/v1','kind':'Event','metadata':{'name':'web.1','namespace':'default'},"
		"'eventTime':'2026-01-01T00:55:00.000000Z','series':{'count':4,'lastObservedTime':'2026-01-01T00:59:00.000000Z'},"
		"'reportingController':'deployment-controller','reportingInstance':'k1s-1','action':'Scale','reason':'ScalingReplicaSet',"
		"'regarding':{'kind':'Deployment','name':'web','namespace':'default','apiVersion':'apps/v1'},"
		"'related':{'kind':'ReplicaSet','name':'web-abc','namespace':'default'},'note':'Scaled up replica set web-abc to 3',"
		"'type':'Normal'}";
	cJSON *o = parse_q(ev), *orig = parse_q(ev);

	ASSERT_OK(convert_object(o, "", "v1"));
	ASSERT_STR_EQ(json_get_str(o, "apiVersion", NULL), "v1");
	ASSERT_STR_EQ(json_get_str(o, "kind", NULL), "Event");
	ASSERT_STR_EQ(json_get_str(json_get(o, "involvedObject"), "name", NULL), "web");
	ASSERT_STR_EQ(json_get_str(o, "message", NULL), "Scaled up replica set web-abc to 3");
	ASSERT_STR_EQ(json_get_str(o, "reportingComponent", NULL), "deployment-controller");
	ASSERT_STR_EQ(json_get_str(o, "reportingInstance", NULL), "k1s-1");
	ASSERT_STR_EQ(json_get_str(o, "action", NULL), "Scale");
	ASSERT_STR_EQ(json_get_str(json_get(o, "related"), "name", NULL), "web-abc");
	ASSERT_EQ(json_get_int(json_get(o, "series"), "count", 0), 4);
	ASSERT_STR_EQ(json_get_str(o, "eventTime", NULL), "2026-01-01T00:55:00.000000Z");
	ASSERT_NULL(json_get(o, "regarding"));
	ASSERT_NULL(json_get(o, "note"));
	ASSERT_NULL(json_get(o, "reportingController"));
	ASSERT_NULL(json_get(o, "source"));	/* absent stays absent */
	ASSERT_NULL(json_get(o, "count"));
	ASSERT_OK(convert_object(o, "events.k8s.io", "v1"));
	ASSERT_JSON_EQ(o, orig);
	cJSON_Delete(o);
	cJSON_Delete(orig);
}

TEST(convert_event_list)
{
	cJSON *o = parse_q("{'apiVersion':'v1','kind':'EventList','metadata':{'resourceVersion':'7'},'items':["
			   "{'metadata':{'name':'a'},'involvedObject':{'kind':'Pod','name':'p'},'message':'m1','count':2},"
			   "{'apiVersion':'v1','kind':'Event','metadata':{'name':'b'},'message':'m2'}]}");
	cJSON *a, *b;

	ASSERT_OK(convert_object(o, "events.k8s.io", "v1"));
	ASSERT_STR_EQ(json_get_str(o, "apiVersion", NULL), "events.k8s.io/v1");
	ASSERT_STR_EQ(json_get_str(o, "kind", NULL), "EventList");
	a = cJSON_GetArrayItem(json_get(o, "items"), 0);
	b = cJSON_GetArrayItem(json_get(o, "items"), 1);
	ASSERT_STR_EQ(json_get_str(a, "note", NULL), "m1");
	ASSERT_EQ(json_get_int(a, "deprecatedCount", 0), 2);
	ASSERT_STR_EQ(json_get_str(json_get(a, "regarding"), "name", NULL), "p");
	ASSERT_NULL(json_get(a, "apiVersion"));	/* items without TypeMeta keep none */
	ASSERT_STR_EQ(json_get_str(b, "note", NULL), "m2");
	ASSERT_STR_EQ(json_get_str(b, "apiVersion", NULL), "events.k8s.io/v1");
	cJSON_Delete(o);
}

#define HPA_V2 "{'apiVersion':'autoscaling/v2','kind':'HorizontalPodAutoscaler'," \
	"'metadata':{'name':'web','namespace':'default','annotations':{'team':'a'}}," \
	"'spec':{'scaleTargetRef':{'apiVersion':'apps/v1','kind':'Deployment','name':'web'},'minReplicas':2,'maxReplicas':10," \
	"'metrics':[{'type':'Resource','resource':{'name':'memory','target':{'type':'AverageValue','averageValue':'500Mi'}}}," \
	"{'type':'External','external':{'metric':{'name':'queue_depth','selector':{'matchLabels':{'queue':'jobs'}}}," \
	"'target':{'type':'Value','value':'100'}}}," \
	"{'type':'Pods','pods':{'metric':{'name':'packets'},'target':{'type':'AverageValue','averageValue':'1k'}}}," \
	"{'type':'Object','object':{'describedObject':{'apiVersion':'networking.k8s.io/v1','kind':'Ingress','name':'main'}," \
	"'metric':{'name':'rps'},'target':{'type':'Value','value':'10k'}}}," \
	"{'type':'ContainerResource','containerResource':{'name':'cpu','container':'app','target':{'type':'Utilization','averageUtilization':60}}}," \
	"{'type':'Resource','resource':{'name':'cpu','target':{'type':'Utilization','averageUtilization':80}}}]," \
	"'behavior':{'scaleDown':{'stabilizationWindowSeconds':300,'policies':[{'type':'Percent','value':10,'periodSeconds':60}]}," \
	"'scaleUp':{'stabilizationWindowSeconds':0,'selectPolicy':'Max','policies':[{'type':'Pods','value':4,'periodSeconds':15}],'tolerance':'50m'}}}," \
	"'status':{'observedGeneration':3,'lastScaleTime':'2026-01-01T00:40:00Z','currentReplicas':3,'desiredReplicas':4," \
	"'currentMetrics':[{'type':'Resource','resource':{'name':'cpu','current':{'averageUtilization':45,'averageValue':'120m'}}}," \
	"{'type':'External','external':{'metric':{'name':'queue_depth'},'current':{'value':'42'}}}]," \
	"'conditions':[{'type':'AbleToScale','status':'True','lastTransitionTime':'2026-01-01T00:00:00Z','reason':'ReadyForNewScale'," \
	"'message':'recommended size matches current size'}]}}"

TEST(convert_hpa_v2_to_v1_fields)
{
	cJSON *o = parse_q(HPA_V2), *ann, *want;

	ASSERT_OK(convert_object(o, "autoscaling", "v1"));
	ASSERT_STR_EQ(json_get_str(o, "apiVersion", NULL), "autoscaling/v1");
	ASSERT_EQ(json_get_int(json_get(o, "spec"), "targetCPUUtilizationPercentage", 0), 80);
	ASSERT_EQ(json_get_int(json_get(o, "spec"), "minReplicas", 0), 2);
	ASSERT_EQ(json_get_int(json_get(o, "spec"), "maxReplicas", 0), 10);
	ASSERT_STR_EQ(json_get_str(json_path(o, "spec.scaleTargetRef"), "name", NULL), "web");
	ASSERT_NULL(json_path(o, "spec.metrics"));
	ASSERT_NULL(json_path(o, "spec.behavior"));
	ASSERT_EQ(json_get_int(json_get(o, "status"), "currentCPUUtilizationPercentage", 0), 45);
	ASSERT_EQ(json_get_int(json_get(o, "status"), "desiredReplicas", 0), 4);
	ASSERT_EQ(json_get_int(json_get(o, "status"), "observedGeneration", 0), 3);
	ASSERT_NULL(json_path(o, "status.currentMetrics"));
	ASSERT_NULL(json_path(o, "status.conditions"));
	ASSERT_STR_EQ(json_get_str(json_path(o, "metadata.annotations"), "team", NULL), "a");

	ann = annotation(o, "autoscaling.alpha.kubernetes.io/metrics");
	want = parse_q("[{'type':'Resource','resource':{'name':'memory','targetAverageValue':'500Mi'}},"
		       "{'type':'External','external':{'metricName':'queue_depth','metricSelector':{'matchLabels':{'queue':'jobs'}},'targetValue':'100'}},"
		       "{'type':'Pods','pods':{'metricName':'packets','targetAverageValue':'1k'}},"
		       "{'type':'Object','object':{'target':{'apiVersion':'networking.k8s.io/v1','kind':'Ingress','name':'main'},"
		       "'metricName':'rps','targetValue':'10k'}},"
		       "{'type':'ContainerResource','containerResource':{'name':'cpu','container':'app','targetAverageUtilization':60}}]");
	ASSERT_JSON_EQ(ann, want);
	cJSON_Delete(ann);
	cJSON_Delete(want);

	ann = annotation(o, "autoscaling.alpha.kubernetes.io/current-metrics");
	want = parse_q("[{'type':'Resource','resource':{'name':'cpu','currentAverageUtilization':45,'currentAverageValue':'120m'}},"
		       "{'type':'External','external':{'metricName':'queue_depth','currentValue':'42'}}]");
	ASSERT_JSON_EQ(ann, want);
	cJSON_Delete(ann);
	cJSON_Delete(want);

	/* upstream marshals its internal type: Go field names, nil pointers as null */
	ann = annotation(o, "autoscaling.alpha.kubernetes.io/behavior");
	want = parse_q("{'ScaleUp':{'StabilizationWindowSeconds':0,'SelectPolicy':'Max','Policies':[{'Type':'Pods','Value':4,'PeriodSeconds':15}],"
		       "'Tolerance':'50m'},'ScaleDown':{'StabilizationWindowSeconds':300,'SelectPolicy':null,"
		       "'Policies':[{'Type':'Percent','Value':10,'PeriodSeconds':60}],'Tolerance':null}}");
	ASSERT_JSON_EQ(ann, want);
	cJSON_Delete(ann);
	cJSON_Delete(want);

	ann = annotation(o, "autoscaling.alpha.kubernetes.io/conditions");
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(ann, 0), "reason", NULL), "ReadyForNewScale");
	cJSON_Delete(ann);
	cJSON_Delete(o);
}

TEST(convert_hpa_round_trip_v2_v1_v2)
{
	cJSON *o = parse_q(HPA_V2), *orig = parse_q(HPA_V2);

	/* the cpu metric comes back last, where HPA_V2 already has it */
	ASSERT_OK(convert_object(o, "autoscaling", "v1"));
	ASSERT_OK(convert_object(o, "autoscaling", "v2"));
	ASSERT_JSON_EQ(o, orig);
	/* and again: stale annotations from the first pass must not pile up */
	ASSERT_OK(convert_object(o, "autoscaling", "v1"));
	ASSERT_OK(convert_object(o, "autoscaling", "v1"));
	ASSERT_OK(convert_object(o, "autoscaling", "v2"));
	ASSERT_JSON_EQ(o, orig);
	cJSON_Delete(o);
	cJSON_Delete(orig);
}

TEST(convert_hpa_cpu_metric_moves_last)
{
	cJSON *o = parse_q("{'apiVersion':'autoscaling/v2','kind':'HorizontalPodAutoscaler','metadata':{'name':'h'},"
			   "'spec':{'maxReplicas':3,'metrics':[{'type':'Resource','resource':{'name':'cpu','target':{'type':'Utilization','averageUtilization':70}}},"
			   "{'type':'Resource','resource':{'name':'memory','target':{'type':'Utilization','averageUtilization':60}}}]}}");
	cJSON *m;

	ASSERT_OK(convert_object(o, "autoscaling", "v1"));
	ASSERT_EQ(json_get_int(json_get(o, "spec"), "targetCPUUtilizationPercentage", 0), 70);
	ASSERT_NULL(json_get(o, "status"));
	ASSERT_OK(convert_object(o, "autoscaling", "v2"));
	m = json_path(o, "spec.metrics");
	ASSERT_EQ(cJSON_GetArraySize(m), 2);
	ASSERT_STR_EQ(json_get_str(json_path(cJSON_GetArrayItem(m, 0), "resource"), "name", NULL), "memory");
	ASSERT_STR_EQ(json_get_str(json_path(cJSON_GetArrayItem(m, 1), "resource"), "name", NULL), "cpu");
	ASSERT_STR_EQ(json_get_str(json_path(cJSON_GetArrayItem(m, 1), "resource.target"), "type", NULL), "Utilization");
	ASSERT_NULL(json_get(o, "metadata") ? json_path(o, "metadata.annotations") : NULL);
	cJSON_Delete(o);
}

TEST(convert_hpa_v1_to_v2)
{
	cJSON *o = parse_q("{'apiVersion':'autoscaling/v1','kind':'HorizontalPodAutoscaler','metadata':{'name':'web'},"
			   "'spec':{'scaleTargetRef':{'apiVersion':'apps/v1','kind':'Deployment','name':'web'},'minReplicas':1,'maxReplicas':5,"
			   "'targetCPUUtilizationPercentage':50},'status':{'currentReplicas':2,'desiredReplicas':2,'currentCPUUtilizationPercentage':30}}");
	cJSON *want = parse_q("{'apiVersion':'autoscaling/v2','kind':'HorizontalPodAutoscaler','metadata':{'name':'web'},"
			      "'spec':{'scaleTargetRef':{'apiVersion':'apps/v1','kind':'Deployment','name':'web'},'minReplicas':1,'maxReplicas':5,"
			      "'metrics':[{'type':'Resource','resource':{'name':'cpu','target':{'type':'Utilization','averageUtilization':50}}}]},"
			      "'status':{'currentReplicas':2,'desiredReplicas':2,'currentMetrics':[{'type':'Resource','resource':{'name':'cpu',"
			      "'current':{'averageUtilization':30}}}]}}");

	ASSERT_OK(convert_object(o, "autoscaling", "v2"));
	ASSERT_JSON_EQ(o, want);
	cJSON_Delete(o);
	cJSON_Delete(want);

	/* no target at all: autoscaling/v1's implicit 80% cpu becomes explicit */
	o = parse_q("{'apiVersion':'autoscaling/v1','kind':'HorizontalPodAutoscaler','metadata':{'name':'d'},"
		    "'spec':{'scaleTargetRef':{'kind':'Deployment','name':'d'},'maxReplicas':2}}");
	ASSERT_OK(convert_object(o, "autoscaling", "v2"));
	ASSERT_EQ(json_get_int(json_path(cJSON_GetArrayItem(json_path(o, "spec.metrics"), 0), "resource.target"),
			       "averageUtilization", 0), 80);
	ASSERT_NULL(json_get(o, "status"));
	cJSON_Delete(o);
}

TEST(convert_hpa_v1_annotations_from_upstream)
{
	/* as kube-apiserver writes them (OpenShift docs example), plus a malformed one */
	cJSON *o = parse_q("{'apiVersion':'autoscaling/v1','kind':'HorizontalPodAutoscaler','metadata':{'name':'m','annotations':{"
			   "'autoscaling.alpha.kubernetes.io/behavior':'{\\'ScaleUp\\':{\\'StabilizationWindowSeconds\\':0,\\'SelectPolicy\\':\\'Max\\',"
			   "\\'Policies\\':[{\\'Type\\':\\'Pods\\',\\'Value\\':4,\\'PeriodSeconds\\':15}]},\\'ScaleDown\\':null}',"
			   "'autoscaling.alpha.kubernetes.io/current-metrics':'abc',"
			   "'autoscaling.alpha.kubernetes.io/conditions':'[{\\'type\\':\\'ScalingActive\\',\\'status\\':\\'False\\',\\'reason\\':\\'FailedGetResourceMetric\\'}]'}},"
			   "'spec':{'scaleTargetRef':{'kind':'Deployment','name':'m'},'maxReplicas':3,'targetCPUUtilizationPercentage':60},"
			   "'status':{'currentReplicas':1,'desiredReplicas':1,'currentCPUUtilizationPercentage':10}}");
	cJSON *want = parse_q("{'scaleUp':{'stabilizationWindowSeconds':0,'selectPolicy':'Max','policies':[{'type':'Pods','value':4,'periodSeconds':15}]}}");

	ASSERT_OK(convert_object(o, "autoscaling", "v2"));
	ASSERT_JSON_EQ(json_path(o, "spec.behavior"), want);
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(json_path(o, "status.conditions"), 0), "reason", NULL),
		      "FailedGetResourceMetric");
	/* malformed current-metrics is ignored: the cpu value is used */
	ASSERT_EQ(json_get_int(json_path(cJSON_GetArrayItem(json_path(o, "status.currentMetrics"), 0), "resource.current"),
			       "averageUtilization", 0), 10);
	ASSERT_NULL(json_path(o, "metadata.annotations"));
	cJSON_Delete(want);
	cJSON_Delete(o);
}

TEST(convert_errors_and_noops)
{
	static const char *const malformed[] = {
		"{'kind':'Event','message':'no apiVersion'}",
		"{'apiVersion':'v1','message':'no kind'}",
		"{'apiVersion':'autoscaling/v2','kind':'HorizontalPodAutoscaler','spec':'oops'}",
		"{'apiVersion':'autoscaling/v2','kind':'HorizontalPodAutoscaler','spec':{'metrics':{}}}",
		"{'apiVersion':'autoscaling/v1','kind':'HorizontalPodAutoscaler','status':[]}",
		"{'apiVersion':'v1','kind':'EventList','items':[1]}",
	};
	cJSON *o, *copy;

	for (size_t i = 0; i < ARRAY_SIZE(malformed); i++) {
		const char *to = strstr(malformed[i], "autoscaling/v2") ? "v1" : "v2";

		o = parse_q(malformed[i]);
		copy = cJSON_Duplicate(o, 1);
		if (strstr(malformed[i], "Event"))
			ASSERT_EQ(convert_object(o, "events.k8s.io", "v1"), -EINVAL);
		else
			ASSERT_EQ(convert_object(o, "autoscaling", to), -EINVAL);
		ASSERT_JSON_EQ(o, copy);	/* untouched on error */
		cJSON_Delete(o);
		cJSON_Delete(copy);
	}
	o = parse_q("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'}}");
	ASSERT_EQ(convert_object(o, "apps", "v1"), -ENOTSUP);
	ASSERT_EQ(convert_object(o, "v1", "v1"), -ENOTSUP);
	ASSERT_OK(convert_object(o, "", "v1"));	/* already there */
	ASSERT_STR_EQ(json_get_str(o, "apiVersion", NULL), "v1");
	cJSON_Delete(o);
	o = parse_q(CORE_EVENT);
	ASSERT_EQ(convert_object(o, "autoscaling", "v2"), -ENOTSUP);
	ASSERT_EQ(convert_object(NULL, "", "v1"), -EINVAL);
	cJSON_Delete(o);
}

TEST(convert_storage_versions)
{
	const char *g = "x";

	ASSERT_STR_EQ(convert_storage_version("events.k8s.io", "events", &g), "v1");
	ASSERT_STR_EQ(g, "");
	ASSERT_STR_EQ(convert_storage_version("", "events", &g), "v1");
	ASSERT_STR_EQ(g, "");
	ASSERT_STR_EQ(convert_storage_version("autoscaling", "horizontalpodautoscalers", &g), "v2");
	ASSERT_STR_EQ(g, "autoscaling");
	ASSERT_NULL(convert_storage_version("apps", "deployments", &g));
	ASSERT_STR_EQ(g, "apps");
	ASSERT_NULL(convert_storage_version("", "pods", NULL));
}

TEST(convert_to_storage_versions)
{
	cJSON *o = parse_q("{'apiVersion':'events.k8s.io/v1','kind':'Event','metadata':{'name':'e'},'note':'n'}");

	ASSERT_OK(convert_to_storage(o, "events.k8s.io", "events"));
	ASSERT_STR_EQ(json_get_str(o, "apiVersion", NULL), "v1");
	ASSERT_STR_EQ(json_get_str(o, "message", NULL), "n");
	ASSERT_OK(convert_to_storage(o, "", "events"));	/* already stored shape */
	ASSERT_STR_EQ(json_get_str(o, "message", NULL), "n");
	cJSON_Delete(o);
	o = parse_q("{'apiVersion':'autoscaling/v1','kind':'HorizontalPodAutoscaler','metadata':{'name':'h'},"
		    "'spec':{'maxReplicas':2,'targetCPUUtilizationPercentage':70}}");
	ASSERT_OK(convert_to_storage(o, "autoscaling", "horizontalpodautoscalers"));
	ASSERT_STR_EQ(json_get_str(o, "apiVersion", NULL), "autoscaling/v2");
	ASSERT_EQ(json_get_int(json_path(cJSON_GetArrayItem(json_path(o, "spec.metrics"), 0), "resource.target"),
			       "averageUtilization", 0), 70);
	cJSON_Delete(o);
	o = parse_q("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'d'}}");
	ASSERT_OK(convert_to_storage(o, "apps", "deployments"));
	ASSERT_STR_EQ(json_get_str(o, "apiVersion", NULL), "apps/v1");
	ASSERT_EQ(convert_to_storage(o, "", "events"), -ENOTSUP);	/* wrong kind for the resource */
	cJSON_Delete(o);
}
