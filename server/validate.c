#include "validate.h"
#include "lib/buf.h"
#include "lib/json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS1123_LABEL_MAX 63
#define DNS1123_SUBDOMAIN_MAX 253

static const char msg_label[] =
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
	"or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  "
	"or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
static const char msg_subdomain[] =
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
	"'-' or '.', and must start and end with an alphanumeric character (e.g. "
	"'example.com', regex used for validation is "
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
static const char msg_1035[] =
	"a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
	"start with an alphabetic character, and end with an alphanumeric character "
	"(e.g. 'my-name',  or 'abc-123', regex used for validation is "
	"'[a-z]([-a-z0-9]*[a-z0-9])?')";

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool label_ok(const char *s, size_t n)
{
	if (n == 0 || n > DNS1123_LABEL_MAX)
		return false;
	if (!lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool is_dns1123_label(const char *s)
{
	return label_ok(s, strlen(s));
}

bool is_dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DNS1123_SUBDOMAIN_MAX)
		return false;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		/* labels inside a subdomain may be up to 253 in total, not 63 each */
		if (l == 0 || !lower_alnum(s[0]) || !lower_alnum(s[l - 1]))
			return false;
		for (size_t i = 0; i < l; i++)
			if (!lower_alnum(s[i]) && s[i] != '-')
				return false;
		if (!dot)
			break;
		s = dot + 1;
		if (!*s)
			return false;
	}
	return true;
}

static const char *check_len(const char *s, size_t max)
{
	static char msg[64];

	if (strlen(s) > max) {
		snprintf(msg, sizeof(msg), "must be no more than %zu characters", max);
		return msg;
	}
	return NULL;
}

const char *validate_name(enum name_rule rule, const char *s)
{
	const char *m;

	switch (rule) {
	case NAME_DNS1123_SUBDOMAIN:
		if ((m = check_len(s, DNS1123_SUBDOMAIN_MAX)))
			return m;
		return is_dns1123_subdomain(s) ? NULL : msg_subdomain;
	case NAME_DNS1123_LABEL:
		if ((m = check_len(s, DNS1123_LABEL_MAX)))
			return m;
		return is_dns1123_label(s) ? NULL : msg_label;
	case NAME_DNS1035_LABEL:
		if ((m = check_len(s, DNS1123_LABEL_MAX)))
			return m;
		return is_dns1123_label(s) && isalpha((unsigned char)s[0]) ? NULL : msg_1035;
	case NAME_PATH_SEGMENT:
		if (!strcmp(s, ".") || !strcmp(s, ".."))
			return "may not be '.' or '..'";
		if (strchr(s, '/'))
			return "may not contain '/'";
		if (strchr(s, '%'))
			return "may not contain '%'";
		return NULL;
	}
	BUG("name rule %d", rule);
}

void field_invalid(struct api_error *e, const char *field, const cJSON *value,
		   const char *detail)
{
	struct buf b = BUF_INIT;

	if (cJSON_IsString(value))
		buf_add_json_str(&b, value->valuestring, strlen(value->valuestring));
	else if (value)
		json_print_buf(value, &b);
	else
		buf_addstr(&b, "null");
	api_error_add_cause(e, "FieldValueInvalid", field, "Invalid value: %s: %s",
			    buf_str(&b), detail);
	buf_release(&b);
}

void field_required(struct api_error *e, const char *field, const char *detail)
{
	if (detail && *detail)
		api_error_add_cause(e, "FieldValueRequired", field, "Required value: %s", detail);
	else
		api_error_add_cause(e, "FieldValueRequired", field, "Required value");
}

void field_forbidden(struct api_error *e, const char *field, const char *detail)
{
	api_error_add_cause(e, "FieldValueForbidden", field, "Forbidden: %s", detail);
}

void field_too_long(struct api_error *e, const char *field, size_t max)
{
	api_error_add_cause(e, "FieldValueTooLong", field,
			    "Too long: may not be more than %zu bytes", max);
}

void field_not_supported(struct api_error *e, const char *field, const char *value,
			 const char *const *supported)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; supported[i]; i++)
		buf_addf(&b, "%s\"%s\"", i ? ", " : "", supported[i]);
	api_error_add_cause(e, "FieldValueNotSupported", field,
			    "Unsupported value: \"%s\": supported values: %s", value, buf_str(&b));
	buf_release(&b);
}
