/*
 * lib/yaml.h - YAML documents as cJSON trees, with libyaml doing the parsing.
 *
 * Mappings become objects (non-scalar keys are skipped, a repeated key keeps
 * the last value), sequences arrays. Scalars become strings, or - with
 * YAML_TYPED - what a plain (unquoted) scalar means in YAML 1.1 as
 * Kubernetes' YAML decoder reads it: true/false/yes/no/on/off booleans,
 * null/~/empty null, decimal/hex/octal integers and floats numbers; quoted
 * and block scalars stay strings. Aliases resolve (libyaml's document API);
 * nesting deeper than YAML_MAX_DEPTH is an error.
 */
#ifndef K1S_LIB_YAML_H
#define K1S_LIB_YAML_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define YAML_MAX_DEPTH 64
#define YAML_MAX_DOCS 1024	/* documents in one stream */

enum { YAML_STRINGS = 0, YAML_TYPED = 1 };

/*
 * Every document of the stream, in order, as a cJSON array in *docs (empty
 * documents are skipped). 0, or -EINVAL with a malloc'd one-line *err
 * ("line 3: did not find expected key").
 */
int yaml_load_all(const char *text, size_t len, int mode, cJSON **docs, char **err);
/* The first document only (NULL document: cJSON null). Same errors. */
int yaml_load(const char *text, size_t len, int mode, cJSON **doc, char **err);

#endif
