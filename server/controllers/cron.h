/*
 * server/controllers/cron.h - CronJob schedules: the standard 5-field cron
 * syntax (minute hour day-of-month month day-of-week; "*", "a", "a-b",
 * "a-b/n", "*\/n", lists, month and weekday names, 7 = Sunday, "?" as "*")
 * and the @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly
 * shorthands. When both day fields are restricted a day matching either
 * matches (as cron and upstream's parser do).
 */
#ifndef K1S_SERVER_CONTROLLERS_CRON_H
#define K1S_SERVER_CONTROLLERS_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct cron {
	uint64_t minute;	/* bit per allowed value */
	uint32_t hour, dom, month;	/* dom 1..31, month 1..12 */
	uint8_t dow;		/* 0..6, Sunday 0 */
	bool dom_star, dow_star;
};

/* Parses spec; 0, or -EINVAL with *err a static message. */
int cron_parse(const char *spec, struct cron *c, const char **err);
/* The first scheduled time strictly after t (seconds since the epoch), in
 * UTC when utc, else local time; -1 when there is none within 5 years. */
int64_t cron_next(const struct cron *c, int64_t t, bool utc);

#endif
