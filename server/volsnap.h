/*
 * server/volsnap.h - the snapshot.storage.k8s.io/v1 kinds as the
 * external-snapshotter defines them (VolumeSnapshot, VolumeSnapshotContent,
 * VolumeSnapshotClass): their CRDs, installed at bootstrap unless
 * --disable local-storage, and the validation rules upstream writes in CEL
 * (k1s has no CEL yet), with upstream's messages, run as kind validators
 * (server/objcheck.c). Also the PVC dataSource/dataSourceRef mirroring.
 */
#ifndef K1S_SERVER_VOLSNAP_H
#define K1S_SERVER_VOLSNAP_H

#include <cjson/cJSON.h>

struct api_error;

#define VOLSNAP_GROUP "snapshot.storage.k8s.io"

/* The three CRDs, a new array (caller frees). */
cJSON *volsnap_crds(void);
void volsnap_validate_snapshot(const cJSON *obj, const cJSON *old, struct api_error *e);
void volsnap_validate_content(const cJSON *obj, const cJSON *old, struct api_error *e);
void volsnap_validate_class(const cJSON *obj, const cJSON *old, struct api_error *e);
/* PVC defaulting: dataSource and dataSourceRef mirror each other. */
void volsnap_pvc_defaults(cJSON *pvc);

#endif
