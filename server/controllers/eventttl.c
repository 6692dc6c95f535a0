/*
 * server/controllers/eventttl.c - Events expire (kube-apiserver's
 * --event-ttl, default 1h): a sweep every min(60 s, ttl / 2) deletes the
 * core/v1 Events whose last sighting (lastTimestamp, else eventTime, else
 * creationTimestamp) is older than the TTL. Upstream gives each Event an
 * etcd lease; the store here has no leases, so a timer sweeps, reading the
 * events in pages of EVENTTTL_PAGE (they are not in the controllers' cache).
 */
#include "ctrl_priv.h"
#include "../apiserver.h"
#include "../storage.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

#define EVENTTTL_PAGE 500
#define EVENTTTL_MAX_SWEEP_MS 60000

static struct {
	struct ctrl_manager *m;
	uv_timer_t timer;
	int64_t ttl_ms;
	uint64_t expired;
	bool on;
} E;

static int64_t last_seen(const cJSON *ev)
{
	static const char *const keys[] = { "lastTimestamp", "eventTime" };
	int64_t ns;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!rfc3339_parse(json_get_str(ev, keys[i], ""), &ns))
			return ns;
	return rfc3339_parse(json_get_str(json_get(ev, "metadata"), "creationTimestamp", ""), &ns) ? 0 : ns;
}

static void deleted(int code, const cJSON *obj, void *ud)
{
	(void)obj;
	(void)ud;
	if (code < 300)
		E.expired++;
}

static void sweep(uv_timer_t *t)
{
	const struct api_resource *r = registry_find("", "v1", "events");
	char *prefix, *after = xstrdup("");
	int64_t cutoff = (int64_t)wall_ns() - E.ttl_ms * 1000000LL;
	struct slist l;
	bool more;

	(void)t;
	if (!r)
		return;
	prefix = api_key(r, "", "");
	do {
		memset(&l, 0, sizeof(l));
		if (storage_list(E.m->srv, prefix, 0, after, EVENTTTL_PAGE, &l))
			break;
		for (size_t i = 0; i < l.n; i++) {
			cJSON *ev = api_decode(l.items[i].value, l.items[i].len, l.items[i].mod_rev);
			const cJSON *m = json_get(ev, "metadata");

			if (ev && last_seen(ev) < cutoff)
				api_internal_delete(E.m->srv, "", "events", json_get_str(m, "namespace", ""),
						    json_get_str(m, "name", ""), NULL, deleted, NULL);
			cJSON_Delete(ev);
		}
		free(after);
		after = xstrdup(l.n ? l.items[l.n - 1].key : "");
		more = l.more;
		slist_release(&l);
	} while (more && *after);
	free(after);
	free(prefix);
}

void eventttl__start(struct ctrl_manager *m)
{
	const struct server_config *cfg = m->srv->cfg;
	int64_t ms = 3600 * 1000, every;

	if (cfg && cfg->event_ttl && duration_parse_ms(cfg->event_ttl, &ms))
		ms = 3600 * 1000;
	E.m = m;
	E.ttl_ms = ms > 0 ? ms : 3600 * 1000;
	every = E.ttl_ms / 2 < EVENTTTL_MAX_SWEEP_MS ? E.ttl_ms / 2 : EVENTTTL_MAX_SWEEP_MS;
	if (every < 100)
		every = 100;
	uv_timer_init(m->srv->loop, &E.timer);
	uv_timer_start(&E.timer, sweep, (uint64_t)every, (uint64_t)every);
	uv_unref((uv_handle_t *)&E.timer);
	E.on = true;
}

void eventttl__stop(void)
{
	if (!E.on)
		return;
	uv_timer_stop(&E.timer);
	uv_close((uv_handle_t *)&E.timer, NULL);
	E.on = false;
}
