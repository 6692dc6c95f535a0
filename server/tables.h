/*
 * server/tables.h - meta.k8s.io/v1 Table output (what `kubectl get` prints).
 *
 * Each built-in resource has a row in a table of printers (tables_core.c,
 * tables_apps.c, tables_cluster.c; framework in tables.c, internals in
 * tables_priv.h): its columns (name, type, format, priority — priority 1
 * columns appear with -o wide) and a cell function per column, following
 * kube-apiserver's printers (pkg/printers/internalversion). As upstream, the
 * server always fills every column; kubectl hides priority-1 ones unless -o
 * wide. Resources without a printer get the default table (Name, Created At),
 * as kube-apiserver does for limitranges, roles, clusterroles, CRDs...
 * CRDs add their additionalPrinterColumns at run time through the same struct.
 *
 * Cell functions accept an object in any served version of its resource
 * (core/v1 or events.k8s.io/v1 events, autoscaling/v1 or v2 HPAs).
 */
#ifndef K1S_SERVER_TABLES_H
#define K1S_SERVER_TABLES_H

#include <cjson/cJSON.h>
#include <stdint.h>

enum table_include { TABLE_INCLUDE_NONE, TABLE_INCLUDE_METADATA, TABLE_INCLUDE_OBJECT };

struct table_col {
	const char *name;	/* "Name", "Ready", ... (kubectl upper-cases) */
	const char *type;	/* string, integer, number, boolean, date */
	const char *format;	/* "name" for the name column, else "" */
	const char *description;
	int priority;		/* 0 always shown, 1 with -o wide */
	/* Returns the cell for obj (a new cJSON item); now is ns since the epoch. */
	cJSON *(*cell)(const cJSON *obj, int64_t now);
};

struct table_printer {
	const char *group;
	const char *resource;
	const struct table_col *cols;
	size_t ncols;
	/* Optional: the row's "conditions" (a new array, e.g. Completed for
	 * finished pods) or NULL for none. NULL pointer: no conditions. */
	cJSON *(*row_conditions)(const cJSON *obj);
	/* Optional, for printers built at run time (CRD printer columns):
	 * the cell of column col, used for columns whose `cell` is NULL. */
	cJSON *(*cell_at)(const struct table_printer *p, size_t col, const cJSON *obj,
			  int64_t now);
};

/* The printer of a built-in resource, or the default printer. Never NULL. */
const struct table_printer *table_printer_find(const char *group, const char *resource);

/*
 * Builds a Table of objs[0..n). The objects are not consumed. list_meta
 * (resourceVersion/continue/remainingItemCount) is copied when non-NULL.
 */
cJSON *table_build(const struct table_printer *p, const cJSON *const *objs, size_t n,
		   enum table_include include, const cJSON *list_meta, int64_t now);

/* kube's HumanDuration: "5s", "3m20s", "7h", "12d", "2y3d". */
void table_human_duration(int64_t ns, char *out, size_t len);

#endif
