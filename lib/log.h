/*
 * lib/log.h - klog-shaped logging.
 *
 * Every line looks like kube components' logs:
 *   Lmmdd hh:mm:ss.uuuuuu threadid file:line] message
 * where L is I, W, E or F. LOG_V(n, ...) prints only when the verbosity set
 * with log_set_verbosity() (the -v flag) is at least n. log_fatal() exits 1.
 * Output goes to stderr unless log_set_file() names another stream.
 */
#ifndef K1S_LIB_LOG_H
#define K1S_LIB_LOG_H

#include <stdio.h>
#include "util.h"

enum log_level { LOG_INFO, LOG_WARNING, LOG_ERROR, LOG_FATAL };

void log_set_verbosity(int v);
int log_verbosity(void);
void log_set_file(FILE *f);
void log_write(enum log_level lvl, const char *file, int line,
	       const char *fmt, ...) K1S_PRINTF(4, 5);

#define log_info(...) log_write(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARNING, __FILE__, __LINE__, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_fatal(...) do { \
	log_write(LOG_FATAL, __FILE__, __LINE__, __VA_ARGS__); exit(1); \
} while (0)
#define LOG_V(n, ...) do { \
	if (log_verbosity() >= (n)) \
		log_write(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__); \
} while (0)

#endif
