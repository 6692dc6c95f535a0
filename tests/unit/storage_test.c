/*
 * Storage, server side: the snapshot.storage.k8s.io CRDs (valid CRDs with
 * upstream's printer columns), their validation messages, and the PVC
 * dataSource/dataSourceRef mirroring (server/volsnap.h).
 */
#include "test.h"
#include "lib/json.h"
#include "server/crd.h"
#include "server/status.h"
#include "server/volsnap.h"

#include <string.h>

static bool has_cause(const struct api_error *e, const char *field, const char *text)
{
	for (size_t i = 0; i < e->ncauses; i++)
		if (!strcmp(e->causes[i].field, field) && strstr(e->causes[i].message, text))
			return true;
	return false;
}

TEST(storage_snapshot_crds_are_valid)
{
	cJSON *crds = volsnap_crds(), *c;
	const char *want[] = {
		"ReadyToUse SourcePVC SourceSnapshotContent RestoreSize SnapshotClass SnapshotContent CreationTime Age ",
		"ReadyToUse RestoreSize DeletionPolicy Driver VolumeSnapshotClass VolumeSnapshot VolumeSnapshotNamespace Age ",
		"Driver DeletionPolicy Age ",
	};
	size_t i = 0;

	ASSERT_EQ(cJSON_GetArraySize(crds), 3);
	cJSON_ArrayForEach(c, crds) {
		struct api_error e = { 0 };
		char cols[512] = "";
		const cJSON *col;

		crd_defaults(c);
		crd_validate(c, NULL, &e);
		ASSERT_EQ(e.ncauses, 0);
		api_error_release(&e);
		cJSON_ArrayForEach(col, json_path(cJSON_GetArrayItem(json_path(c, "spec.versions"), 0),
						  "additionalPrinterColumns")) {
			strcat(cols, json_get_str(col, "name", ""));
			strcat(cols, " ");
		}
		ASSERT_STR_EQ(cols, want[i++]);
	}
	ASSERT_STR_EQ(cJSON_GetArrayItem(json_path(cJSON_GetArrayItem(crds, 0), "spec.names.shortNames"), 0)->valuestring,
		      "vs");
	cJSON_Delete(crds);
}

TEST(storage_snapshot_validation_messages)
{
	struct { const char *obj, *old, *field, *msg; } cases[] = {
		{ "{\"spec\":{\"source\":{\"persistentVolumeClaimName\":\"a\",\"volumeSnapshotContentName\":\"b\"}}}", NULL,
		  "spec.source", "exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set" },
		{ "{\"spec\":{\"source\":{}}}", NULL,
		  "spec.source", "exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set" },
		{ "{\"spec\":{\"source\":{\"persistentVolumeClaimName\":\"a\"},\"volumeSnapshotClassName\":\"\"}}", NULL,
		  "spec.volumeSnapshotClassName", "volumeSnapshotClassName must not be the empty string when set" },
		{ "{\"spec\":{\"source\":{\"persistentVolumeClaimName\":\"b\"}}}",
		  "{\"spec\":{\"source\":{\"persistentVolumeClaimName\":\"a\"}}}",
		  "spec.source.persistentVolumeClaimName", "persistentVolumeClaimName is immutable" },
		{ "{\"spec\":{\"source\":{\"volumeSnapshotContentName\":\"b\"}}}",
		  "{\"spec\":{\"source\":{\"persistentVolumeClaimName\":\"a\"}}}",
		  "spec.source", "persistentVolumeClaimName is required once set" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *o = cJSON_Parse(cases[i].obj), *old = cases[i].old ? cJSON_Parse(cases[i].old) : NULL;
		struct api_error e = { 0 };

		volsnap_validate_snapshot(o, old, &e);
		ASSERT_TRUE(has_cause(&e, cases[i].field, cases[i].msg));
		api_error_release(&e);
		cJSON_Delete(o);
		cJSON_Delete(old);
	}
}

TEST(storage_content_validation_messages)
{
	cJSON *both = cJSON_Parse("{\"spec\":{\"source\":{\"volumeHandle\":\"a\",\"snapshotHandle\":\"b\"},"
				  "\"volumeSnapshotRef\":{\"name\":\"x\"}}}");
	cJSON *ok = cJSON_Parse("{\"spec\":{\"source\":{\"snapshotHandle\":\"b\"},"
				"\"volumeSnapshotRef\":{\"name\":\"x\",\"namespace\":\"default\"}}}");
	cJSON *changed = cJSON_Parse("{\"spec\":{\"source\":{\"snapshotHandle\":\"c\"},"
				     "\"volumeSnapshotRef\":{\"name\":\"x\",\"namespace\":\"default\"}}}");
	struct api_error e = { 0 };

	volsnap_validate_content(both, NULL, &e);
	ASSERT_TRUE(has_cause(&e, "spec.source", "exactly one of volumeHandle and snapshotHandle must be set"));
	ASSERT_TRUE(has_cause(&e, "spec.volumeSnapshotRef",
			 "both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace must be set"));
	api_error_release(&e);
	memset(&e, 0, sizeof(e));
	volsnap_validate_content(ok, NULL, &e);
	ASSERT_EQ(e.ncauses, 0);
	volsnap_validate_content(changed, ok, &e);
	ASSERT_TRUE(has_cause(&e, "spec.source.snapshotHandle", "snapshotHandle is immutable"));
	api_error_release(&e);
	cJSON_Delete(both);
	cJSON_Delete(ok);
	cJSON_Delete(changed);
}

TEST(storage_pvc_data_source_mirrored)
{
	cJSON *a = cJSON_Parse("{\"spec\":{\"dataSource\":{\"apiGroup\":\"snapshot.storage.k8s.io\","
			       "\"kind\":\"VolumeSnapshot\",\"name\":\"s\"}}}");
	cJSON *b = cJSON_Parse("{\"spec\":{\"dataSourceRef\":{\"kind\":\"PersistentVolumeClaim\",\"name\":\"p\"}}}");
	cJSON *x = cJSON_Parse("{\"spec\":{\"dataSourceRef\":{\"kind\":\"PersistentVolumeClaim\",\"name\":\"p\","
			       "\"namespace\":\"other\"}}}");

	volsnap_pvc_defaults(a);
	volsnap_pvc_defaults(b);
	volsnap_pvc_defaults(x);
	ASSERT_TRUE(json_equal(json_path(a, "spec.dataSource"), json_path(a, "spec.dataSourceRef")));
	ASSERT_TRUE(json_equal(json_path(b, "spec.dataSource"), json_path(b, "spec.dataSourceRef")));
	ASSERT_TRUE(json_path(x, "spec.dataSource") == NULL);	/* cross-namespace refs are not mirrored */
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(x);
}
