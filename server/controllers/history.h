/*
 * server/controllers/history.h - ControllerRevisions (apps/v1) of the
 * DaemonSet and StatefulSet controllers, as upstream's controller history:
 * one revision per distinct pod template, named <owner>-<hash> (the
 * template's hash, as the pods' controller-revision-hash label), data = a
 * strategic merge patch that restores the template
 * ({"spec":{"template":{..., "$patch":"replace"}}}), revision numbers
 * counting up, labels = the template's plus controller-revision-hash,
 * annotations = the owner's, a controller ownerReference (so the garbage
 * collector removes them with the owner). `kubectl rollout history` lists
 * them and `kubectl rollout undo` patches the owner with their data.
 *
 * Revisions are cached objects (the manager's `revisions` store); every
 * write ends in the caller's ctrl_batch.
 */
#ifndef K1S_SERVER_CONTROLLERS_HISTORY_H
#define K1S_SERVER_CONTROLLERS_HISTORY_H

#include "ctrl_priv.h"

#define HIST_LABEL "controller-revision-hash"
#define HIST_LIMIT_DEFAULT 10	/* spec.revisionHistoryLimit when absent */
#define HIST_MAX 1024		/* revisions of one owner looked at */

/*
 * Makes the revision `name` (<owner>-<hash>) of owner (a cached DaemonSet
 * or StatefulSet) the newest: creates it with the next revision number, or
 * renumbers an older one (a rollback). Then deletes the oldest revisions
 * beyond spec.revisionHistoryLimit that are neither `name` nor among
 * keep[0..n_keep) (revision names or hashes still used by pods, or a
 * StatefulSet's currentRevision).
 */
void hist_sync(struct ctrl_manager *m, const cJSON *owner, const char *name, const char *hash,
	       const char *const *keep, size_t n_keep, struct ctrl_batch *b);

/* Enqueues on q the owner of a revision whose controller is of kind;
 * a handler body for the revisions store. */
void hist_enqueue_owner(struct wq *q, const cJSON *old, const cJSON *new, const char *kind);

#endif
