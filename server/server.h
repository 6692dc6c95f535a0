/*
 * server/server.h - `k1s server`: the API server, its datastore and
 * controllers in one process on one libuv loop. The only header of the
 * server module that other modules (cmd/) include.
 *
 * server_run() blocks until SIGTERM/SIGINT (or a fatal error) and returns the
 * process exit status. Start-up order: data dir, PKI, admin kubeconfig,
 * store, built-in objects (namespaces), HTTPS listeners, then "ready".
 */
#ifndef K1S_SERVER_SERVER_H
#define K1S_SERVER_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/flags.h"

struct server_config {
	const char *data_dir;		/* default /var/lib/k1s */
	int64_t https_port;		/* default 6443 */
	const char *bind_address;	/* default: all IPv4 and IPv6 addresses */
	struct flag_list tls_san;	/* extra serving SANs */
	struct flag_list node_ip;	/* node addresses (also SANs) */
	const char *write_kubeconfig;	/* default /etc/k1s/k1s.yaml */
	const char *write_kubeconfig_mode;	/* octal text, default "0600" */
	const char *token_auth_file;	/* static bearer tokens, or NULL */
	const char *token;		/* join secret (or whole K10 token); NULL = kept/generated */
	const char *cluster_cidr;	/* default 10.42.0.0/16,fd42::/56 */
	const char *service_cidr;	/* default 10.43.0.0/16,fd43::/112 */
	int64_t node_cidr_mask_v4;	/* node podCIDR prefix length, default 24 */
	int64_t node_cidr_mask_v6;	/* ... IPv6, default 64 */
	const char *node_port_range;	/* default 30000-32767 */
	int64_t history_events;		/* watch/list history kept, events; 0 = store default */
	int64_t history_seconds;	/* ... and age, in seconds; 0 = store default */
	bool disable_agent;
	struct flag_list disable;	/* components not to run: "local-storage" */
	bool keep_removed_manifests;	/* objects of a removed manifest file stay */
	const char *node_monitor_grace_period;	/* Go duration, default "40s" */
	const char *node_eviction_rate;	/* nodes per second per zone, default "0.1" */
	const char *ready_file;		/* touched when serving (tests), or NULL */
};

/* Fills the defaults. */
void server_config_init(struct server_config *c);
/* Runs the server until asked to stop; returns the exit status. */
int server_run(const struct server_config *c);

#endif
