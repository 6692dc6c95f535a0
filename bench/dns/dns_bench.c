/* bench/dns/dns_bench.c - a small DNS load generator over UDP (what
 * dnsperf does, without dnsperf): keeps WINDOW queries in flight for
 * SECONDS against one server, and prints one line
 *
 *   qps=N ok=N bad=N lost=N p50_us=N p99_us=N
 *
 * ok counts NOERROR answers with records, bad every other answer, lost
 * queries unanswered after 500 ms (resent as new ones).
 *
 *   dns-bench [-w WINDOW] [-d SECONDS] SERVER PORT NAME TYPE
 *
 * TYPE is A, AAAA, SRV or PTR. Never fails on a time: exit 1 only when it
 * cannot run (bad arguments, no socket, not a single answer).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LAT_US 100000	/* histogram range; slower answers land in the last bucket */
#define LOST_US 500000

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static size_t mkquery(uint8_t *b, const char *name, uint16_t type)
{
	size_t n = 12;
	const char *s = name;

	memset(b, 0, 12);
	b[2] = 0x01;	/* RD */
	b[5] = 1;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		if (l == 0 || l > 63 || n + l + 6 > 300)
			return 0;
		b[n++] = (uint8_t)l;
		memcpy(b + n, s, l);
		n += l;
		s += l + (dot ? 1 : 0);
	}
	b[n++] = 0;
	b[n++] = (uint8_t)(type >> 8);
	b[n++] = (uint8_t)type;
	b[n++] = 0;
	b[n++] = 1;
	return n;
}

static uint64_t pct(const uint32_t *hist, uint64_t total, double p)
{
	uint64_t want = (uint64_t)(total * p), seen = 0;

	for (uint64_t i = 0; i <= MAX_LAT_US; i++)
		if ((seen += hist[i]) > want)
			return i;
	return MAX_LAT_US;
}

int main(int argc, char **argv)
{
	int window = 64, secs = 3, opt;

	while ((opt = getopt(argc, argv, "w:d:")) != -1) {
		if (opt == 'w')
			window = atoi(optarg);
		else if (opt == 'd')
			secs = atoi(optarg);
		else
			return 1;
	}
	if (argc - optind != 4 || window < 1 || window > 4096 || secs < 1) {
		fprintf(stderr, "usage: dns-bench [-w WINDOW] [-d SECONDS] SERVER PORT NAME TYPE\n");
		return 1;
	}
	const char *server = argv[optind], *tname = argv[optind + 3];
	uint16_t type = !strcmp(tname, "AAAA") ? 28 : !strcmp(tname, "SRV") ? 33 :
			!strcmp(tname, "PTR") ? 12 : 1;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, server, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)atoi(argv[optind + 1]));
		sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, server, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)atoi(argv[optind + 1]));
		sl = sizeof(*a6);
	} else {
		fprintf(stderr, "dns-bench: bad address '%s'\n", server);
		return 1;
	}
	uint8_t q[320], r[4096];
	size_t ql = mkquery(q, argv[optind + 2], type);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (!ql || fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		fprintf(stderr, "dns-bench: cannot set up: %s\n", strerror(errno));
		return 1;
	}
	int rcvbuf = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

	uint64_t *sent_at = calloc(65536, sizeof(*sent_at));
	uint32_t *hist = calloc(MAX_LAT_US + 1, sizeof(*hist));
	uint64_t ok = 0, bad = 0, lost = 0, inflight = 0, t0 = now_us(), end = t0 + (uint64_t)secs * 1000000;
	uint64_t last_sweep = t0;
	uint16_t next = 0;

	for (uint64_t now = t0; now < end; now = now_us()) {
		while (inflight < (uint64_t)window) {
			while (sent_at[next])
				next++;
			q[0] = (uint8_t)(next >> 8), q[1] = (uint8_t)next;
			if (send(fd, q, ql, 0) < 0)
				break;
			sent_at[next++] = now;
			inflight++;
		}
		struct pollfd pfd = { fd, POLLIN, 0 };
		poll(&pfd, 1, 10);
		for (;;) {
			ssize_t n = recv(fd, r, sizeof(r), 0);
			if (n < 12)
				break;
			uint16_t id = (uint16_t)(r[0] << 8 | r[1]);
			if (!sent_at[id])
				continue;
			uint64_t lat = now_us() - sent_at[id];
			hist[lat > MAX_LAT_US ? MAX_LAT_US : lat]++;
			sent_at[id] = 0;
			inflight--;
			if ((r[3] & 0xf) == 0 && (r[6] | r[7]))
				ok++;
			else
				bad++;
		}
		if (now - last_sweep > 100000) {
			for (uint32_t i = 0; i < 65536; i++)
				if (sent_at[i] && now - sent_at[i] > LOST_US)
					sent_at[i] = 0, inflight--, lost++;
			last_sweep = now;
		}
	}
	double el = (double)(now_us() - t0) / 1e6;
	uint64_t total = ok + bad;
	printf("qps=%.0f ok=%llu bad=%llu lost=%llu p50_us=%llu p99_us=%llu\n",
	       (double)total / el, (unsigned long long)ok, (unsigned long long)bad,
	       (unsigned long long)lost, (unsigned long long)pct(hist, total, 0.50),
	       (unsigned long long)pct(hist, total, 0.99));
	free(sent_at);
	free(hist);
	close(fd);
	return total ? 0 : 1;
}
