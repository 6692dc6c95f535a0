#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int verbosity;
static FILE *out;

void log_set_verbosity(int v)
{
	verbosity = v;
}

int log_verbosity(void)
{
	return verbosity;
}

void log_set_file(FILE *f)
{
	out = f;
}

void log_write(enum log_level lvl, const char *file, int line,
	       const char *fmt, ...)
{
	static const char letter[] = { 'I', 'W', 'E', 'F' };
	FILE *f = out ? out : stderr;
	const char *base = strrchr(file, '/');
	struct timeval tv;
	struct tm tm;
	char head[96];
	va_list ap;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(head, sizeof(head), "%c%02d%02d %02d:%02d:%02d.%06ld %7d %s:%d] ",
		 letter[lvl], tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, (long)tv.tv_usec, (int)getpid(),
		 base ? base + 1 : file, line);
	flockfile(f);
	fputs(head, f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	funlockfile(f);
	fflush(f);
}
