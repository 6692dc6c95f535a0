/*
 * Fuzz target: the API server's object path after HTTP parsing (which
 * http_fuzz.c covers): JSON decode, identity checks, field validation
 * (Strict and Ignore), defaulting, metadata preparation, kind validation and
 * Table printing, for every built-in resource. Input: byte 0 picks the
 * resource, byte 1 the field-validation mode, the rest is the request body.
 */
#include "server/apiserver.h"
#include "server/meta.h"
#include "server/objcheck.h"
#include "server/tables.h"
#include "lib/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int inited;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_call c = { 0 };
	struct api_error e = { 0 };
	const cJSON *objs[1];
	cJSON *obj, *t;
	char *s;

	if (!inited) {
		registry_init();
		inited = 1;
	}
	if (size < 2 || size > (1 << 20))
		return 0;
	c.res = registry_at(data[0] % registry_count());
	c.field_validation = (data[1] & 1) ? "Ignore" : "Strict";
	strcpy(c.route.ns, "default");
	obj = cJSON_ParseWithLength((const char *)data + 2, size - 2);
	if (!obj)
		return 0;
	if (cJSON_IsObject(obj) &&
	    !meta_check_identity(obj, c.res, c.res->namespaced ? "default" : NULL, NULL, &e) &&
	    !objcheck_decode(&c, obj, &e)) {
		objcheck_defaults(&c, obj);
		meta_prepare_create(obj, c.res, 1700000000LL * 1000000000LL, &e);
		objcheck_validate(&c, obj, NULL, &e);
		if (e.ncauses)
			api_error_invalid(&e, c.res->group, c.res->kind, "x");
		objs[0] = obj;
		t = table_build(table_printer_find(c.res->group, c.res->plural), objs, 1,
				TABLE_INCLUDE_METADATA, NULL, 1700000000LL * 1000000000LL);
		s = json_print(t);
		free(s);
		cJSON_Delete(t);
	}
	api_error_release(&e);
	cJSON_Delete(obj);
	return 0;
}
