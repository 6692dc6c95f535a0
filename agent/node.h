/*
 * agent/node.h - internals of the agent's node code (agent/node*.c,
 * agent/agent.c). Not included outside agent/.
 */
#ifndef K1S_AGENT_NODE_H
#define K1S_AGENT_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "agent.h"

/* Machine facts; the *_avail/_used members are refreshed each check. */
struct node_facts {
	int64_t cpu_milli;		/* usable CPUs (cgroup cpu.max bound), in millicores */
	int64_t mem_total;		/* MemTotal, in bytes */
	int64_t mem_avail;		/* MemAvailable, in bytes */
	int64_t fs_total;		/* data dir file system, in bytes */
	int64_t fs_avail;		/* ... available to unprivileged users, in bytes */
	int64_t pid_max;		/* kernel.pid_max */
	int64_t pid_used;		/* processes + threads */
	char hostname[256];
	char kernel[128];		/* uname -r */
	char os_image[256];		/* PRETTY_NAME of /etc/os-release */
	char arch[32];			/* GOARCH spelling: amd64, arm64, ... */
	char runtime[96];		/* "runc://1.1.12" */
	char machine_id[64];
	char boot_id[64];
};

/* Fills everything (runs `runc --version` once: call before the loop). */
void node__facts_load(struct node_facts *f, const char *data_dir);
/* Refreshes the available/used figures (cheap reads of /proc, statvfs). */
void node__facts_refresh(struct node_facts *f, const char *data_dir);

/* Eviction signals, in the order of the pressure conditions. */
enum node_signal { SIG_MEMORY, SIG_NODEFS, SIG_PID, SIG_N };

/* --eviction-hard thresholds: a value, or a percentage of the capacity. */
struct node_eviction {
	bool set[SIG_N];
	bool percent[SIG_N];
	double pct[SIG_N];		/* 0..100 */
	int64_t value[SIG_N];		/* bytes or PIDs */
};

/* Parses "memory.available<100Mi,nodefs.available<10%,pid.available<5%".
 * imagefs.* signals are accepted and ignored (one file system). 0 or
 * -EINVAL with a malloc'd *err. */
int node__eviction_parse(const char *s, struct node_eviction *e, char **err);
/* True when signal sig is below its threshold. */
bool node__pressure(const struct node_eviction *e, enum node_signal sig,
		    const struct node_facts *f);

#endif

#include <uv.h>
#include <cjson/cJSON.h>
#include "lib/apiclient.h"
#include "storage.h"

/* The agent's state; agent.c owns its lifecycle, node.c the API dialogue. */
struct agent {
	struct agent_config cfg;
	char *node_name;
	const char *ip[AGENT_MAX_NODE_IPS];	/* one per family, in cfg order */
	size_t n_ip;
	struct node_facts facts;
	struct node_eviction ev;
	uv_loop_t *loop;
	struct api_client *api;
	struct pod_manager *pods;	/* NULL with --disable-pods */
	char *kubelet_version;		/* the server's gitVersion */
	char *uid;			/* Node uid once registered */
	bool registered;
	bool status_busy, lease_busy;
	bool untainted;			/* our not-ready taint is gone */
	bool cond[SIG_N];		/* pressure as last reported */
	bool posting[SIG_N];		/* ... and as in the status patch in flight */
	int64_t transition_ns[SIG_N + 1];	/* [SIG_N] is Ready */
	uint64_t last_report_ms;	/* 0: never reported */
	uint64_t last_lease_ms;		/* last successful lease renewal (mono), 0: none */
	unsigned backoff_ms;
	uv_timer_t lease_timer, check_timer, retry_timer;
	uv_timer_t rest_timer;		/* starts the rest if the node is slow to be Ready */
	bool rest_started;		/* agent__start_rest() ran */
	int failed;			/* the rest failed to start: agent_run exits 1 */
	struct renew *renew;		/* certificate renewal (renew.c), joined agents only */
	struct overlay *overlay;	/* agent/overlay.h; NULL with backend none */
	struct kubelet *kubelet;		/* the kubelet API, NULL when not served */
	int open_handles;
	struct agent_dns *dns;		/* node-local cluster DNS (dns_run.c) */
	void (*done)(void *data);
	void *done_data;
	struct prun *proxy;		/* the service proxy (agent/proxy_run.c), or NULL */
	struct stor_opts stor;		/* from storage_backend / storage_pool_size */
};

/* Certificate renewal of a joined agent (renew.c): NULL when not joined. */
struct renew *agent__renew_start(struct agent *a);
void agent__renew_stop(struct renew *rn);

/* Serves the kubelet API (agent/kubelet.h) if it can (agent.c). */
void agent__kubelet_start(struct agent *a);
/*
 * Starts what the node's registration does not need (pods and the image
 * import, storage, kubelet API, certificate renewal, proxy, overlay, DNS):
 * once our not-ready taint is gone (node.c), or AGENT_REST_START_MS after
 * start, whichever comes first; runs once. A failure stops the loop
 * (a->failed). Starting these later keeps their dozen watches (each a TLS
 * handshake) and the blocking image import off the path to Ready.
 */
void agent__start_rest(struct agent *a);
/* Starts registration (then heartbeat); timers must be initialised. */
void node__start(struct agent *a);
