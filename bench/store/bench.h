/*
 * bench/store/bench.h - pieces shared by the store benchmark's files.
 *
 * The benchmark measures the k1s store in-process, etcd over its v3 JSON
 * gateway with a libuv HTTP/1.1 keep-alive load generator, and raw SQLite
 * fsynced inserts, and prints each figure beside its reference. It never
 * fails on a time; it exits non-zero only when it could not measure.
 */
#ifndef K1S_BENCH_STORE_H
#define K1S_BENCH_STORE_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_PHASE_MS 1500		/* length of a throughput phase */
#define BENCH_VALUE 256			/* bytes per put */
#define BENCH_LIST_KEYS 10000
#define BENCH_LIST_VALUE 1024		/* bytes per listed object */
#define BENCH_LIST_RUNS 7

static const int bench_writers[] = { 1, 8, 64 };
#define BENCH_NWRITERS 3

struct bench_results {
	double put_rate[BENCH_NWRITERS];	/* ops/s */
	double get_rate;			/* ops/s */
	double list_ms;				/* median, ms */
	double list_visit_ms;			/* k1s without copies */
	double watch_p50[2], watch_p99[2];	/* ms, 100 and 1000 watchers */
	double watch_e2e_p99[2];		/* ms, from submit */
	int get_conc;				/* etcd: connections for ranges */
	int ok;					/* measured */
};

/* Median of n values (sorts v). */
double bench_median(double *v, size_t n);
/* The q-quantile (0..1) of n values (sorts v). */
double bench_quantile(double *v, size_t n, double q);
/* A value of len bytes, deterministic. */
void bench_fill(char *buf, size_t len, unsigned seed);

/* Each returns 0 or -errno; figures go into *r. dir is a fresh directory. */
int bench_k1s(const char *dir, struct bench_results *r);
int bench_etcd(const char *dir, struct bench_results *r, char *version,
	       size_t vlen);
int bench_sqlite_raw(const char *dir, double *rate);

/* Kills etcd if it runs (from exit paths and signal handlers). */
void bench_etcd_kill(void);

#endif
