#include "json.h"

#include <stdlib.h>
#include <string.h>

cJSON *json_get(const cJSON *o, const char *key)
{
	if (!o || !cJSON_IsObject(o))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

cJSON *json_path(const cJSON *o, const char *path)
{
	const cJSON *cur = o;
	char key[256];

	while (cur && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		cur = json_get(cur, key);
		path += n + (dot ? 1 : 0);
	}
	return (cJSON *)cur;
}

const char *json_get_str(const cJSON *o, const char *key, const char *fallback)
{
	cJSON *it = json_get(o, key);

	return cJSON_IsString(it) ? it->valuestring : fallback;
}

int64_t json_get_int(const cJSON *o, const char *key, int64_t fallback)
{
	cJSON *it = json_get(o, key);

	return cJSON_IsNumber(it) ? (int64_t)it->valuedouble : fallback;
}

bool json_get_bool(const cJSON *o, const char *key, bool fallback)
{
	cJSON *it = json_get(o, key);

	return cJSON_IsBool(it) ? cJSON_IsTrue(it) : fallback;
}

void json_set(cJSON *o, const char *key, cJSON *item)
{
	if (json_get(o, key))
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, item);
	else
		cJSON_AddItemToObject(o, key, item);
}

cJSON *json_obj(cJSON *o, const char *key)
{
	cJSON *it = json_get(o, key);

	if (cJSON_IsObject(it))
		return it;
	it = cJSON_CreateObject();
	json_set(o, key, it);
	return it;
}

void json_set_str(cJSON *o, const char *key, const char *s)
{
	json_set(o, key, cJSON_CreateString(s));
}

void json_set_int(cJSON *o, const char *key, int64_t v)
{
	json_set(o, key, cJSON_CreateNumber((double)v));
}

void json_set_bool(cJSON *o, const char *key, bool v)
{
	json_set(o, key, cJSON_CreateBool(v));
}

char *json_print(const cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	if (!s)
		BUG("cJSON_PrintUnformatted failed");
	return s;
}

void json_print_buf(const cJSON *o, struct buf *b)
{
	char *s = json_print(o);

	buf_addstr(b, s);
	free(s);
}

bool json_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *it;

	if (!a || !b)
		return a == b;
	if ((a->type & 0xff) != (b->type & 0xff))
		return false;
	switch (a->type & 0xff) {
	case cJSON_Number:
		return a->valuedouble == b->valuedouble;
	case cJSON_String:
	case cJSON_Raw:
		return !strcmp(a->valuestring, b->valuestring);
	case cJSON_Array: {
		const cJSON *x = a->child, *y = b->child;

		for (; x && y; x = x->next, y = y->next)
			if (!json_equal(x, y))
				return false;
		return !x && !y;
	}
	case cJSON_Object:
		if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
			return false;
		cJSON_ArrayForEach(it, a)
			if (!json_equal(it, json_get(b, it->string)))
				return false;
		return true;
	default:
		return true;
	}
}
