/*
 * bench/store - the datastore benchmark (see bench.h).
 *
 * Usage: bench-store [TMPDIR]
 * Works in a fresh directory under TMPDIR (default $TMPDIR or /tmp), removed
 * at exit with everything in it, and etcd killed, whatever happens.
 */
#include "bench.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"

static char workdir[4096];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static void cleanup(void)
{
	bench_etcd_kill();
	if (workdir[0])
		nftw(workdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	workdir[0] = 0;
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_quantile(double *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

double bench_median(double *v, size_t n)
{
	return bench_quantile(v, n, 0.5);
}

void bench_fill(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		buf[i] = (char)('a' + (seed >> 16) % 26);
	}
}

static char *sub(const char *name)
{
	char *p = xasprintf("%s/%s", workdir, name);

	if (mkdir_p(p, 0700))
		BUG("cannot create '%s'", p);
	return p;
}

static void fig(char *buf, size_t n, double v, int decimals, bool have)
{
	if (have)
		snprintf(buf, n, "%.*f", decimals, v);
	else
		snprintf(buf, n, "n/a");
}

static void row(const char *what, double k, int decimals, double ref,
		bool have_ref, const char *target)
{
	char a[32], b[32];

	fig(a, sizeof(a), k, decimals, true);
	fig(b, sizeof(b), ref, decimals, have_ref);
	printf("  %-34s %12s %14s   %s\n", what, a, b, target);
}

static const char *verdict(bool met)
{
	return met ? "met" : "NOT met";
}

static void report(const struct bench_results *k, const struct bench_results *e,
		   const char *ev, double raw)
{
	char t[128], name[64];
	bool he = e->ok;

	printf("\nk1s store vs etcd %s (durable puts of %d B values; k1s in-process,"
	       " etcd over HTTP/1.1 keep-alive to its v3 JSON gateway on loopback)\n",
	       ev, BENCH_VALUE);
	printf("  %-34s %12s %14s   %s\n", "", "k1s", "etcd", "target");
	for (int i = 0; i < BENCH_NWRITERS; i++) {
		snprintf(name, sizeof(name), "durable puts/s, %d writer%s",
			 bench_writers[i], bench_writers[i] > 1 ? "s" : "");
		t[0] = 0;
		if (bench_writers[i] == 64)
			snprintf(t, sizeof(t), "k1s >= etcd: %s", he ?
				 verdict(k->put_rate[i] >= e->put_rate[i]) : "n/a");
		row(name, k->put_rate[i], 0, e->put_rate[i], he, t);
	}
	snprintf(name, sizeof(name), "gets/s (etcd: %d conns)", e->get_conc);
	row(name, k->get_rate, 0, e->get_rate, he, "");
	snprintf(t, sizeof(t), "< 20 ms: %s", verdict(k->list_ms < 20));
	snprintf(name, sizeof(name), "list %d keys of %d B, ms", BENCH_LIST_KEYS,
		 BENCH_LIST_VALUE);
	row(name, k->list_ms, 2, e->list_ms, he, t);
	row("  same, store_list_visit (no copy)", k->list_visit_ms, 2, 0, false, "");
	row("watch p50, 100 watchers, ms", k->watch_p50[0], 3, 0, false, "");
	row("watch p99, 100 watchers, ms", k->watch_p99[0], 3, 0, false, "");
	row("watch p50, 1000 watchers, ms", k->watch_p50[1], 3, 0, false, "");
	snprintf(t, sizeof(t), "< 5 ms: %s", verdict(k->watch_p99[1] < 5));
	row("watch p99, 1000 watchers, ms", k->watch_p99[1], 3, 0, false, t);
	row("  (p99 from submit, 1000 w.), ms", k->watch_e2e_p99[1], 3, 0,
	    false, "");
	printf("  %-34s %12s %14.0f   %s\n", "raw SQLite insert+fsync/s", "",
	       raw, "(floor: one fsync per write)");
	printf("  watch latency: from the write's commit callback to the "
	       "watcher's callback (and from submit, incl. the fsync).\n");
}

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : getenv("TMPDIR");
	struct bench_results k = { 0 }, e = { 0 };
	char ev[64] = "3.4";
	double raw = 0;
	char *dir;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(workdir, sizeof(workdir), "%s/k1s-bench-store-XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(workdir)) {
		perror("mkdtemp");
		return 1;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGABRT, on_signal);
	signal(SIGPIPE, SIG_IGN);

	printf("bench/store: k1s store ...\n");
	dir = sub("k1s");
	ret = bench_k1s(dir, &k);
	free(dir);
	if (ret) {
		fprintf(stderr, "bench-store: k1s store phase failed: %s\n",
			strerror(-ret));
		return 1;
	}
	printf("bench/store: raw SQLite ...\n");
	dir = sub("raw");
	if ((ret = bench_sqlite_raw(dir, &raw)))
		fprintf(stderr, "bench-store: raw SQLite phase failed: %s\n",
			strerror(-ret));
	free(dir);
	printf("bench/store: etcd ...\n");
	dir = sub("etcd");
	if ((ret = bench_etcd(dir, &e, ev, sizeof(ev)))) {
		fprintf(stderr, "bench-store: etcd phase failed (%s); its figures"
			" are shown as n/a\n", strerror(-ret));
		e.ok = 0;
	}
	bench_etcd_kill();
	free(dir);
	report(&k, &e, ev, raw);
	return 0;
}
