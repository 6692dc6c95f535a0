/*
 * Fuzz target for lib/selector (label and field selector parsers, label
 * selector objects) and lib/quantity.
 *
 * The first byte picks the parser; the rest is its input. A label selector
 * that parses must print canonically and re-parse to the same text; a
 * field selector must re-parse to as many terms; a quantity must re-parse
 * from its canonical text to the same value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/quantity.h"
#include "lib/selector.h"
#include "lib/util.h"

static const char *get(void *ctx, const char *field)
{
	return strlen(field) % 2 ? field : NULL;
}

static void label_roundtrip(const char *s)
{
	struct sel_label a, b;
	char *err = NULL, *t1, *t2;
	cJSON *labels = cJSON_Parse("{\"a\":\"1\",\"b\":\"x\",\"c\":\"\"}");

	if (sel_label_parse(s, &a, &err)) {
		if (!err)
			BUG("label parse failed without message");
		free(err);
		cJSON_Delete(labels);
		return;
	}
	(void)sel_label_matches(&a, labels);
	t1 = sel_label_string(&a);
	if (sel_label_parse(t1, &b, &err))
		BUG("canonical label selector '%s' (from '%s') does not parse: %s", t1, s, err);
	t2 = sel_label_string(&b);
	if (strcmp(t1, t2))
		BUG("label selector text not stable: '%s' vs '%s'", t1, t2);
	free(t1);
	free(t2);
	sel_label_release(&a);
	sel_label_release(&b);
	cJSON_Delete(labels);
}

static void field_roundtrip(const char *s)
{
	struct sel_field a, b;
	char *err = NULL, *t1, *t2;

	if (sel_field_parse(s, &a, &err)) {
		free(err);
		return;
	}
	(void)sel_field_matches(&a, get, NULL);
	t1 = sel_field_string(&a);
	if (sel_field_parse(t1, &b, &err))
		BUG("canonical field selector '%s' does not parse: %s", t1, err);
	/* terms are sorted by their text as written (upstream), so "a==x"
	 * may move once printed as "a=x": compare the terms, not the text */
	t2 = sel_field_string(&b);
	if (a.nterms != b.nterms)
		BUG("field selector '%s' lost terms through '%s'", s, t1);
	free(t1);
	free(t2);
	sel_field_release(&a);
	sel_field_release(&b);
}

static void label_json(const char *s)
{
	cJSON *v = cJSON_Parse(s);
	struct sel_label sel;
	char *err = NULL;

	if (!sel_label_from_json(v, &sel, &err)) {
		free(sel_label_string(&sel));
		sel_label_release(&sel);
	}
	free(err);
	cJSON_Delete(v);
}

static void quantity(const char *s)
{
	struct quantity q, r;
	const char *err;
	char out[QUANTITY_STR_MAX];

	if (quantity_parse(s, &q, &err))
		return;
	quantity_format(&q, out, sizeof(out));
	if (quantity_parse(out, &r, &err))
		BUG("canonical quantity '%s' (from '%s') does not parse", out, s);
	if (quantity_cmp(&q, &r))
		BUG("quantity '%s' changed value through '%s'", s, out);
	(void)quantity_add(&r, &q);
	(void)quantity_value(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1 || size > 4096)
		return 0;
	s = xstrndup((const char *)data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		label_roundtrip(s);
		break;
	case 1:
		field_roundtrip(s);
		break;
	case 2:
		label_json(s);
		break;
	default:
		quantity(s);
		break;
	}
	free(s);
	return 0;
}
