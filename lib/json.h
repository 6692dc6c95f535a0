/*
 * lib/json.h - small helpers over cJSON.
 *
 * Kubernetes field names are case-sensitive; cJSON_GetObjectItem is not.
 * Everything here uses the case-sensitive lookups. The getters return a
 * fallback when the field is absent or of another type, so callers that need
 * to tell "absent" from "zero" use json_get() and test the item themselves.
 */
#ifndef K1S_LIB_JSON_H
#define K1S_LIB_JSON_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdbool.h>
#include "buf.h"

/* Child `key` of object `o`, case-sensitive; NULL when absent or o is NULL. */
cJSON *json_get(const cJSON *o, const char *key);
/* Follows a dotted path ("metadata.name"); NULL when any step is absent. */
cJSON *json_path(const cJSON *o, const char *path);
const char *json_get_str(const cJSON *o, const char *key, const char *fallback);
int64_t json_get_int(const cJSON *o, const char *key, int64_t fallback);
bool json_get_bool(const cJSON *o, const char *key, bool fallback);
/* Returns the object child `key`, creating an empty object there if absent. */
cJSON *json_obj(cJSON *o, const char *key);
/* Sets o[key] = s (a copy), replacing any old value. */
void json_set_str(cJSON *o, const char *key, const char *s);
void json_set_int(cJSON *o, const char *key, int64_t v);
void json_set_bool(cJSON *o, const char *key, bool v);
/* Replaces o[key] with item (which o then owns). */
void json_set(cJSON *o, const char *key, cJSON *item);
/* True when the two values are equal (object key order ignored). */
bool json_equal(const cJSON *a, const cJSON *b);
/* Serializes compactly into b (appending). */
void json_print_buf(const cJSON *o, struct buf *b);
/* Compact serialization, malloc'd; never NULL. */
char *json_print(const cJSON *o);

#endif
