/*
 * agent/pod_int.h - internals of the pod workers (agent/pod*.c). Not
 * included outside agent/.
 *
 * Ownership: the manager owns the pods (a list keyed by uid); a pod owns a
 * copy of its latest API object and one struct pod_ctr per container (init
 * containers first, in spec order, then app containers). At most one work
 * item (uv_queue_work) per pod is in flight (pod.busy); the worker thread
 * only sees the work item's own copies, never the pod, the manager's JSON or
 * the API client. Shared across threads: the image store (pm->img_mu) and
 * the IPAM allocator (pm->net_mu); the loop never waits for these mutexes
 * (image lookups go through a step and a loop-owned cache).
 *
 * File map: pod.c (manager, informers, re-adoption, orphans, lookups),
 * pod_sync.c (the per-pod state machine on the loop), pod_step.c (a pod's
 * work items and their completions), pod_sandbox.c (sandbox start, teardown,
 * final delete), pod_ctr.c (container start, restart back-off, exits, probes
 * and hooks), pod_spec.c (a container's start request from the pod and
 * image), pod_work.c (what runs on the thread pool), pod_status.c (status
 * and events).
 */
#ifndef K1S_AGENT_POD_INT_H
#define K1S_AGENT_POD_INT_H

#include "agent/pod.h"
#include "agent/probe.h"
#include "agent/runtime.h"
#include "agent/volume.h"
#include "images/images.h"
#include "lib/inet.h"
#include "net/net.h"

#include <cjson/cJSON.h>
#include <stdint.h>

#define POD_EXIT_POLL_MS 250		/* how often running containers' exit.json is looked for */
#define POD_RETRY_MS 2000		/* retry of a failed sandbox / volume setup */
#define POD_MSG_MAX 4096		/* bytes of a termination message */
#define POD_START_PER_CPU 2		/* pods starting at once (sandbox to first idle), per CPU */
#define POD_START_MAX 16		/* ... and at most */
#define POD_SHOW_CREATING_MS 500	/* a pod not started by then shows ContainerCreating */
#define POD_STATUS_WRITES_MAX 8		/* status writes in flight (= the client's idle connections) */

enum ctr_run {
	CTR_NONE = 0,	/* no runtime container for the current attempt */
	CTR_RUNNING,	/* created or running */
	CTR_EXITED,
};

struct pod_ctr {
	char *name;
	bool init, sidecar;		/* init container; with restartPolicy Always */
	bool ephemeral;			/* from spec.ephemeralContainers (pod_ephemeral.c) */
	unsigned attempt;		/* restartCount */
	enum ctr_run run;
	bool ever_ran;			/* a container of this name existed */
	char id[RT_ID_MAX + 1];		/* runtime id of attempt (when run != NONE) */
	int exit_code, signal;
	bool oom;
	int64_t started_ns, finished_ns;	/* wall clock */
	char *message;			/* termination message, or NULL */
	/* the previous attempt, for lastState */
	bool has_last;
	int last_exit;
	bool last_oom;
	int64_t last_started_ns, last_finished_ns;
	/* waiting state when not running */
	char *wait_reason, *wait_msg;
	unsigned failures;		/* consecutive start failures (image, config) */
	unsigned backoff_ms;		/* crash-loop / start backoff; 0 = none yet */
	uint64_t retry_at_ms;		/* mono ms before which no start is tried */
	bool backoff_event;		/* BackOff event sent for this wait */
	unsigned backoff_cur_ms;	/* the back-off of the current wait */
	/* probes */
	bool probing;
	bool has_readiness, has_startup;
	bool ready_probe, started_probe;
	bool liveness_failed;		/* restart requested by the liveness probe */
	char *image_ref, *image_id;	/* as in the spec / "sha256:..." */
	bool pulling;			/* waits for a pull (pod_pull.c) */
	bool pulled;			/* pulled for the next start (policy Always) */
};

struct pod {
	struct pod_manager *pm;
	struct pod *next;
	char *ns, *name, *uid;
	cJSON *obj;			/* the latest object from the informer (owned) */
	bool gone;			/* deleted from the API */
	bool terminating;		/* deletionTimestamp set, or gone */
	bool finished;			/* all containers done for good (Succeeded/Failed) */
	bool torn_down;			/* teardown work completed */
	bool api_deleted;		/* final DELETE sent */
	bool host_network, share_pid;
	bool sandbox_ready;
	bool net_wait;			/* waiting for the node's podCIDRs */
	char *netns;			/* /proc/<pause>/ns/net */
	size_t n_ips;
	char ips[2][INET_ADDR_STRLEN];
	struct pod_ctr *ctrs;
	size_t n_ctrs, n_init;
	bool busy, dirty;		/* a work item is in flight; sync again after it */
	unsigned hooks_pending;		/* preStop hooks running */
	bool prestop_done;
	uint64_t grace_deadline_ms;	/* mono; when SIGKILL follows */
	uv_timer_t timer;		/* retries and backoffs */
	bool timer_on;
	unsigned handles;		/* open handles (timer, show_timer); freed at 0 */
	/* status */
	int64_t start_ns;		/* startTime, wall clock */
	cJSON *status_sent;		/* last status written (or being written) */
	bool status_busy, status_dirty;
	/* A starting pod writes no status until its steps idle (one write per
	 * quick start); one still starting POD_SHOW_CREATING_MS after it was
	 * accepted gets its ContainerCreating status written once anyway. */
	uv_timer_t show_timer;		/* stopped once a status went out */
	bool show_creating;		/* the next update passes the start gate */
	uint64_t status_wait;		/* waiting for a write slot: place in line (0 = not) */
	int64_t cond_ns[5];		/* lastTransitionTime of each condition */
	bool cond_val[5];
	char *init_failed_msg;		/* pod Failed because of an init container */
	char *sandbox_err;		/* last sandbox/volume failure */
	uint64_t sandbox_retry_ms;	/* loop time before which no sandbox is tried */
	uint64_t vol_wait_ms;		/* loop time volume setup first failed (0 = ready) */
	/* start gate: a new pod's steps run only while it holds a slot */
	bool start_slot;		/* holds one of pm->start_max slots */
	uint64_t start_wait;		/* waiting for a slot: its place in line (0 = not) */
};

struct pod_adopted;

struct pod_manager {
	struct pod_config cfg;		/* strings owned (copies) */
	char *data_dir, *node_name, *cluster_dns, *cluster_domain, *runc_root, *cgroup_parent;
	char *resolv_conf;
	char *node_ips[2];
	char *pods_dir, *logs_dir, *ipam_dir;
	uv_loop_t *loop;
	struct api_client *api;
	struct rt rt;
	struct img_store images;
	bool images_ok;
	struct vol_manager *vol;
	struct probe_manager *probes;
	struct api_informer *pod_inf, *node_inf;
	struct pod *pods;
	size_t n_pods;
	uv_timer_t poll_timer;
	bool started, stopping, scanned, synced, orphans_done;
	unsigned works;			/* work items in flight */
	/* Pods getting their sandbox start in order, start_max at a time: a
	 * pod holds its slot from its sandbox step until it first idles (no
	 * step in flight), so each pod's chain of steps runs without
	 * queueing behind every other new pod's sandbox. */
	unsigned starting, start_max;
	uint64_t start_seq;		/* last place in line given out */
	/* Status writes in flight, at most POD_STATUS_WRITES_MAX: a burst of
	 * pods reuses the API client's pooled connections instead of opening
	 * (TLS handshakes) one per pod; the others wait in line. */
	unsigned status_writes;
	uint64_t status_seq;
	unsigned closing;		/* handles being closed */
	void (*done)(void *);
	void *done_data;
	struct pod_adopted *adopted;	/* from the start-up scan, until matched */
	struct pod_image *images_seen;	/* loop-owned cache: image ref -> id + config */
	char *images_data_dir;		/* --data-dir of `k1s images` for this store */
	struct pod_pull *pulls;		/* pulls in flight (pod_pull.c) */
	uv_mutex_t img_mu;		/* the image store */
	/* pod network (under net_mu) */
	uv_mutex_t net_mu;
	struct net_ipam ipam;
	bool net_ready, net_busy;
	char *pod_cidrs;		/* "10.42.0.0/24,fd42::/64" as last set up */
	unsigned pod_mtu;		/* for new pods' eth0; 0: kernel default (overlay sets it) */
};

/* An image the loop knows: the reference as in the pod spec, its id and config. */
struct pod_image {
	struct pod_image *next;
	char *ref, *id;
	cJSON *config;
};

/* A runtime container found at start-up (re-adoption). */
struct pod_adopted {
	struct pod_adopted *next;
	char *uid;			/* the pod */
	char *name;			/* container name, NULL for the sandbox */
	unsigned attempt;
	struct rt_status st;
	char *netns;			/* sandbox: its net namespace path */
};

/* ---- pod.c ---- */
struct pod *pod__find(struct pod_manager *pm, const char *uid);
/* Frees a pod that has no work and no hooks in flight. */
void pod__forget(struct pod *p);
char *pod__dir(const struct pod_manager *pm, const char *uid);
char *pod__log_path(const struct pod_manager *pm, const struct pod *p, const char *ctr,
		    unsigned attempt);

/* A handle (or a pull) the manager waited for is gone: done() may run. */
void pod__closed_one(struct pod_manager *pm);

/* ---- pod_pull.c: pulls in child processes, shared by reference ---- */
struct pod_pull;
/* Pulls c->image_ref for c (Pulling event; joins a pull in flight); the
 * result comes through pod__pull_done(). */
void pod__pull_start(struct pod *p, struct pod_ctr *c);
/* Stops the pulls in flight (their waiters are not told). */
void pod__pulls_stop(struct pod_manager *pm);

/* ---- pod_sync.c ---- */
/* A pull for c ended: err NULL on success, else the one-line reason; secs
 * the pull's own time, waited the time c waited. */
void pod__pull_done(struct pod *p, struct pod_ctr *c, const char *ref, const char *err,
		    double secs, double waited);
/* Starts the pod's next step (or records that it must sync again after the
 * one in flight), then updates its status. */
void pod__sync(struct pod *p);
/* Takes a copy of the informer's object (the first one also sets up the
 * containers and the conditions as the API has them). */
void pod__update_obj(struct pod *p, const cJSON *obj);
/* Gives p's start slot back (if it holds one) and wakes the next pod in line. */
void pod__start_release(struct pod *p);
/* ---- pod_status.c ---- */
/* Writes p's status if it changed, unless p is starting (see show_timer). */
void pod__status_update(struct pod *p);
/* Arms show_timer for a pod just accepted from the API. */
void pod__status_arm(struct pod *p);
/* Puts what the agent knows of the pod's addresses (podIP(s), hostIP(s)),
 * phase and startTime into p->obj's status, for env (downward API) and
 * volumes built from it. */
void pod__obj_fill_status(struct pod *p);
void pod__event(struct pod *p, const char *ctr, bool warning, const char *reason,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* "Running", "Pending", "Succeeded", "Failed". */
const char *pod__phase(const struct pod *p);

/* ---- pod_spec.c: a container start request, built on the loop ---- */
struct ctr_start {
	char *id, *name, *log_path, *ctr_dir;
	char *image;			/* image id (sha256:...) */
	char **args, **env;		/* NULL-terminated, each owned */
	char *cwd;
	char *user;			/* image USER to resolve in the rootfs, or NULL */
	bool has_uid, has_gid;
	uint32_t uid, gid;
	bool run_as_non_root;
	struct rt_mount *mounts;	/* one block from vol_container_mounts + ours */
	size_t n_mounts;
	struct rt_mount *extra;		/* termination log mount */
	char *term_file;		/* host side of terminationMessagePath */
	char *term_path;
	char **cap_add, **cap_drop;
	bool privileged, readonly, no_new_privs;
	struct rt_resources res;
	char *hosts, *resolv, *hostname;
	bool share_pid;
	char *pid_target;		/* ephemeral: join this container's PID namespace */
	bool stdin, stdin_once, tty;	/* the container's stdin is held open (a terminal) */
	char *sandbox;			/* sandbox id = pod uid */
	bool host_network;
	int64_t started_ns;		/* out: the runtime's start time */
};

/* Builds c for container ctr of p, attempt a. 0, or -errno with *reason
 * (static) and *msg (malloc'd) set: -EAGAIN = try later (references). */
int pod__ctr_start_build(struct pod *p, struct pod_ctr *ctr, const cJSON *spec,
			 struct ctr_start *c, const char **reason, char **msg);
void pod__ctr_start_release(struct ctr_start *c);
/* The image of a container from the loop's cache: 0 with the image id and
 * config in *id and *config (malloc'd), or -EINPROGRESS when it must be
 * looked up first (pod__work_image, then pod__image_learn). */
int pod__image_resolve(struct pod_manager *pm, const cJSON *spec, char **id, cJSON **config);
/* Records a lookup's result (id NULL: not found; config is taken). */
void pod__image_learn(struct pod_manager *pm, const char *ref, const char *id, cJSON *config);
/* Why a missing image cannot run: reason (static) and malloc'd message. */
void pod__image_missing(const cJSON *spec, const char **reason, char **msg);
/* Drops ref from the cache (a pull may have moved its name to a new image). */
void pod__image_forget(struct pod_manager *pm, const char *ref);
/* imagePullPolicy as the kubelet defaults it (Always for :latest or no tag). */
bool pod__image_pull_always(const cJSON *spec);
bool pod__image_pull_never(const cJSON *spec);
void pod__images_forget(struct pod_manager *pm);
/* The pod's /etc files; malloc'd texts. */
char *pod__hosts_text(const struct pod *p);
char *pod__resolv_text(const struct pod *p);
/* The container spec (from spec.initContainers/containers) of ctr. */
const cJSON *pod__ctr_spec(const struct pod *p, const struct pod_ctr *ctr);

/* ---- pod_step.c: work items, at most one per pod in flight ---- */
enum pod_step_op { STEP_SANDBOX, STEP_START, STEP_STOP, STEP_STATUS, STEP_TEARDOWN, STEP_REMOVE,
		   STEP_IMAGE };

/* A step owns everything in it (strings, arrays, JSON); the worker thread
 * reads and writes only the step, the loop applies it in its completion. */
struct pod_step {
	uv_work_t req;
	struct pod *p;
	enum pod_step_op op;
	int ret;			/* 0 or -errno, with err */
	char err[512];
	/* STEP_SANDBOX */
	char *hostname;
	bool share_pid, host_network;
	char *netns;
	char ips[2][INET_ADDR_STRLEN];
	size_t n_ips;
	/* STEP_IMAGE */
	char *image_ref, *image_id;
	cJSON *image_config;
	/* STEP_START */
	struct ctr_start cs;
	size_t ctr;			/* index in p->ctrs */
	unsigned attempt;
	/* STEP_STOP / STEP_STATUS / STEP_TEARDOWN / STEP_REMOVE */
	char **ids;			/* n runtime ids */
	size_t *idx;			/* their index in p->ctrs */
	struct rt_status *st;		/* out: their status */
	size_t n;
	unsigned grace_ms;
	bool all;			/* teardown: also remove everything */
	uint64_t t_queued, t_run, t_ran;	/* mono ns, for the timing log */
};

/* A zeroed step of p (the caller fills it, then queues it or frees it). */
struct pod_step *pod__step_new(struct pod *p, enum pod_step_op op);
/* Marks p busy and hands s to the thread pool; its completion applies the
 * result, frees s and syncs p again. */
void pod__step_queue(struct pod_step *s);
/* Syncs p after delay_ms unless an earlier sync is already due. */
void pod__timer_at(struct pod *p, uint64_t delay_ms);

/* ---- pod_sandbox.c ---- */
/* Queues the sandbox step (pod directory, pause process, pod network). */
void pod__sandbox_start(struct pod *p);
/* The sandbox step completed: its addresses and the pod's /etc files, or
 * a retry after POD_RETRY_MS. */
void pod__sandbox_done(struct pod *p, struct pod_step *s);
/* One sync of a terminating pod: preStop hooks, teardown, final DELETE,
 * and pod__forget() once the API object is gone. */
void pod__terminate(struct pod *p);
void pod__teardown_done(struct pod *p, struct pod_step *s);
/* The pod's termination grace period, in milliseconds. */
unsigned pod__grace_ms(const struct pod *p);

/* ---- pod_ctr.c ---- */
/* Starts c (the image lookup step first when the loop's cache lacks it),
 * or arms a timer when its back-off says wait. */
void pod__ctr_run(struct pod *p, struct pod_ctr *c);
/* Stops the n containers cs with grace_ms, then reads their exits. */
void pod__ctr_stop(struct pod *p, struct pod_ctr **cs, size_t n, unsigned grace_ms);
/* Whether an exited container starts again (restartPolicy, sidecars). */
bool pod__ctr_should_restart(const struct pod *p, const struct pod_ctr *c);
/* c exited with st (no-op while st says running): exit state, termination
 * message, probes stopped, the crash back-off armed. */
void pod__ctr_exited(struct pod *p, struct pod_ctr *c, const struct rt_status *st);
/* Runs c's lifecycle hook which ("postStart", "preStop"); true if one runs. */
bool pod__ctr_hook(struct pod *p, struct pod_ctr *c, const char *which, unsigned timeout_ms);
/* The exit poller: queues a status step for the running containers. */
void pod__exit_poll(struct pod *p);
void pod__ctr_run_done(struct pod *p, struct pod_step *s);
void pod__ctr_image_done(struct pod *p, struct pod_step *s);
void pod__ctr_status_done(struct pod *p, struct pod_step *s);

/* ---- pod_ephemeral.c ---- */
/* Appends a container for each ephemeral container of p->obj not known yet. */
void pod__eph_add(struct pod *p);
/* Starts the ephemeral containers that never ran (after the init containers). */
void pod__eph_sync(struct pod *p);
/* The runtime id (malloc'd, NULL without targetContainerName) of the
 * container whose PID namespace spec's ephemeral container joins: 0, or
 * -EAGAIN with *reason (static) and *msg (malloc'd) while it does not run. */
int pod__eph_target(struct pod *p, const cJSON *spec, char **id, const char **reason, char **msg);
/* On the thread pool: makes s join the PID namespace of the running
 * container target_id; the path is malloc'd into *path (freed first). */
int pod__eph_join_pid(struct pod_manager *pm, const char *target_id, struct rt_spec *s,
		      char **path, char *err, size_t errlen);

/* ---- pod_work.c: on the thread pool ---- */
/* Looks ref up in the image store (re-read when missing): -ENOENT or 0 with
 * the id and parsed config (malloc'd). */
int pod__work_image(struct pod_manager *pm, const char *ref, char **id, cJSON **config);
int pod__work_start(struct pod_manager *pm, struct ctr_start *c, char *err, size_t errlen);
int pod__work_sandbox(struct pod_manager *pm, const char *uid, const char *hostname,
		      bool share_pid, bool host_network, char **netns, char ips[2][INET_ADDR_STRLEN],
		      size_t *n_ips, char *err, size_t errlen);
/* Stops every container of uid (SIGTERM, grace, SIGKILL), and with all,
 * removes containers, sandbox, network and the pod directory. */
int pod__work_teardown(struct pod_manager *pm, const char *uid, unsigned grace_ms, bool all);
/* Stops one container (grace) without removing it. */
int pod__work_stop(struct pod_manager *pm, const char *id, unsigned grace_ms);
/* Removes a runtime container and its rootfs. */
int pod__work_remove(struct pod_manager *pm, const char *id);
/* Sets up the node's pod network for cidrs (bridge, gateways, forwarding). */
int pod__work_net_setup(struct pod_manager *pm, const char *cidrs, char *err, size_t errlen);
/* Reads the exit record of id and its termination message file. */
int pod__work_status(struct pod_manager *pm, const char *id, struct rt_status *st);

#endif
