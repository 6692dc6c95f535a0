/*
 * agent/dns_run.h - the node-local cluster DNS inside the agent (internal to
 * agent/). See docs/dns.md "Where it runs".
 *
 * agent__dns_start() (after the API client exists) starts the zone's
 * informers at once; once they listed (or after AGENT_DNS_SYNC_WAITS) it
 * takes the kube-system/kube-dns Service's clusterIPs, and the addresses of
 * --cluster-dns (default AGENT_DNS_DEFAULT) for the families the Service
 * lacks, and, off the loop, makes sure the dummy link AGENT_DNS_LINK holds them in the node's
 * network namespace (on "lo" when the kernel has no dummy driver); then it binds the DNS server (UDP+TCP port 53)
 * on them and publishes the EndpointSlice kube-system/kube-dns-<node>. A
 * failed step is retried every AGENT_DNS_RETRY_MS; it never stops the agent.
 * While serving, a change of the Service's clusterIPs (checked every
 * AGENT_DNS_CHECK_MS against the zone) moves the addresses: link, bind and
 * publish run again, without an agent restart. With the server, the
 * Prometheus metrics (dns_metrics_start) listen on --dns-metrics-port of
 * 127.0.0.1, ::1 and the DNS addresses (CoreDNS's are reached through the
 * kube-dns Service's metrics port; ours are node-local too).
 * agent__dns_stop() must run before the API client is freed; the state is
 * freed by the loop once its handles closed. The link and its addresses are
 * left in place (pods keep their resolv.conf across an agent restart).
 */
#ifndef K1S_AGENT_DNS_RUN_H
#define K1S_AGENT_DNS_RUN_H

#define AGENT_DNS_LINK "k1s-dns"
#define AGENT_DNS_RETRY_MS 5000
#define AGENT_DNS_DEFAULT "10.43.0.10,fd43::a"	/* 10th address of each service CIDR */
#define AGENT_DNS_SYNC_WAITS 100	/* 100 ms ticks waiting for the first list */
#define AGENT_DNS_METRICS_PORT 9153	/* as CoreDNS's */
#define AGENT_DNS_CHECK_MS 1000	/* serving: look for moved kube-dns clusterIPs */

struct agent;
struct agent_config;

/* Validates --cluster-dns and --cluster-domain (agent_new). 0 or -EINVAL
 * with a malloc'd *err. */
int agent__dns_check(const struct agent_config *c, char **err);

/* Starts it (unless --disable-dns). 0 or -errno with *err. */
int agent__dns_start(struct agent *a, char **err);
void agent__dns_stop(struct agent *a);

#endif
