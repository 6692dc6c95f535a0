/*
 * The unit-test runner: runs every TEST() (or those named on the command
 * line, or matching -k SUBSTRING), each in a child with a timeout and its own
 * temporary directory, and ends with "N passed, N failed".
 */
#include "test.h"

#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define X(n) void test_##n(void);
#include "unit_tests.h"
#undef X

struct test {
	const char *name;
	void (*fn)(void);
};

static const struct test tests[] = {
#define X(n) { #n, test_##n },
#include "unit_tests.h"
#undef X
};

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

const char *test_tmpdir(void)
{
	return getenv("K1S_TEST_TMP");
}

const char *test_k1s_binary(void)
{
	static char path[4096];
	const char *e = getenv("K1S_BIN");
	ssize_t n;
	char *slash;

	if (e && access(e, X_OK) == 0)
		return e;
	n = readlink("/proc/self/exe", path, sizeof(path) - 8);
	if (n <= 0)
		return NULL;
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (!slash)
		return NULL;
	strcpy(slash + 1, "k1s");
	return access(path, X_OK) == 0 ? path : NULL;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static int selected(const char *name, int argc, char **argv)
{
	if (argc <= 1)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-k") && i + 1 < argc) {
			if (strstr(name, argv[++i]))
				return 1;
		} else if (!strcmp(argv[i], name)) {
			return 1;
		}
	}
	return 0;
}

static int run_one(const struct test *t, int timeout)
{
	char dir[] = "/tmp/k1s-unit-XXXXXX";
	struct timespec a, b;
	int status = 0;
	pid_t pid;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 0;
	}
	setenv("K1S_TEST_TMP", dir, 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		alarm((unsigned)timeout);
		t->fn();
		fflush(NULL);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("ok   %s (%ld ms)\n", t->name, ms);
		return 1;
	}
	if (WIFSIGNALED(status))
		printf("FAIL %s: %s%s\n", t->name, strsignal(WTERMSIG(status)),
		       WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
	else
		printf("FAIL %s\n", t->name);
	return 0;
}

int main(int argc, char **argv)
{
	const char *to = getenv("TEST_TIMEOUT");
	int timeout = to ? atoi(to) : 120, passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (!selected(tests[i].name, argc, argv))
			continue;
		if (run_one(&tests[i], timeout))
			passed++;
		else
			failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
