/* tests/unit/dns_feed_test.c - API objects decoded into the zone's structs
 * (dns/feed.c), and the records they give. The informer wiring is covered
 * end to end by tests/e2e/dns-cluster.test.sh. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "dns/dns_int.h"
#include "lib/apiclient.h"
#include "lib/json.h"
#include "lib/util.h"
#include "tests/unit/dns_testlib.h"
#include "tests/unit/test.h"

static enum dns_answer_kind fask(const struct dns_zone *z, const char *name, uint16_t type,
				 struct t_resp *r)
{
	uint8_t q[512], out[DNS_MAX_MSG];
	size_t ql = t_query(q, 7, name, type, 0), ol;
	enum dns_answer_kind k = dns_zone_answer(z, q, ql, false, out, &ol);

	memset(r, 0, sizeof(*r));
	if (k == DNS_ANSWERED && t_decode(out, ol, r) < 0)
		abort();
	return k;
}

static int set_svc(struct dns_zone *z, const char *json)
{
	cJSON *o = cJSON_Parse(json);
	struct dns_port ports[DNS_MAX_PORTS];
	struct dns_service s;
	int r;

	if (!o)
		abort();
	r = dns_service_decode(o, &s, ports);
	if (!r)
		r = dns_zone_set_service(z, &s);
	cJSON_Delete(o);
	return r;
}

TEST(dns_feed_service_decode)
{
	struct dns_zone *z = dns_zone_new(NULL);
	struct t_resp r;

	ASSERT_OK(set_svc(z, "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
		  "\"spec\":{\"clusterIP\":\"10.43.0.15\",\"clusterIPs\":[\"10.43.0.15\",\"fd43::15\"],"
		  "\"ports\":[{\"name\":\"http\",\"port\":80},{\"port\":8080},"
		  "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]}}"));
	fask(z, "web.default.svc.cluster.local", DNS_T_A, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "10.43.0.15");
	fask(z, "web.default.svc.cluster.local", DNS_T_AAAA, &r);
	ASSERT_STR_EQ(r.rr[0].data, "fd43::15");
	fask(z, "_http._tcp.web.default.svc.cluster.local", DNS_T_SRV, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "0 100 80 web.default.svc.cluster.local");
	fask(z, "_dns._udp.web.default.svc.cluster.local", DNS_T_SRV, &r);
	ASSERT_STR_EQ(r.rr[0].data, "0 100 53 web.default.svc.cluster.local");
	/* the unnamed port gets no SRV: all SRVs of the service are 2 */
	fask(z, "web.default.svc.cluster.local", DNS_T_SRV, &r);
	ASSERT_EQ(r.an, 2);

	/* only clusterIP (old objects): one family */
	ASSERT_OK(set_svc(z, "{\"metadata\":{\"name\":\"old\",\"namespace\":\"x\"},"
		  "\"spec\":{\"clusterIP\":\"10.43.0.20\"}}"));
	fask(z, "old.x.svc.cluster.local", DNS_T_A, &r);
	ASSERT_STR_EQ(r.rr[0].data, "10.43.0.20");
	fask(z, "old.x.svc.cluster.local", DNS_T_AAAA, &r);
	ASSERT_EQ(r.rcode, 0);
	ASSERT_EQ(r.an, 0);

	/* ExternalName */
	ASSERT_OK(set_svc(z, "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},"
		  "\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"example.org\"}}"));
	fask(z, "ext.default.svc.cluster.local", DNS_T_A, &r);
	ASSERT_EQ(t_find(&r, 0, DNS_T_CNAME, "example.org"), 0);

	/* not allocated yet, malformed, over limits */
	ASSERT_EQ(set_svc(z, "{\"metadata\":{\"name\":\"n\",\"namespace\":\"d\"},\"spec\":{}}"), -ENOENT);
	ASSERT_EQ(set_svc(z, "{\"metadata\":{\"name\":\"n\",\"namespace\":\"d\"},"
			  "\"spec\":{\"clusterIPs\":[\"bogus\"]}}"), -EINVAL);
	ASSERT_EQ(set_svc(z, "{\"metadata\":{\"name\":\"n\",\"namespace\":\"d\"},"
			  "\"spec\":{\"clusterIPs\":[\"10.43.0.1\",\"fd43::1\",\"10.43.0.2\"]}}"), -EINVAL);
	ASSERT_EQ(set_svc(z, "{\"metadata\":{\"name\":\"n\",\"namespace\":\"d\"},"
			  "\"spec\":{\"clusterIP\":\"10.43.0.9\",\"ports\":[{\"name\":\"p\",\"port\":70000}]}}"), -EINVAL);
	ASSERT_EQ(set_svc(z, "{\"metadata\":{\"name\":\"n\",\"namespace\":\"d\"},"
			  "\"spec\":{\"clusterIP\":\"10.43.0.9\",\"ports\":[{\"name\":\"p\",\"port\":7,\"protocol\":\"ICMP\"}]}}"), -EINVAL);
	ASSERT_EQ(set_svc(z, "{\"metadata\":{\"name\":\"n\"},\"spec\":{\"clusterIP\":\"10.43.0.9\"}}"), -EINVAL);
	ASSERT_EQ(set_svc(z, "{\"metadata\":{\"name\":\"e\",\"namespace\":\"d\"},\"spec\":{\"type\":\"ExternalName\"}}"), -EINVAL);
	dns_zone_free(z);
}

TEST(dns_feed_slices_merge)
{
	struct dns_zone *z = dns_zone_new(NULL);
	const char *v4 = "{\"addressType\":\"IPv4\",\"endpoints\":["
		"{\"addresses\":[\"10.42.0.7\"],\"hostname\":\"db-0\",\"nodeName\":\"n1\"},"
		"{\"addresses\":[\"10.42.0.8\"],\"conditions\":{\"ready\":false}},"
		"{\"addresses\":[]}, {\"addresses\":[\"junk\"]}]}";
	const char *v6 = "{\"addressType\":\"IPv6\",\"endpoints\":["
		"{\"addresses\":[\"fd42::7\"],\"hostname\":\"db-0\",\"conditions\":{\"ready\":true}}]}";
	const char *fqdn = "{\"addressType\":\"FQDN\",\"endpoints\":[{\"addresses\":[\"a.example\"]}]}";
	const char *in[] = { v4, v6, fqdn };
	struct dns_endpoint *eps = NULL;
	size_t n = 0, alloc = 0;
	cJSON *objs[3];
	struct t_resp r;

	ASSERT_OK(set_svc(z, "{\"metadata\":{\"name\":\"db\",\"namespace\":\"default\"},"
		  "\"spec\":{\"clusterIP\":\"None\",\"clusterIPs\":[\"None\"],\"ports\":[{\"name\":\"pg\",\"port\":5432}]}}"));
	for (size_t i = 0; i < 3; i++) {
		objs[i] = cJSON_Parse(in[i]);
		ASSERT_OK(dns_slice_decode(objs[i], &eps, &n, &alloc));
	}
	ASSERT_EQ(n, 3);	/* both families, the empty and unparsable ones skipped */
	ASSERT_TRUE(eps[0].ready);	/* absent condition: ready */
	ASSERT_FALSE(eps[1].ready);
	ASSERT_STR_EQ(eps[0].node_name, "n1");
	ASSERT_OK(dns_zone_set_endpoints(z, "default", "db", eps, n));
	fask(z, "db.default.svc.cluster.local", DNS_T_A, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "10.42.0.7");
	fask(z, "db-0.db.default.svc.cluster.local", DNS_T_AAAA, &r);
	ASSERT_EQ(r.an, 1);
	ASSERT_STR_EQ(r.rr[0].data, "fd42::7");
	fask(z, "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.4.d.f.ip6.arpa", DNS_T_PTR, &r);
	ASSERT_STR_EQ(r.rr[0].data, "db-0.db.default.svc.cluster.local");
	for (size_t i = 0; i < 3; i++)
		cJSON_Delete(objs[i]);

	/* the endpoint limit */
	cJSON *big = cJSON_Parse("{\"addressType\":\"IPv4\",\"endpoints\":[]}");
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(big, "endpoints");
	for (int i = 0; i < DNS_MAX_ENDPOINTS + 1; i++) {
		char ip[32], js[96];
		snprintf(ip, sizeof(ip), "10.42.%d.%d", i / 250, i % 250 + 1);
		snprintf(js, sizeof(js), "{\"addresses\":[\"%s\"]}", ip);
		cJSON_AddItemToArray(arr, cJSON_Parse(js));
	}
	n = 0;
	ASSERT_EQ(dns_slice_decode(big, &eps, &n, &alloc), -E2BIG);
	cJSON_Delete(big);
	free(eps);
	dns_zone_free(z);
}

TEST(dns_feed_pod_decode)
{
	struct dns_addr ips[DNS_MAX_IPS];
	size_t n;
	cJSON *p = cJSON_Parse("{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.42.0.5\","
			       "\"podIPs\":[{\"ip\":\"10.42.0.5\"},{\"ip\":\"fd42::5\"}]}}");

	ASSERT_OK(dns_pod_decode(p, ips, &n));
	ASSERT_EQ(n, 2);
	ASSERT_EQ(ips[1].family, AF_INET6);
	cJSON_Delete(p);
	p = cJSON_Parse("{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.42.0.6\"}}");
	dns_pod_decode(p, ips, &n);
	ASSERT_EQ(n, 1);
	cJSON_Delete(p);
	p = cJSON_Parse("{\"spec\":{\"hostNetwork\":true},\"status\":{\"podIP\":\"10.0.0.1\"}}");
	dns_pod_decode(p, ips, &n);
	ASSERT_EQ(n, 0);	/* the node's IP is not the pod's */
	cJSON_Delete(p);
	p = cJSON_Parse("{\"status\":{\"phase\":\"Succeeded\",\"podIP\":\"10.42.0.9\"}}");
	dns_pod_decode(p, ips, &n);
	ASSERT_EQ(n, 0);
	cJSON_Delete(p);
}

/* ---- the feed against a real `k1s server --disable-agent` ---- */

static pid_t feed_srv_start(char **kubeconfig)
{
	const char *bin = test_k1s_binary(), *dir = test_tmpdir();
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char port[16], *ready = xasprintf("%s/ready", dir);
	pid_t pid, parent = getpid();

	ASSERT_NOT_NULL(bin);
	ASSERT_OK(bind(fd, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_OK(getsockname(fd, (struct sockaddr *)&a, &l));
	close(fd);
	snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
	*kubeconfig = xasprintf("%s/kubeconfig.yaml", dir);
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		int lfd = open("/dev/null", O_WRONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		dup2(lfd, 1);
		dup2(lfd, 2);
		execl(bin, bin, "server", "--disable-agent", "--data-dir", dir, "--https-listen-port", port,
		      "--write-kubeconfig", *kubeconfig, "--ready-file", ready, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && access(ready, F_OK); i++)
		usleep(50000);
	ASSERT_OK(access(ready, F_OK));
	free(ready);
	return pid;
}

static void feed_done(struct api_result *res, void *ud)
{
	*(int *)ud = res->code ? res->code : -1;
}

/* Sends obj (JSON text) with method to path and waits for the answer. */
static int feed_req(uv_loop_t *loop, struct api_client *c, const char *method, const char *path,
		    const char *json)
{
	int code = 0;

	ASSERT_OK(api_request(c, method, path, json ? "application/json" : NULL, json,
			      json ? strlen(json) : 0, feed_done, &code));
	for (uint64_t end = mono_ms() + 10000; !code && mono_ms() < end;)
		uv_run(loop, UV_RUN_ONCE);
	return code;
}

static void on_tick(uv_timer_t *t) { (void)t; }

/* Runs the loop until name/type has want answers (rcode rc) or 10 s pass. */
static bool feed_wait(uv_loop_t *loop, const struct dns_zone *z, const char *name, uint16_t type,
		      int rc, int want)
{
	uv_timer_t t;
	struct t_resp r;
	bool ok = false;

	uv_timer_init(loop, &t);
	uv_timer_start(&t, on_tick, 10, 10);
	for (uint64_t end = mono_ms() + 10000; mono_ms() < end && !ok;) {
		uv_run(loop, UV_RUN_ONCE);
		ok = fask(z, name, type, &r) == DNS_ANSWERED && r.rcode == rc && r.an == want;
	}
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return ok;
}

TEST(dns_feed_from_api)
{
	uv_loop_t loop;
	struct api_kubeconfig kc;
	struct api_client *c;
	struct dns_zone *z = dns_zone_new(NULL);
	struct dns_feed *f;
	char *kubeconfig, *err = NULL;
	pid_t pid = feed_srv_start(&kubeconfig);
	const char *svcs = "/api/v1/namespaces/default/services";
	const char *slices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";

	uv_loop_init(&loop);
	ASSERT_OK(api_kubeconfig_load(kubeconfig, &kc, &err));
	ASSERT_OK(api_client_new(&loop, &kc, &c, &err));
	api_kubeconfig_release(&kc);
	ASSERT_OK(dns_feed_start(c, z, true, &f));
	ASSERT_TRUE(feed_wait(&loop, z, "kubernetes.default.svc.cluster.local", DNS_T_A, 0, 1));
	for (uint64_t end = mono_ms() + 10000; !dns_feed_synced(f) && mono_ms() < end;)
		feed_wait(&loop, z, "kubernetes.default.svc.cluster.local", DNS_T_A, 0, 1);
	ASSERT_TRUE(dns_feed_synced(f));
	ASSERT_EQ(feed_req(&loop, c, "POST", svcs, "{\"metadata\":{\"name\":\"web\"},\"spec\":{"
			   "\"ports\":[{\"name\":\"http\",\"port\":80}]}}"), 201);
	ASSERT_TRUE(feed_wait(&loop, z, "web.default.svc.cluster.local", DNS_T_A, 0, 1));
	ASSERT_TRUE(feed_wait(&loop, z, "_http._tcp.web.default.svc.cluster.local", DNS_T_SRV, 0, 1));
	/* the zone is the state: kube-dns's clusterIPs come from it */
	struct dns_addr kips[DNS_MAX_IPS];
	ASSERT_TRUE(dns_zone_service_ips(z, "kube-system", "kube-dns", kips) >= 1);
	ASSERT_EQ(dns_zone_service_ips(z, "default", "web", kips), 1);
	ASSERT_EQ(kips[0].family, AF_INET);

	/* headless: two slices merged, then one removed */
	ASSERT_EQ(feed_req(&loop, c, "POST", svcs, "{\"metadata\":{\"name\":\"db\"},\"spec\":{"
			   "\"clusterIP\":\"None\",\"ports\":[{\"name\":\"pg\",\"port\":5432}]}}"), 201);
	ASSERT_EQ(feed_req(&loop, c, "POST", slices, "{\"metadata\":{\"name\":\"db-a\",\"labels\":{"
			   "\"kubernetes.io/service-name\":\"db\"}},\"addressType\":\"IPv4\",\"endpoints\":["
			   "{\"addresses\":[\"10.42.0.7\"],\"hostname\":\"db-0\"}]}"), 201);
	ASSERT_EQ(feed_req(&loop, c, "POST", slices, "{\"metadata\":{\"name\":\"db-b\",\"labels\":{"
			   "\"kubernetes.io/service-name\":\"db\"}},\"addressType\":\"IPv4\",\"endpoints\":["
			   "{\"addresses\":[\"10.42.0.8\"],\"conditions\":{\"ready\":true}}]}"), 201);
	ASSERT_TRUE(feed_wait(&loop, z, "db.default.svc.cluster.local", DNS_T_A, 0, 2));
	ASSERT_TRUE(feed_wait(&loop, z, "db-0.db.default.svc.cluster.local", DNS_T_A, 0, 1));
	ASSERT_EQ(feed_req(&loop, c, "DELETE", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/db-a",
			   NULL), 200);
	ASSERT_TRUE(feed_wait(&loop, z, "db.default.svc.cluster.local", DNS_T_A, 0, 1));
	ASSERT_TRUE(feed_wait(&loop, z, "db-0.db.default.svc.cluster.local", DNS_T_A, DNS_RC_NXDOMAIN, 0));
	/* a service deleted and created again gets its live slices back */
	ASSERT_EQ(feed_req(&loop, c, "DELETE", "/api/v1/namespaces/default/services/db", NULL), 200);
	ASSERT_TRUE(feed_wait(&loop, z, "db.default.svc.cluster.local", DNS_T_A, DNS_RC_NXDOMAIN, 0));
	ASSERT_EQ(feed_req(&loop, c, "POST", svcs, "{\"metadata\":{\"name\":\"db\"},\"spec\":{"
			   "\"clusterIP\":\"None\"}}"), 201);
	ASSERT_TRUE(feed_wait(&loop, z, "db.default.svc.cluster.local", DNS_T_A, 0, 1));
	ASSERT_TRUE(dns_feed_events(f) > 0);

	dns_feed_free(f);
	api_client_free(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(&loop));
	dns_zone_free(z);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	free(kubeconfig);
}
