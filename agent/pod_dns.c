/*
 * agent/pod_dns.c - a pod's /etc/resolv.conf, as the kubelet forms it and
 * a CRI runtime writes it:
 *
 *   ClusterFirst (and ClusterFirstWithHostNet; ClusterFirst on the host
 *   network means Default): nameserver = the cluster DNS, search =
 *   <ns>.svc.<domain> svc.<domain> <domain> + the node's search domains,
 *   options ndots:5.
 *   Default: the nameservers, search domains and options of the node's
 *   resolv.conf (--resolv-conf; /etc/resolv.conf).
 *   None: nothing but dnsConfig.
 * Then spec.dnsConfig is appended: nameservers and searches without
 * duplicates, options by name (the pod's value wins). Limits as upstream:
 * 3 nameservers, 32 search domains and 2048 bytes of them; the rest is
 * dropped. Written as "search ...", "nameserver ..." lines, "options ...".
 */
#include "pod_int.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

#define DNS_MAX_SERVERS 3
#define DNS_MAX_SEARCHES 32
#define DNS_MAX_SEARCH_CHARS 2048
#define DNS_MAX_WORDS 64		/* options kept from one source */

struct dns_list {
	char *v[DNS_MAX_WORDS];
	size_t n;
};

static void list_release(struct dns_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static bool list_has(const struct dns_list *l, const char *w)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], w))
			return true;
	return false;
}

/* Appends w unless present; an option (opt) replaces one of the same name. */
static void list_add(struct dns_list *l, const char *w, size_t wlen, bool opt)
{
	size_t key = opt ? strcspn(w, ":") : 0;
	char *s = xstrndup(w, wlen);

	if (key > wlen)
		key = wlen;
	for (size_t i = 0; opt && i < l->n; i++)
		if (!strncmp(l->v[i], s, key) && (l->v[i][key] == ':' || !l->v[i][key])) {
			free(l->v[i]);
			l->v[i] = s;
			return;
		}
	if (list_has(l, s) || l->n == DNS_MAX_WORDS) {
		free(s);
		return;
	}
	l->v[l->n++] = s;
}

/* The words after "key" on lines of text that start with it. */
static void parse_lines(const char *text, const char *key, struct dns_list *l, bool opt)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *e = p + strcspn(p, "\n");

		if (strncmp(p, key, kl) || (p[kl] != ' ' && p[kl] != '\t'))
			continue;
		if (!strcmp(key, "search"))
			list_release(l);	/* the last search line wins, as in libc */
		for (const char *w = p + kl; w < e;) {
			size_t n;

			w += strspn(w, " \t");
			n = strcspn(w, " \t\n");
			if (w + n > e)
				n = (size_t)(e - w);
			if (n && *w != '#' && *w != ';')
				list_add(l, w, n, opt);
			else if (n)
				break;	/* a comment ends the line */
			w += n;
		}
	}
}

static void add_json(struct dns_list *l, const cJSON *arr)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it) && *it->valuestring)
			list_add(l, it->valuestring, strlen(it->valuestring), false);
}

static void add_options(struct dns_list *l, const cJSON *arr)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, arr) {
		const char *n = json_get_str(o, "name", ""), *v = json_get_str(o, "value", NULL);
		char *w = v ? xasprintf("%s:%s", n, v) : xstrdup(n);

		if (*n)
			list_add(l, w, strlen(w), true);
		free(w);
	}
}

static void emit(struct buf *b, const struct dns_list *srv, const struct dns_list *search,
		 const struct dns_list *opts)
{
	size_t chars = 0, n = 0;

	for (size_t i = 0; i < search->n && n < DNS_MAX_SEARCHES; i++) {
		if (chars + strlen(search->v[i]) + (n ? 1 : 0) > DNS_MAX_SEARCH_CHARS)
			break;
		buf_addf(b, "%s%s", n ? " " : "search ", search->v[i]);
		chars += strlen(search->v[i]) + (n++ ? 1 : 0);
	}
	if (n)
		buf_addf(b, "\n");
	for (size_t i = 0; i < srv->n && i < DNS_MAX_SERVERS; i++)
		buf_addf(b, "nameserver %s\n", srv->v[i]);
	for (size_t i = 0; i < opts->n; i++)
		buf_addf(b, "%s%s", i ? " " : "options ", opts->v[i]);
	if (opts->n)
		buf_addf(b, "\n");
}

char *pod__resolv_text(const struct pod *p)
{
	const cJSON *spec = json_get(p->obj, "spec"), *cfg = json_get(spec, "dnsConfig");
	const char *policy = json_get_str(spec, "dnsPolicy", "ClusterFirst"), *d = p->pm->cluster_domain;
	bool cluster = !strcmp(policy, "ClusterFirstWithHostNet") ||
		       (!strcmp(policy, "ClusterFirst") && !p->host_network);
	struct dns_list srv = { 0 }, search = { 0 }, opts = { 0 };
	char *host = NULL, *w;
	struct buf b;

	if (strcmp(policy, "None") && p->pm->resolv_conf &&
	    read_file(p->pm->resolv_conf, 1 << 16, &host, NULL) < 0)
		host = NULL;
	if (cluster) {
		list_add(&srv, p->pm->cluster_dns, strlen(p->pm->cluster_dns), false);
		w = xasprintf("%s.svc.%s svc.%s %s", p->ns, d, d, d);
		for (char *sp, *t = strtok_r(w, " ", &sp); t; t = strtok_r(NULL, " ", &sp))
			list_add(&search, t, strlen(t), false);
		free(w);
		if (host) {
			struct dns_list hs = { 0 };

			parse_lines(host, "search", &hs, false);
			for (size_t i = 0; i < hs.n; i++)
				list_add(&search, hs.v[i], strlen(hs.v[i]), false);
			list_release(&hs);
		}
		list_add(&opts, "ndots:5", 7, true);
	} else if (host) {
		parse_lines(host, "nameserver", &srv, false);
		parse_lines(host, "search", &search, false);
		parse_lines(host, "options", &opts, true);
	}
	free(host);
	add_json(&srv, json_get(cfg, "nameservers"));
	add_json(&search, json_get(cfg, "searches"));
	add_options(&opts, json_get(cfg, "options"));
	buf_init(&b, 256);
	emit(&b, &srv, &search, &opts);
	list_release(&srv);
	list_release(&search);
	list_release(&opts);
	return buf_detach(&b, NULL);
}
