/*
 * server/schema_glue.c - placeholder until lib/schema lands: no schema
 * checks, strategic merge patch without merge keys.
 */
#include "schema_glue.h"

int schema_glue_decode(struct api_call *c, cJSON *obj, struct api_error *e)
{
	(void)c; (void)obj; (void)e;
	return 0;
}

void schema_glue_defaults(struct api_call *c, cJSON *obj)
{
	(void)c; (void)obj;
}

void schema_glue_validate(struct api_call *c, const cJSON *obj, struct api_error *e)
{
	(void)c; (void)obj; (void)e;
}

void schema_glue_smp(struct api_call *c, struct smp_schema *out)
{
	(void)c;
	out->ops = NULL;
	out->ctx = NULL;
	out->root = NULL;
}
