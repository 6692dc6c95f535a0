/* Tests of the EndpointSlice controller's pure parts: port resolution,
 * endpoint conditions, grouping endpoints into slices, minimal churn. */
#include "test.h"
#include "server/controllers/ctrl_priv.h"
#include "server/controllers/epgroup.h"
#include "lib/json.h"
#include "lib/util.h"

#include <stdio.h>
#include <string.h>

#define NOW "2026-01-01T00:00:00Z"

static cJSON *svc_new(const char *extra_spec)
{
	char *s = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","
			    "\"namespace\":\"ns\",\"uid\":\"svc-uid\",\"labels\":{\"team\":\"a\"}},"
			    "\"spec\":{\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":\"http\","
			    "\"port\":80,\"protocol\":\"TCP\",\"targetPort\":\"http\"}]%s}}",
			    extra_spec ? extra_spec : "");
	cJSON *o = cJSON_Parse(s);

	free(s);
	if (!o)
		abort();
	return o;
}

/* A pod named name with IPv4 10.0.0.<i> and IPv6 fd00::<i>, container port
 * "http" = port, Ready when ready. */
static cJSON *pod_new(const char *name, int i, int port, bool ready, const char *extra_meta)
{
	char *s = xasprintf("{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"uid-%s\","
			    "\"labels\":{\"app\":\"web\"}%s},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{"
			    "\"name\":\"c\",\"ports\":[{\"name\":\"http\",\"containerPort\":%d}]}]},"
			    "\"status\":{\"podIP\":\"10.0.%d.%d\",\"podIPs\":[{\"ip\":\"10.0.%d.%d\"},"
			    "{\"ip\":\"fd00::%x\"}],\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
			    name, name, extra_meta ? extra_meta : "", port, i / 250, i % 250, i / 250,
			    i % 250, i, ready ? "True" : "False");
	cJSON *o = cJSON_Parse(s);

	free(s);
	if (!o)
		abort();
	return o;
}

static bool cond(const cJSON *ep, const char *k)
{
	return json_get_bool(json_get(ep, "conditions"), k, false);
}

TEST(eps_named_target_port_resolves_per_pod)
{
	cJSON *svc = svc_new(NULL), *pod = pod_new("a", 1, 8080, true, NULL), *ports;

	ports = eps_pod_ports(svc, pod);
	ASSERT_EQ(cJSON_GetArraySize(ports), 1);
	ASSERT_EQ(json_get_int(cJSON_GetArrayItem(ports, 0), "port", 0), 8080);
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(ports, 0), "name", "?"), "http");
	ASSERT_STR_EQ(json_get_str(cJSON_GetArrayItem(ports, 0), "protocol", "?"), "TCP");
	cJSON_Delete(ports);
	/* a named port the pod lacks, or with another protocol, is left out */
	json_set_str(cJSON_GetArrayItem(json_path(svc, "spec.ports"), 0), "protocol", "UDP");
	ports = eps_pod_ports(svc, pod);
	ASSERT_EQ(cJSON_GetArraySize(ports), 0);
	cJSON_Delete(ports);
	/* numeric targetPort, and none (= port) */
	json_set_str(cJSON_GetArrayItem(json_path(svc, "spec.ports"), 0), "protocol", "TCP");
	json_set_int(cJSON_GetArrayItem(json_path(svc, "spec.ports"), 0), "targetPort", 9090);
	ports = eps_pod_ports(svc, pod);
	ASSERT_EQ(json_get_int(cJSON_GetArrayItem(ports, 0), "port", 0), 9090);
	cJSON_Delete(ports);
	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetArrayItem(json_path(svc, "spec.ports"), 0),
						"targetPort");
	ports = eps_pod_ports(svc, pod);
	ASSERT_EQ(json_get_int(cJSON_GetArrayItem(ports, 0), "port", 0), 80);
	cJSON_Delete(ports);
	cJSON_Delete(svc);
	cJSON_Delete(pod);
}

TEST(eps_endpoint_conditions)
{
	cJSON *svc = svc_new(NULL), *pub = svc_new(",\"publishNotReadyAddresses\":true");
	cJSON *ready = pod_new("a", 1, 80, true, NULL), *unready = pod_new("b", 2, 80, false, NULL);
	cJSON *term = pod_new("c", 3, 80, true, ",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\"");
	cJSON *ep;

	ep = eps_endpoint(svc, ready, "IPv4", NULL);
	ASSERT_TRUE(cond(ep, "ready") && cond(ep, "serving") && !cond(ep, "terminating"));
	ASSERT_STR_EQ(cJSON_GetArrayItem(json_get(ep, "addresses"), 0)->valuestring, "10.0.0.1");
	ASSERT_STR_EQ(json_get_str(ep, "nodeName", ""), "n1");
	ASSERT_STR_EQ(json_path(ep, "targetRef.kind")->valuestring, "Pod");
	ASSERT_STR_EQ(json_path(ep, "targetRef.uid")->valuestring, "uid-a");
	ASSERT_NULL(json_get(ep, "hostname"));
	cJSON_Delete(ep);
	ep = eps_endpoint(svc, unready, "IPv6", NULL);
	ASSERT_TRUE(!cond(ep, "ready") && !cond(ep, "serving") && !cond(ep, "terminating"));
	ASSERT_STR_EQ(cJSON_GetArrayItem(json_get(ep, "addresses"), 0)->valuestring, "fd00::2");
	cJSON_Delete(ep);
	ep = eps_endpoint(svc, term, "IPv4", NULL);
	ASSERT_TRUE(!cond(ep, "ready") && cond(ep, "serving") && cond(ep, "terminating"));
	cJSON_Delete(ep);
	ep = eps_endpoint(pub, unready, "IPv4", NULL);
	ASSERT_TRUE(cond(ep, "ready") && !cond(ep, "serving"));
	cJSON_Delete(ep);
	/* hostname only with subdomain == service name */
	json_set_str(json_get(ready, "spec"), "hostname", "h");
	json_set_str(json_get(ready, "spec"), "subdomain", "other");
	ep = eps_endpoint(svc, ready, "IPv4", NULL);
	ASSERT_NULL(json_get(ep, "hostname"));
	cJSON_Delete(ep);
	json_set_str(json_get(ready, "spec"), "subdomain", "web");
	ep = eps_endpoint(svc, ready, "IPv4", NULL);
	ASSERT_STR_EQ(json_get_str(ep, "hostname", ""), "h");
	cJSON_Delete(ep);
	/* no address of the family: no endpoint */
	cJSON_DeleteItemFromArray(json_path(ready, "status.podIPs"), 1);
	ASSERT_NULL(eps_endpoint(svc, ready, "IPv6", NULL));
	cJSON_Delete(svc);
	cJSON_Delete(pub);
	cJSON_Delete(ready);
	cJSON_Delete(unready);
	cJSON_Delete(term);
}

TEST(eps_pod_included_rules)
{
	cJSON *p = pod_new("a", 1, 80, true, NULL);

	ASSERT_TRUE(eps_pod_included(p));
	json_set_str(json_get(p, "status"), "phase", "Succeeded");
	ASSERT_TRUE(eps_pod_included(p));	/* restartPolicy Always */
	json_set_str(json_get(p, "spec"), "restartPolicy", "OnFailure");
	ASSERT_FALSE(eps_pod_included(p));
	json_set_str(json_get(p, "status"), "phase", "Failed");
	ASSERT_TRUE(eps_pod_included(p));
	json_set_str(json_get(p, "spec"), "restartPolicy", "Never");
	ASSERT_FALSE(eps_pod_included(p));
	json_set_str(json_get(p, "status"), "phase", "Running");
	cJSON_DeleteItemFromObjectCaseSensitive(json_get(p, "status"), "podIP");
	cJSON_DeleteItemFromObjectCaseSensitive(json_get(p, "status"), "podIPs");
	ASSERT_FALSE(eps_pod_included(p));
	cJSON_Delete(p);
}

struct fixture {
	cJSON *svc;
	cJSON *pods[300];
	size_t n;
	cJSON *slices[8];
	size_t n_slices;
	struct eps_plan plan;
	const char *(*zone)(const char *node, void *ud);
};

static void plan(struct fixture *f)
{
	struct eps_input in = { f->svc, (const cJSON *const *)f->pods, f->n,
				(const cJSON *const *)f->slices, f->n_slices, EPS_MAX_ENDPOINTS, NOW,
				f->zone, NULL, NULL };

	eps_plan_release(&f->plan);
	eps_plan_compute(&in, &f->plan);
}

/* Makes the planned creates the existing slices (as the server would). */
static void adopt_creates(struct fixture *f)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, f->plan.create) {
		cJSON *s = cJSON_Duplicate(c, 1);
		char name[32];

		snprintf(name, sizeof(name), "web-%zu", f->n_slices);
		json_set_str(json_get(s, "metadata"), "name", name);
		json_set_str(json_get(s, "metadata"), "uid", name);
		f->slices[f->n_slices++] = s;
	}
}

static void fixture_release(struct fixture *f)
{
	cJSON_Delete(f->svc);
	for (size_t i = 0; i < f->n; i++)
		cJSON_Delete(f->pods[i]);
	for (size_t i = 0; i < f->n_slices; i++)
		cJSON_Delete(f->slices[i]);
	eps_plan_release(&f->plan);
}

static int n_eps(const cJSON *slice)
{
	return cJSON_GetArraySize(json_get(slice, "endpoints"));
}

TEST(eps_plan_three_pods_one_slice)
{
	struct fixture f = { .svc = svc_new(NULL) };
	const cJSON *s;

	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%d", i);
		f.pods[f.n++] = pod_new(name, i, 8080, true, NULL);
	}
	plan(&f);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.create), 1);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.update), 0);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.del), 0);
	s = cJSON_GetArrayItem(f.plan.create, 0);
	ASSERT_EQ(n_eps(s), 3);
	ASSERT_STR_EQ(json_get_str(s, "addressType", ""), "IPv4");
	ASSERT_STR_EQ(json_path(s, "metadata.generateName")->valuestring, "web-");
	ASSERT_STR_EQ(json_get_str(json_path(s, "metadata.labels"), EPS_LABEL_SERVICE, ""), "web");
	ASSERT_STR_EQ(json_get_str(json_path(s, "metadata.labels"), EPS_LABEL_MANAGED_BY, ""),
		      EPS_CONTROLLER);
	ASSERT_STR_EQ(json_get_str(json_path(s, "metadata.labels"), "team", ""), "a");
	ASSERT_NULL(json_get(json_path(s, "metadata.labels"), EPS_LABEL_HEADLESS));
	ASSERT_STR_EQ(json_get_str(json_path(s, "metadata.annotations"), EPS_ANN_TRIGGER, ""), NOW);
	ASSERT_TRUE(ctrl_owned_by(s, "svc-uid"));
	ASSERT_TRUE(json_get_bool(cJSON_GetArrayItem(json_path(s, "metadata.ownerReferences"), 0),
				  "blockOwnerDeletion", false));
	ASSERT_EQ(json_get_int(cJSON_GetArrayItem(json_get(s, "ports"), 0), "port", 0), 8080);
	/* the same state again: nothing to write */
	adopt_creates(&f);
	plan(&f);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.create) + cJSON_GetArraySize(f.plan.update) +
		  cJSON_GetArraySize(f.plan.del), 0);
	/* one pod turns unready: one update, nothing else */
	cJSON_Delete(f.pods[1]);
	f.pods[1] = pod_new("p1", 1, 8080, false, NULL);
	plan(&f);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.update), 1);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.create) + cJSON_GetArraySize(f.plan.del), 0);
	ASSERT_EQ(n_eps(cJSON_GetArrayItem(f.plan.update, 0)), 3);
	ASSERT_STR_EQ(json_path(cJSON_GetArrayItem(f.plan.update, 0), "metadata.name")->valuestring,
		      "web-0");
	fixture_release(&f);
}

TEST(eps_plan_250_pods_fills_slices_of_100)
{
	struct fixture f = { .svc = svc_new(NULL) };
	const cJSON *s;
	int total = 0;

	for (int i = 0; i < 250; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%03d", i);
		f.pods[f.n++] = pod_new(name, i, 8080, true, NULL);
	}
	plan(&f);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.create), 3);
	cJSON_ArrayForEach(s, f.plan.create) {
		ASSERT_LE(n_eps(s), 100);
		total += n_eps(s);
	}
	ASSERT_EQ(total, 250);
	/* 10 more pods go into the slice with room, without a new slice */
	adopt_creates(&f);
	for (int i = 250; i < 260; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%03d", i);
		f.pods[f.n++] = pod_new(name, i, 8080, true, NULL);
	}
	plan(&f);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.create), 0);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.update), 1);
	ASSERT_EQ(n_eps(cJSON_GetArrayItem(f.plan.update, 0)), 60);
	fixture_release(&f);
}

TEST(eps_plan_per_family_and_port_set)
{
	struct fixture f = { .svc = svc_new(",\"ipFamilies\":[\"IPv4\",\"IPv6\"]") };
	const cJSON *s;
	int v4 = 0, v6 = 0;

	f.pods[f.n++] = pod_new("a", 1, 8080, true, NULL);
	f.pods[f.n++] = pod_new("b", 2, 8080, true, NULL);
	f.pods[f.n++] = pod_new("c", 3, 9090, true, NULL);	/* "http" is another number */
	plan(&f);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.create), 4);
	cJSON_ArrayForEach(s, f.plan.create) {
		int port = (int)json_get_int(cJSON_GetArrayItem(json_get(s, "ports"), 0), "port", 0);
		const char *addr = cJSON_GetArrayItem(json_get(cJSON_GetArrayItem(json_get(s, "endpoints"), 0),
								"addresses"), 0)->valuestring;

		ASSERT_EQ(n_eps(s), port == 8080 ? 2 : 1);
		if (!strcmp(json_get_str(s, "addressType", ""), "IPv6")) {
			v6++;
			ASSERT_TRUE(strchr(addr, ':') != NULL);
		} else {
			v4++;
			ASSERT_TRUE(strchr(addr, ':') == NULL);
		}
	}
	ASSERT_EQ(v4, 2);
	ASSERT_EQ(v6, 2);
	fixture_release(&f);
}

TEST(eps_plan_placeholder_per_family)
{
	struct fixture f = { .svc = svc_new(",\"clusterIP\":\"None\",\"ipFamilies\":[\"IPv4\",\"IPv6\"]") };
	const cJSON *s;

	plan(&f);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.create), 2);
	cJSON_ArrayForEach(s, f.plan.create) {
		ASSERT_EQ(n_eps(s), 0);
		ASSERT_EQ(cJSON_GetArraySize(json_get(s, "ports")), 0);
		ASSERT_NOT_NULL(json_get(json_path(s, "metadata.labels"), EPS_LABEL_HEADLESS));
	}
	adopt_creates(&f);
	plan(&f);	/* the placeholders stay */
	ASSERT_EQ(cJSON_GetArraySize(f.plan.create) + cJSON_GetArraySize(f.plan.update) +
		  cJSON_GetArraySize(f.plan.del), 0);
	/* pods come: the placeholders (no ports) go, real slices come */
	f.pods[f.n++] = pod_new("a", 1, 8080, true, NULL);
	plan(&f);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.create), 2);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.del), 2);
	/* and back to no pods: one placeholder each, no more */
	for (size_t i = 0; i < f.n_slices; i++)
		cJSON_Delete(f.slices[i]);
	f.n_slices = 0;
	adopt_creates(&f);
	cJSON_Delete(f.pods[0]);
	f.n = 0;
	plan(&f);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.create), 2);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.del), 2);
	fixture_release(&f);
}

TEST(eps_plan_deletes_misfits)
{
	struct fixture f = { .svc = svc_new(NULL) };

	f.pods[f.n++] = pod_new("a", 1, 8080, true, NULL);
	plan(&f);
	adopt_creates(&f);
	/* an IPv6 slice of an IPv4-only service and one owned by an older
	 * Service of the same name go */
	f.slices[f.n_slices] = cJSON_Duplicate(f.slices[0], 1);
	json_set_str(f.slices[f.n_slices], "addressType", "IPv6");
	json_set_str(json_get(f.slices[f.n_slices], "metadata"), "name", "web-v6");
	f.n_slices++;
	f.slices[f.n_slices] = cJSON_Duplicate(f.slices[0], 1);
	json_set_str(cJSON_GetArrayItem(json_path(f.slices[f.n_slices], "metadata.ownerReferences"), 0),
		     "uid", "old");
	json_set_str(json_get(f.slices[f.n_slices], "metadata"), "name", "web-old");
	f.n_slices++;
	plan(&f);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.del), 2);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.create) + cJSON_GetArraySize(f.plan.update), 0);
	fixture_release(&f);
}

TEST(eps_service_selector_is_a_plain_map)
{
	cJSON *sel = cJSON_Parse("{\"app\":\"web\"}"), *l = cJSON_Parse("{\"app\":\"web\",\"x\":\"y\"}");
	cJSON *empty = cJSON_CreateObject();

	ASSERT_TRUE(eps_selector_matches(sel, l));
	ASSERT_FALSE(eps_selector_matches(sel, empty));
	ASSERT_FALSE(eps_selector_matches(empty, l));
	cJSON_Delete(sel);
	cJSON_Delete(l);
	cJSON_Delete(empty);
}

static const char *zone_of(const char *node, void *ud)
{
	(void)ud;
	return !strcmp(node, "n1") ? "zone-a" : NULL;
}

TEST(eps_endpoint_zone_from_node)
{
	struct fixture f = { .svc = svc_new(NULL), .zone = zone_of };
	const cJSON *ep;

	f.pods[f.n++] = pod_new("a", 1, 8080, true, NULL);
	f.pods[f.n++] = pod_new("b", 2, 8080, true, NULL);
	json_set_str(json_get(f.pods[1], "spec"), "nodeName", "n2");
	plan(&f);
	ASSERT_EQ(cJSON_GetArraySize(f.plan.create), 1);
	ep = cJSON_GetArrayItem(json_get(cJSON_GetArrayItem(f.plan.create, 0), "endpoints"), 0);
	ASSERT_STR_EQ(json_get_str(ep, "zone", ""), "zone-a");
	ep = cJSON_GetArrayItem(json_get(cJSON_GetArrayItem(f.plan.create, 0), "endpoints"), 1);
	ASSERT_STR_EQ(json_get_str(ep, "nodeName", ""), "n2");
	ASSERT_NULL(json_get(ep, "zone"));
	fixture_release(&f);
}

/* epgroup.h: port sets are equal regardless of order, and differ on any
 * of name, protocol, port or appProtocol. */
TEST(epg_ports_key_is_a_set_key)
{
	cJSON *a = cJSON_Parse("[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"},"
			       "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]");
	cJSON *b = cJSON_Parse("[{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"},"
			       "{\"name\":\"http\",\"port\":80}]");
	cJSON *c = cJSON_Parse("[{\"name\":\"http\",\"port\":80,\"appProtocol\":\"h2c\"},"
			       "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]");
	cJSON *d = cJSON_Parse("[{\"name\":\"http\",\"port\":81},{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]");
	char *empty = epg_ports_key(NULL);

	ASSERT_TRUE(epg_same_ports(a, b));	/* order and the TCP default do not matter */
	ASSERT_FALSE(epg_same_ports(a, c));
	ASSERT_FALSE(epg_same_ports(a, d));
	ASSERT_FALSE(epg_same_ports(a, NULL));
	ASSERT_STR_EQ(empty, "");
	free(empty);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	cJSON_Delete(d);
}
