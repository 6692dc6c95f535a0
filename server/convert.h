/*
 * server/convert.h - version conversion of kinds served in two API versions
 * that share one storage.
 *
 * kube-apiserver stores each resource in one version and converts on the way
 * in (request version -> storage version) and out (storage -> request). k1s
 * stores JSON, so these conversions work on cJSON trees, in place:
 *
 *   core/v1 Event              <-> events.k8s.io/v1 Event        (stored: core/v1)
 *   autoscaling/v2 HPA         <-> autoscaling/v1 HPA            (stored: autoscaling/v2)
 *
 * Rules follow upstream pkg/apis/events/v1/conversion.go and
 * pkg/apis/autoscaling/v1/conversion.go:
 *
 *  - Events are a field renaming (involvedObject<->regarding,
 *    message<->note, source<->deprecatedSource (host included: it is not
 *    mapped to reportingInstance), firstTimestamp/lastTimestamp/count <->
 *    deprecatedFirstTimestamp/deprecatedLastTimestamp/deprecatedCount,
 *    reportingComponent<->reportingController); eventTime, series, related,
 *    action, reason, type, reportingInstance keep their names. Absent stays
 *    absent, so both directions are lossless.
 *
 *  - HPA v2 -> v1: spec.targetCPUUtilizationPercentage is the first cpu
 *    Resource metric's target.averageUtilization; the other metrics go to the
 *    annotation autoscaling.alpha.kubernetes.io/metrics (autoscaling/v1
 *    MetricSpec shape), status.currentMetrics to .../current-metrics
 *    (v1 MetricStatus shape; status.currentCPUUtilizationPercentage is also
 *    set from the cpu Resource status), status.conditions to .../conditions
 *    and spec.behavior to .../behavior (Go field names, as upstream marshals
 *    its internal type). Pre-existing copies of these annotations are dropped
 *    first. v1 -> v2 lifts them back out (malformed ones are ignored, as
 *    upstream), appends the targetCPU metric after the annotation metrics,
 *    defaults to cpu 80% Utilization when no metric is left, and drops the
 *    annotations. So v2 -> v1 -> v2 keeps every field (the cpu metric moves
 *    to the end of spec.metrics, as upstream). Deviation: absent quantities
 *    stay absent in the annotations (upstream writes "0" for some).
 *
 * Lists (kind "...List" with an "items" array) are converted item by item.
 * Conversion happens on a copy that replaces obj's contents only on success,
 * so obj is untouched when an error is returned.
 */
#ifndef K1S_SERVER_CONVERT_H
#define K1S_SERVER_CONVERT_H

#include <cjson/cJSON.h>

/*
 * Converts obj (its apiVersion and kind tell what it is) in place to
 * group/version ("" for core) and sets its apiVersion. Returns 0 (also when
 * obj already is in that version), -ENOTSUP when no conversion between the
 * two versions of that kind exists, or -EINVAL when obj is malformed (not an
 * object, no apiVersion/kind, spec or status of the wrong type).
 */
int convert_object(cJSON *obj, const char *group, const char *version);

/*
 * The storage version of group/resource when it is served in several
 * versions that need convert_object(): "v1" with *storage_group "" for
 * events (core and events.k8s.io), "v2" with "autoscaling" for
 * horizontalpodautoscalers. NULL for every other resource (stored as served;
 * *storage_group is then set to group). storage_group may be NULL.
 */
const char *convert_storage_version(const char *group, const char *resource,
				    const char **storage_group);

/*
 * Write-path shorthand: converts obj (in any served version of
 * group/resource) to the storage version of that resource. 0 when the
 * resource needs no conversion (obj untouched); else as convert_object().
 */
int convert_to_storage(cJSON *obj, const char *group, const char *resource);

#endif
