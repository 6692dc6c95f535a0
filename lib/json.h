/*
 * lib/json.h - small helpers over cJSON.
 *
 * Kubernetes field names are case-sensitive; cJSON_GetObjectItem is not.
 * Everything here uses the case-sensitive lookups. The getters return a
 * fallback when the field is absent or of another type, so callers that need
 * to tell "absent" from "zero" use json_get() and test the item themselves.
 *
 * Exact integers: cJSON keeps numbers as doubles, which hold integers exactly
 * only up to 2^53 (Unix nanoseconds have 19 digits). An integer beyond that
 * keeps its exact decimal digits in the cJSON_Number item's valuestring
 * (valuedouble still holds the nearest double, so plain cJSON readers see an
 * approximation). json_parse() attaches the digits, json_create_int() and
 * json_set_int() make such items, json_get_int(), json_int() and json_equal()
 * read them, json_print() prints them; cJSON_Duplicate() and cJSON_Delete()
 * copy and free valuestring whatever the type, so patches and copies keep
 * them. Parse API text with json_parse(), print it with json_print(): the
 * cJSON_Parse*() / cJSON_Print*() functions lose the digits.
 */
#ifndef K1S_LIB_JSON_H
#define K1S_LIB_JSON_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdbool.h>
#include "buf.h"

/* Child `key` of object `o`, case-sensitive; NULL when absent or o is NULL. */
cJSON *json_get(const cJSON *o, const char *key);
/*
 * Parses len bytes of JSON text (NULL or len 0: NULL); the caller frees the
 * result with cJSON_Delete(). NULL when malformed or nested deeper than
 * cJSON's limit (1000). As cJSON_ParseWithLength(), text after the first
 * value is ignored; json_parse_end() sets *end past that value (or, on
 * failure, to where the error is).
 */
cJSON *json_parse(const char *s, size_t len);
cJSON *json_parse_end(const char *s, size_t len, const char **end);
/* A number item holding v exactly (see above); never NULL. */
cJSON *json_create_int(int64_t v);
/*
 * *out = v's integer value: its exact digits when it has them, else the
 * double when it is integral and within int64. -EINVAL when v is not such a
 * number.
 */
int json_int(const cJSON *v, int64_t *out);
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
/*
 * Serializes compactly into b (appending), as cJSON_PrintUnformatted does
 * except for numbers: exact digits when the item has them, integral doubles
 * within int64 as integers ("1000000000000000000", not "1e+18"), others
 * with the fewest of 15 or 17 significant digits that read back the same,
 * NaN and infinities as null.
 */
void json_print_buf(const cJSON *o, struct buf *b);
/* Compact serialization, malloc'd; never NULL. */
char *json_print(const cJSON *o);

#endif
