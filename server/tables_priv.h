/*
 * server/tables_priv.h - internals shared by the printer files.
 *
 * tables.c holds the framework (lookup, Table building) and the cell helpers
 * declared here; the printers live in tables_core.c (core/v1), tables_apps.c
 * (apps, batch, autoscaling, policy) and tables_cluster.c (networking, RBAC,
 * storage, scheduling, ...). Each printer file exports one array of struct
 * table_printer and its length; tables.c searches them in turn.
 *
 * To add a printer: write its cell functions and column array in the file of
 * its API group, add a PRINTER() row to that file's array, and a table-driven
 * case to tests/unit/tables_test.c. Cell functions follow upstream
 * pkg/printers/internalversion/printers.go as served by kube-apiserver, which
 * always prints "wide" (priority-1 cells are always filled in).
 *
 * Every helper returns a new cJSON item (the caller owns it) or writes into
 * a struct buf it is given; none can fail (allocation aborts).
 */
#ifndef K1S_SERVER_TABLES_PRIV_H
#define K1S_SERVER_TABLES_PRIV_H

#include "tables.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/util.h"

#include <stdbool.h>

/* ---- strings and cells ---- */

/* s, or fallback when s is NULL or empty. */
cJSON *table__str(const char *s, const char *fallback);
/* The string at dotted path, or NULL when absent or not a string. */
const char *table__gets(const cJSON *o, const char *path);
/* Cell of the string at path, fallback when absent/empty. */
cJSON *table__path_str(const cJSON *o, const char *path, const char *fallback);
/* Integer cell of the number at path, 0 when absent. */
cJSON *table__path_int(const cJSON *o, const char *path);
/* Number of items of the array/object at path (0 when absent). */
int table__count(const cJSON *o, const char *path);
/* Sorts items[0..n) by strcmp. */
void table__sort_strs(const char **items, size_t n);
/* Sorts items[0..n), drops duplicates, appends them to b joined by sep. */
void table__join_sorted(struct buf *b, const char *sep, const char **items, size_t n);
/* Cell of b's contents (fallback when empty); releases b. */
cJSON *table__buf_cell(struct buf *b, const char *fallback);
/* Appends s to b, preceded by sep unless b is empty. */
void table__join(struct buf *b, const char *sep, const char *s);

/* ---- times ---- */

/* "5m" since the RFC 3339 time v (a string item), "<unknown>" when absent. */
cJSON *table__since(const cJSON *v, int64_t now);
/* Same for the time at path. */
cJSON *table__age(const cJSON *o, const char *path, int64_t now);
/* Parses the time at path into *ns; false when absent or malformed. */
bool table__time(const cJSON *o, const char *path, int64_t *ns);

/* ---- Kubernetes formats ---- */

/* resource.Quantity as a string: the string itself, or a JSON number
 * printed like Go would ("100", "0.5"); NULL when absent. out >= 32. */
const char *table__qty(const cJSON *v, char *out, size_t len);
/* labels.FormatLabels: "a=b,c=d" sorted by key (nothing when empty: the
 * caller's table__buf_cell fallback gives upstream's "<none>"). */
void table__fmt_labels(struct buf *b, const cJSON *map);
/* LabelSelector as labels.Selector.String(): sorted requirements
 * ("app=web,tier in (a,b),!gone"); empty for nil/empty selectors. */
void table__fmt_selector(struct buf *b, const cJSON *sel);
/* metav1.FormatLabelSelector: the same, "<none>" when empty. */
cJSON *table__selector_cell(const cJSON *o, const char *path);
/* layoutContainerCells: names (field "name") or images (field "image")
 * of the container array at path, joined by ",". */
cJSON *table__containers(const cJSON *o, const char *path, const char *field);
/* The value of annotation key, or NULL. */
const char *table__annotation(const cJSON *o, const char *key);
/* First condition of type in the conditions array at path is "True". */
bool table__cond_true(const cJSON *o, const char *path, const char *type);

/* ---- columns ---- */

#define TABLE__NAME_DESC "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated."
#define TABLE__AGE_DESC "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC."

cJSON *table__c_name(const cJSON *o, int64_t now);
cJSON *table__c_age(const cJSON *o, int64_t now);

#define COL_NAME { "Name", "string", "name", TABLE__NAME_DESC, 0, table__c_name }
#define COL_AGE { "Age", "string", "", TABLE__AGE_DESC, 0, table__c_age }
#define COL_CONTAINERS(fn) { "Containers", "string", "", "Names of each container in the template.", 1, fn }
#define COL_IMAGES(fn) { "Images", "string", "", "Images referenced by each container in the template.", 1, fn }
#define COL_SELECTOR(fn) { "Selector", "string", "", "A label query over pods that should match the replica count.", 1, fn }

#define PRINTER(g, r, cols) { g, r, cols, ARRAY_SIZE(cols), NULL, NULL }
#define PRINTER_ROWCOND(g, r, cols, fn) { g, r, cols, ARRAY_SIZE(cols), fn, NULL }

/* ---- the printer arrays ---- */

extern const struct table_printer table__core_printers[];
extern const size_t table__core_nprinters;
extern const struct table_printer table__apps_printers[];
extern const size_t table__apps_nprinters;
extern const struct table_printer table__cluster_printers[];
extern const size_t table__cluster_nprinters;

#endif
