/*
 * lib/selector_validate.c - label key and value validation with upstream's
 * messages (k8s.io/apimachinery/pkg/api/validate/content): the regular
 * expressions of upstream are matched by hand here.
 */
#include "selector.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

/* ---- validation (upstream content.IsLabelKey / IsLabelValue) ---- */

#define LABEL_KEY_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define LABEL_KEY_ERR "must consist of alphanumeric characters, '-', '_' or '.', " \
	"and must start and end with an alphanumeric character"
#define LABEL_KEY_REGEX_ERR LABEL_KEY_ERR " (e.g. 'MyName',  or 'my.name',  or '123-abc', " \
	"regex used for validation is '" LABEL_KEY_FMT "')"
#define LABEL_VALUE_FMT "(" LABEL_KEY_FMT ")?"
#define DNS1123_LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_SUBDOMAIN_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define DNS1123_SUBDOMAIN_ERR "a lowercase RFC 1123 subdomain must consist of lower case " \
	"alphanumeric characters, '-' or '.', and must start and end with an alphanumeric " \
	"character (e.g. 'example.com', regex used for validation is '" DNS1123_SUBDOMAIN_FMT "')"

static const char msg_name_empty[] = "name part must be non-empty";
static const char msg_name_long[] = "name part must be no more than 63 bytes";
static const char msg_name_regex[] = "name part " LABEL_KEY_REGEX_ERR;
static const char msg_prefix_empty[] = "prefix part must be non-empty";
static const char msg_prefix_long[] = "prefix part must be no more than 253 bytes";
static const char msg_prefix_regex[] = "prefix part " DNS1123_SUBDOMAIN_ERR;
static const char msg_too_many_slashes[] = "a valid label key " LABEL_KEY_REGEX_ERR
	" with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
static const char msg_value_long[] = "must be no more than 63 bytes";
static const char msg_value_regex[] = "a valid label must be an empty string or consist of "
	"alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
	"character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '"
	LABEL_VALUE_FMT "')";
static const char msg_dns_long[] = "must be no more than 253 bytes";
static const char msg_dns_regex[] = DNS1123_SUBDOMAIN_ERR;

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..n) */
static bool match_key_name(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++) {
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	}
	return true;
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool match_dns1123_subdomain(const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!is_lower_alnum(s[i]) && s[i] != '-')
				return false;
			continue;
		}
		if (i == start || !is_lower_alnum(s[start]) || !is_lower_alnum(s[i - 1]))
			return false;
		start = i + 1;
	}
	return true;
}

static void add_msg(const char **msgs, size_t max, size_t *n, const char *m)
{
	if (*n < max)
		msgs[*n] = m;
	(*n)++;
}

size_t sel_validate_dns1123_subdomain(const char *s, const char **msgs, size_t max)
{
	size_t n = 0, len = strlen(s);

	if (len > SEL_DNS1123_SUBDOMAIN_MAX)
		add_msg(msgs, max, &n, msg_dns_long);
	if (!match_dns1123_subdomain(s, len))
		add_msg(msgs, max, &n, msg_dns_regex);
	return n;
}

size_t sel_validate_label_key(const char *key, const char **msgs, size_t max)
{
	const char *slash = strchr(key, '/');
	const char *name = key;
	size_t n = 0, len;

	if (slash && strchr(slash + 1, '/')) {
		add_msg(msgs, max, &n, msg_too_many_slashes);
		return n;
	}
	if (slash) {
		size_t plen = (size_t)(slash - key);

		if (plen == 0) {
			add_msg(msgs, max, &n, msg_prefix_empty);
		} else {
			if (plen > SEL_DNS1123_SUBDOMAIN_MAX)
				add_msg(msgs, max, &n, msg_prefix_long);
			if (!match_dns1123_subdomain(key, plen))
				add_msg(msgs, max, &n, msg_prefix_regex);
		}
		name = slash + 1;
	}
	len = strlen(name);
	if (len == 0)
		add_msg(msgs, max, &n, msg_name_empty);
	else if (len > SEL_LABEL_NAME_MAX)
		add_msg(msgs, max, &n, msg_name_long);
	if (!match_key_name(name, len))
		add_msg(msgs, max, &n, msg_name_regex);
	return n;
}

size_t sel_validate_label_value(const char *value, const char **msgs, size_t max)
{
	size_t n = 0, len = strlen(value);

	if (len > SEL_LABEL_VALUE_MAX)
		add_msg(msgs, max, &n, msg_value_long);
	if (len && !match_key_name(value, len))
		add_msg(msgs, max, &n, msg_value_regex);
	return n;
}

