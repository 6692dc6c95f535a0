/* Tests of the scheduler's pure parts (server/controllers/sched_filter.c). */
#include "test.h"
#include "server/controllers/sched.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static cJSON *J(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	if (!j)
		abort();
	return j;
}

TEST(sched_requests_sum_containers_and_limits)
{
	cJSON *pod = J("{\"spec\":{\"containers\":["
		       "{\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"}}},"
		       "{\"resources\":{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}},"
		       "{}],"
		       "\"initContainers\":[{\"resources\":{\"requests\":{\"cpu\":\"2\"}}}],"
		       "\"overhead\":{\"memory\":\"1Mi\"}}}");
	struct sched_res r;

	sched_pod_requests(pod, false, &r);
	ASSERT_EQ(r.cpu_m, 2000);	/* the init container's 2 beats 1250m */
	ASSERT_EQ(r.mem, (64LL << 20) + (1LL << 30) + (1LL << 20));
	ASSERT_EQ(r.pods, 1);
	sched_pod_requests(pod, true, &r);	/* the bare container counts 100m/200Mi */
	ASSERT_EQ(r.cpu_m, 2000);
	ASSERT_EQ(r.mem, (64LL << 20) + (1LL << 30) + (200LL << 20) + (1LL << 20));
	cJSON_Delete(pod);
}

TEST(sched_tolerations_match_as_upstream)
{
	cJSON *taint = J("{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoSchedule\"}");
	cJSON *eq = J("[{\"key\":\"k\",\"operator\":\"Equal\",\"value\":\"v\",\"effect\":\"NoSchedule\"}]");
	cJSON *other = J("[{\"key\":\"k\",\"value\":\"w\"}]");
	cJSON *exists = J("[{\"key\":\"k\",\"operator\":\"Exists\"}]");
	cJSON *all = J("[{\"operator\":\"Exists\"}]");
	cJSON *effect = J("[{\"key\":\"k\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]");

	ASSERT_TRUE(sched_tolerates(eq, taint));
	ASSERT_FALSE(sched_tolerates(other, taint));
	ASSERT_TRUE(sched_tolerates(exists, taint));
	ASSERT_TRUE(sched_tolerates(all, taint));
	ASSERT_FALSE(sched_tolerates(effect, taint));
	ASSERT_FALSE(sched_tolerates(NULL, taint));
	ASSERT_TRUE(sched_tolerates_key(exists, "k", "NoExecute"));
	ASSERT_FALSE(sched_tolerates_key(effect, "k", "NoSchedule"));
	cJSON_Delete(taint);
	cJSON_Delete(eq);
	cJSON_Delete(other);
	cJSON_Delete(exists);
	cJSON_Delete(all);
	cJSON_Delete(effect);
}

TEST(sched_node_affinity_operators)
{
	cJSON *node = J("{\"metadata\":{\"name\":\"n1\",\"labels\":{\"zone\":\"a\",\"gpu\":\"4\"}}}");
	static const struct { const char *term; bool want; } cases[] = {
		{ "{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]}", true },
		{ "{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"a\"]}]}", false },
		{ "{\"matchExpressions\":[{\"key\":\"ssd\",\"operator\":\"NotIn\",\"values\":[\"x\"]}]}", true },
		{ "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}", true },
		{ "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}]}", false },
		{ "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Gt\",\"values\":[\"3\"]}]}", true },
		{ "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Lt\",\"values\":[\"3\"]}]}", false },
		{ "{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"Gt\",\"values\":[\"3\"]}]}", false },
		{ "{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"n1\"]}]}", true },
		{ "{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":[\"n2\"]}]}", false },
		{ "{}", false },	/* an empty term matches nothing */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *t = J(cases[i].term);

		ASSERT_EQ(sched_term_matches(t, node), cases[i].want);
		cJSON_Delete(t);
	}
	cJSON_Delete(node);
}

TEST(sched_filter_order_and_resources)
{
	cJSON *node = J("{\"metadata\":{\"name\":\"n1\",\"labels\":{\"a\":\"b\"}},"
			"\"spec\":{\"taints\":[{\"key\":\"t\",\"value\":\"v\",\"effect\":\"PreferNoSchedule\"},"
			"{\"key\":\"x\",\"effect\":\"NoExecute\"}]},"
			"\"status\":{\"allocatable\":{\"cpu\":\"1\",\"memory\":\"1Gi\",\"pods\":\"2\"}}}");
	cJSON *pod = J("{\"spec\":{\"tolerations\":[{\"key\":\"x\",\"operator\":\"Exists\"}],"
		       "\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"600m\",\"memory\":\"600Mi\"}}}]}}");
	cJSON *untol = J("{\"spec\":{\"containers\":[{}]}}");
	struct sched_node_use use = { 0 };
	struct sched_res req;
	const cJSON *taint = NULL;

	sched_pod_requests(pod, false, &req);
	ASSERT_EQ(sched_filter(pod, &req, node, &use, &taint), 0u);
	use.used.cpu_m = 500;
	use.used.mem = 500LL << 20;
	use.used.pods = 2;
	ASSERT_EQ(sched_filter(pod, &req, node, &use, &taint), (unsigned)(SF_PODS | SF_CPU | SF_MEM));
	sched_pod_requests(untol, false, &req);
	ASSERT_EQ(sched_filter(untol, &req, node, &use, &taint), (unsigned)SF_TAINT);
	ASSERT_STR_EQ(cJSON_GetObjectItem(taint, "key")->valuestring, "x");
	cJSON_AddItemToObject(cJSON_GetObjectItem(node, "spec"), "unschedulable", cJSON_CreateTrue());
	ASSERT_EQ(sched_filter(untol, &req, node, &use, &taint), (unsigned)SF_UNSCHEDULABLE);
	cJSON_Delete(node);
	cJSON_Delete(pod);
	cJSON_Delete(untol);
}

TEST(sched_message_is_upstreams)
{
	struct sched_diag d = { 0 };
	cJSON *taint = J("{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":\"NoSchedule\"}");
	char *m;

	m = sched_diag_message(&d);
	ASSERT_STR_EQ(m, "no nodes available to schedule pods");
	free(m);
	d.n_nodes = 12;
	sched_diag_add(&d, SF_TAINT, taint);
	for (int i = 0; i < 10; i++)
		sched_diag_add(&d, SF_CPU | SF_MEM, NULL);
	sched_diag_add(&d, SF_AFFINITY, NULL);
	m = sched_diag_message(&d);
	ASSERT_STR_EQ(m, "0/12 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
			 "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
			 "10 Insufficient cpu, 10 Insufficient memory. preemption: 0/12 nodes are available: "
			 "10 No preemption victims found for incoming pod, "
			 "2 Preemption is not helpful for scheduling.");
	free(m);
	sched_diag_release(&d);
	cJSON_Delete(taint);
}

TEST(sched_host_ports_conflict)
{
	cJSON *a = J("{\"spec\":{\"containers\":[{\"ports\":[{\"hostPort\":80,\"containerPort\":80}]}]}}");
	cJSON *b = J("{\"spec\":{\"containers\":[{\"ports\":[{\"hostPort\":80,\"hostIP\":\"10.0.0.1\"}]}]}}");
	cJSON *udp = J("{\"spec\":{\"containers\":[{\"ports\":[{\"hostPort\":80,\"protocol\":\"UDP\"}]}]}}");
	const cJSON *used[] = { a };

	ASSERT_TRUE(sched_ports_conflict(b, used, 1));	/* 0.0.0.0 overlaps every IP */
	ASSERT_FALSE(sched_ports_conflict(udp, used, 1));
	ASSERT_FALSE(sched_ports_conflict(a, used, 1));	/* a pod does not conflict with itself */
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(udp);
}

#include "lib/timefmt.h"
#include "server/admission.h"

TEST(sched_duration_parse)
{
	int64_t ms;

	ASSERT_OK(duration_parse_ms("40s", &ms));
	ASSERT_EQ(ms, 40000);
	ASSERT_OK(duration_parse_ms("1m30s", &ms));
	ASSERT_EQ(ms, 90000);
	ASSERT_OK(duration_parse_ms("500ms", &ms));
	ASSERT_EQ(ms, 500);
	ASSERT_OK(duration_parse_ms("1.5h", &ms));
	ASSERT_EQ(ms, 5400000);
	ASSERT_EQ(duration_parse_ms("40", &ms), -EINVAL);
	ASSERT_EQ(duration_parse_ms("4x", &ms), -EINVAL);
	ASSERT_EQ(duration_parse_ms("", &ms), -EINVAL);
	ASSERT_EQ(duration_parse_ms("-1s", &ms), -EINVAL);
}

TEST(sched_admission_tolerations)
{
	cJSON *be = J("{\"spec\":{},\"status\":{\"qosClass\":\"BestEffort\"}}");
	cJSON *bu = J("{\"spec\":{\"tolerations\":[{\"key\":\"node.kubernetes.io/unreachable\","
		      "\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":5}]},"
		      "\"status\":{\"qosClass\":\"Burstable\"}}");
	cJSON *all = J("{\"spec\":{\"tolerations\":[{\"operator\":\"Exists\"}]},\"status\":{\"qosClass\":\"Guaranteed\"}}");
	cJSON *node = J("{\"metadata\":{\"name\":\"n\"}}");
	char *s;

	admission_pod_tolerations(be);
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(be, "spec"), "tolerations"));
	ASSERT_STR_EQ(s, "[{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300},"
			 "{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}]");
	free(s);
	admission_pod_tolerations(bu);	/* its own unreachable toleration stays alone */
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(bu, "spec"), "tolerations"));
	ASSERT_STR_EQ(s, "[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":5},"
			 "{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300},"
			 "{\"key\":\"node.kubernetes.io/memory-pressure\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]");
	free(s);
	admission_pod_tolerations(all);
	ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(all, "spec"), "tolerations")), 1);
	admission_node_taints(node);
	admission_node_taints(node);
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(node, "spec"));
	ASSERT_STR_EQ(s, "{\"taints\":[{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":\"NoSchedule\"}]}");
	free(s);
	cJSON_Delete(be);
	cJSON_Delete(bu);
	cJSON_Delete(all);
	cJSON_Delete(node);
}
