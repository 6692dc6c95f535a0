/*
 * lib/yaml.c - YAML to cJSON (lib/yaml.h).
 */
#include "yaml.h"
#include "json.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

static cJSON *plain_scalar(const char *s)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };
	char *end;

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(s, yes[i]))
			return cJSON_CreateTrue();
		if (!strcmp(s, no[i]))
			return cJSON_CreateFalse();
	}
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return cJSON_CreateNull();
	if ((s[0] >= '0' && s[0] <= '9') || ((s[0] == '-' || s[0] == '+') && s[1] >= '0' && s[1] <= '9')) {
		long long v = strtoll(s, &end, 0);

		if (!*end)
			return json_create_int(v);
		double d = strtod(s, &end);

		if (!*end && !strchr(s, 'x') && !strchr(s, 'X'))
			return cJSON_CreateNumber(d);
	}
	return cJSON_CreateString(s);
}

static cJSON *node_json(yaml_document_t *doc, yaml_node_t *n, int mode, int depth)
{
	cJSON *o;

	if (!n || depth > YAML_MAX_DEPTH)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		if (mode == YAML_TYPED && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			return plain_scalar((const char *)n->data.scalar.value);
		return cJSON_CreateString((const char *)n->data.scalar.value);
	case YAML_SEQUENCE_NODE:
		o = cJSON_CreateArray();
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++) {
			cJSON *c = node_json(doc, yaml_document_get_node(doc, *i), mode, depth + 1);

			if (!c) {
				cJSON_Delete(o);
				return NULL;
			}
			cJSON_AddItemToArray(o, c);
		}
		return o;
	case YAML_MAPPING_NODE:
		o = cJSON_CreateObject();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			cJSON *v;

			if (!k || k->type != YAML_SCALAR_NODE)
				continue;
			v = node_json(doc, yaml_document_get_node(doc, p->value), mode, depth + 1);
			if (!v) {
				cJSON_Delete(o);
				return NULL;
			}
			json_set(o, (const char *)k->data.scalar.value, v);
		}
		return o;
	default:
		return NULL;
	}
}

int yaml_load_all(const char *text, size_t len, int mode, cJSON **docs, char **err)
{
	yaml_parser_t p;
	yaml_document_t doc;
	cJSON *all = cJSON_CreateArray();
	int ret = 0, n = 0;

	*err = NULL;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	for (;;) {
		yaml_node_t *root;
		cJSON *j;

		if (!yaml_parser_load(&p, &doc)) {
			*err = xasprintf("line %zu: %s", p.problem_mark.line + 1,
					 p.problem ? p.problem : "cannot parse YAML");
			ret = -EINVAL;
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {			/* end of the stream */
			yaml_document_delete(&doc);
			break;
		}
		j = node_json(&doc, root, mode, 0);
		yaml_document_delete(&doc);
		if (!j || ++n > YAML_MAX_DOCS) {
			*err = xstrdup(j ? "too many documents" : "nesting too deep");
			cJSON_Delete(j);
			ret = -EINVAL;
			break;
		}
		if (cJSON_IsNull(j))
			cJSON_Delete(j);
		else
			cJSON_AddItemToArray(all, j);
	}
	yaml_parser_delete(&p);
	if (ret) {
		cJSON_Delete(all);
		return ret;
	}
	*docs = all;
	return 0;
}

int yaml_load(const char *text, size_t len, int mode, cJSON **doc, char **err)
{
	cJSON *all;
	int r = yaml_load_all(text, len, mode, &all, err);

	if (r)
		return r;
	*doc = cJSON_DetachItemFromArray(all, 0);
	if (!*doc)
		*doc = cJSON_CreateNull();
	cJSON_Delete(all);
	return 0;
}
