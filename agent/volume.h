/*
 * agent/volume.h - a pod's volumes and a container's environment, for the
 * pod workers (agent/pod*.c).
 *
 * Everything here runs on the agent's uv loop and never blocks on the
 * network: objects a pod refers to (configMaps, secrets, services) come from
 * informers the manager starts. Files live under
 * <pods_dir>/<pod uid>/volumes/<volume name>/ (the conventions of
 * agent/pod.h).
 *
 * Errors: 0, -EAGAIN when a referenced object is not known yet (call again
 * later), other -errno = failed with a malloc'd event message in *err (the
 * pod worker reports it; for env and mounts it becomes
 * CreateContainerConfigError).
 *
 * Implemented by agent/volume.c (manager, setup, mounts, teardown),
 * agent/vol_*.c and agent/env.c; the rules are in docs/pod-config.md.
 * On -EAGAIN *err may also be set (e.g. 'configmap "x" not found': the
 * object may still be created, so the worker retries; the kubelet shows it
 * as a FailedMount event). For env, a missing object or key that is not
 * optional is -ENOENT with upstream's message (CreateContainerConfigError).
 */
#ifndef K1S_AGENT_VOLUME_H
#define K1S_AGENT_VOLUME_H

#include <stddef.h>
#include <cjson/cJSON.h>

struct api_client;
struct rt_mount;
struct vol_manager;

/* Starts what the manager needs (e.g. informers on configmaps/secrets/services it reads). */
int vol_manager_new(struct api_client *c, const char *pods_dir, const char *node_name,
		    struct vol_manager **out);
void vol_manager_free(struct vol_manager *m);
/* Frees the informers (call before the API client goes away, when the agent
 * stops); lookups answer -EAGAIN afterwards. Local calls (teardown) still work. */
void vol_manager_stop(struct vol_manager *m);
/* fn(ud, pod uid) runs when something a pod's volumes waited for arrived
 * (a service account token): the worker should sync that pod now. */
void vol_manager_on_ready(struct vol_manager *m, void (*fn)(void *ud, const char *uid), void *ud);
/* Prepares every volume of pod under <pods_dir>/<uid>/volumes/. 0 = ready; -EAGAIN = a referenced
 * object is not known yet, call again later; other -errno = failed, *err = an event message
 * (malloc'd). Idempotent: called again on every pod sync; it refreshes configMap/secret/
 * downwardAPI contents (that is how updates reach running pods). */
int vol_pod_setup(struct vol_manager *m, const cJSON *pod, char **err);
/* Starts the requests pod's volumes will wait for (its projected service
 * account tokens) so that they are in by the first vol_pod_setup(): the pod
 * worker calls it as the pod's sandbox starts. Idempotent. */
void vol_pod_prefetch(struct vol_manager *m, const cJSON *pod);
/* The bind/tmpfs mounts for one container's volumeMounts (subPath included). *mounts is one
 * malloc'd block owning its strings; free with free(). */
int vol_container_mounts(struct vol_manager *m, const cJSON *pod, const cJSON *container,
			 struct rt_mount **mounts, size_t *n, char **err);
/* The container's environment, "K=V" strings, NULL-terminated, one malloc'd block (free()).
 * image_env: the image config's Env (may be NULL). Includes env, envFrom, valueFrom (fieldRef,
 * resourceFieldRef, configMapKeyRef, secretKeyRef) and the service environment variables.
 * -EAGAIN / -errno + *err as above (CreateContainerConfigError). */
int vol_container_env(struct vol_manager *m, const cJSON *pod, const cJSON *container,
		      const char *const *image_env, char ***env, char **err);
/* A copy of pod (cJSON_Delete it) whose status.podIP(s) and hostIP(s) are
 * the worker's own addresses (NULL or "" entries skipped; n == 0 keeps the
 * pod's): the API object lacks them until the worker posted its status,
 * and env fieldRefs status.podIP(s)/hostIP(s) read them from here. */
cJSON *vol_pod_with_ips(const cJSON *pod, const char *const *pod_ips, size_t n_pod,
			const char *const *host_ips, size_t n_host);
/* Unmounts tmpfs volumes and removes <pods_dir>/<uid>/volumes. */
int vol_pod_teardown(struct vol_manager *m, const char *uid);

#endif
