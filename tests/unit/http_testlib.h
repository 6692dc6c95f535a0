/*
 * tests/unit/http_testlib.h - helpers for the HTTP/TLS unit tests.
 *
 * A test server runs on its own libuv loop in a thread (so the test can use
 * blocking sockets and http_fetch() on the main thread). Its handler
 * dispatches on the path to the small handlers of http_testlib.c:
 *   /echo     200, body "METHOD path query|body", headers X-Seen-Foo and
 *             X-Seen-Auth repeat the request's Foo and Authorization,
 *             X-Multi-Count counts its X-Multi headers, X-Remote is
 *             the peer address
 *   /peer     200, body "cn|o1,o2|verified"
 *   /stream   chunked: "chunk-N\n" every 100 ms, 5 times, recording send times
 *   /flood    chunked: writes 64 KiB chunks until a write fails
 *   /big      one 16 MiB answer
 *   /async    answers after 300 ms (or never with ?never=1), records cancel
 *   /upgrade  101 and an echo tunnel
 * State the handlers record is in `struct tsrv_stats`, read with atomics.
 */
#ifndef K1S_TESTS_HTTP_TESTLIB_H
#define K1S_TESTS_HTTP_TESTLIB_H

#include <pthread.h>
#include <stdint.h>

#include "lib/http.h"

struct tsrv_stats {
	int flood_err;			/* the failing write's return */
	size_t flood_max_queued;	/* most bytes queued during /flood */
	size_t flood_written;		/* bytes accepted by http_stream_write */
	int cancelled;			/* cancel callbacks run */
	int late_answer_rc;		/* http_respond() result of /async */
	int async_done;
	uint64_t stream_sent_ns[5];
	int tunnels_closed;
	int requests;
};

struct tsrv {
	uv_loop_t loop;
	uv_async_t stop;
	pthread_t th;
	struct http_server *srv;
	struct http_server_opts opts;
	const char *addr;		/* default "127.0.0.1:0" */
	int port;
	int listen_rc;
	volatile int ready;
	struct tsrv_stats st;
};

/* Starts s (opts already filled except handler) and waits until it listens. */
void tsrv_start(struct tsrv *s);
/* Closes the server, joins the thread, checks every handle was closed. */
void tsrv_stop(struct tsrv *s);

/* Blocking loopback client socket to port (IPv4), or -errno. */
int raw_connect(int port);
void raw_send(int fd, const char *data, size_t len);
#define raw_sends(fd, s) raw_send(fd, s, strlen(s))
/* Reads into out (appending, NUL-terminated, at most cap-1) until needle is
 * seen (NULL: until EOF), EOF, or timeout. Returns bytes held; *eof set on EOF/reset. */
size_t raw_read_until(int fd, char *out, size_t cap, const char *needle,
		      int timeout_ms, int *eof);
/* One read of whatever arrives within timeout_ms (appending). */
size_t raw_read_some(int fd, char *out, size_t cap, int timeout_ms, int *eof);
/* Waits for EOF/reset, discarding input. Returns ms waited or -1 on timeout. */
int raw_wait_closed(int fd, int timeout_ms);

/*
 * Under ASan, runs LeakSanitizer now and fails the test on a leak (the test
 * runner's children leave with _exit(), so LSan would never run otherwise).
 * A no-op in normal builds. Call it at the end of a test, after cleanup.
 */
void leak_check(void);

/* Generates ca, ca2, srv (localhost, 127.0.0.1, ::1) and cli (CN=alice,
 * O=dev, O=ops) PEM files into dir with the openssl CLI. */
void make_certs(const char *dir);
/* Path of one generated file: dir/name. Static buffer per call slot. */
const char *certp(const char *dir, const char *name);

#endif
