/*
 * server/kubeconfig.c - renders and writes the admin kubeconfig.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>

#include "lib/buf.h"
#include "lib/util.h"
#include "lib/kubeconfig.h"

/* base64 of data[0..len) in a malloc'd string; the caller wipes it if secret. */
static char *b64(const void *data, size_t len, size_t *olen)
{
	size_t cap = 4 * ((len + 2) / 3) + 1;
	char *out = xmalloc(cap);

	if (mbedtls_base64_encode((unsigned char *)out, cap, olen, data, len))
		BUG("base64 buffer too small");
	return out;
}

/* The server URL goes into YAML unquoted: allow only URL characters. */
static bool server_ok(const char *s)
{
	if (!str_has_prefix(s, "https://") && !str_has_prefix(s, "http://"))
		return false;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-._~:/?#[]@!$&'()*+,;=%", *s))
			return false;
	return true;
}

int kubeconfig_render(const char *server, const mbedtls_x509_crt *ca,
		      const mbedtls_x509_crt *client, mbedtls_pk_context *client_key,
		      char **out, size_t *len)
{
	char *ca_pem = NULL, *crt_pem = NULL, *key_pem = NULL;
	char *ca_b64 = NULL, *crt_b64 = NULL, *key_b64 = NULL;
	size_t ca_len = 0, crt_len = 0, key_len = 0, kb_len = 0, n;
	struct buf b = BUF_INIT;
	int ret;

	if (!server)
		server = KUBECONFIG_DEFAULT_SERVER;
	if (!server_ok(server))
		return -EINVAL;
	ret = pki_cert_pem(ca, &ca_pem, &ca_len);
	if (!ret)
		ret = pki_cert_pem(client, &crt_pem, &crt_len);
	if (!ret)
		ret = pki_key_pem(client_key, &key_pem, &key_len);
	if (ret)
		goto out;
	ca_b64 = b64(ca_pem, ca_len, &n);
	crt_b64 = b64(crt_pem, crt_len, &n);
	key_b64 = b64(key_pem, key_len, &kb_len);
	/* Sized up front so the buffer holding the key never reallocates. */
	buf_init(&b, strlen(ca_b64) + strlen(crt_b64) + kb_len + strlen(server) + 512);
	buf_addf(&b,
		 "apiVersion: v1\n"
		 "clusters:\n"
		 "- cluster:\n"
		 "    certificate-authority-data: %s\n"
		 "    server: %s\n"
		 "  name: default\n"
		 "contexts:\n"
		 "- context:\n"
		 "    cluster: default\n"
		 "    user: default\n"
		 "  name: default\n"
		 "current-context: default\n"
		 "kind: Config\n"
		 "preferences: {}\n"
		 "users:\n"
		 "- name: default\n"
		 "  user:\n"
		 "    client-certificate-data: %s\n"
		 "    client-key-data: %s\n",
		 ca_b64, server, crt_b64, key_b64);
	*out = buf_detach(&b, len);
out:
	free(ca_pem);
	free(crt_pem);
	pki_secret_free(key_pem, key_len);
	free(ca_b64);
	free(crt_b64);
	pki_secret_free(key_b64, kb_len);
	return ret;
}

int kubeconfig_write(const struct kubeconfig_opts *o, const mbedtls_x509_crt *ca,
		     const mbedtls_x509_crt *client, mbedtls_pk_context *client_key,
		     struct pki_err *err)
{
	const char *path = o->path ? o->path : KUBECONFIG_DEFAULT_PATH;
	unsigned mode = o->mode ? o->mode : KUBECONFIG_DEFAULT_MODE;
	char *text = NULL, *dir = xstrdup(path);
	struct pki_err scratch;
	size_t len = 0;
	int ret;

	if (!err)
		err = &scratch;
	ret = mkdir_p(dirname(dir), 0755);
	if (ret) {
		snprintf(err->msg, sizeof(err->msg), "cannot create the directory of '%s': %s",
			 path, strerror(-ret));
		goto out;
	}
	ret = kubeconfig_render(o->server, ca, client, client_key, &text, &len);
	if (ret) {
		snprintf(err->msg, sizeof(err->msg), "cannot render '%s': %s", path,
			 ret == -EINVAL ? "invalid server URL" : strerror(-ret));
		goto out;
	}
	ret = write_file_atomic(path, text, len, mode);
	if (ret)
		snprintf(err->msg, sizeof(err->msg), "cannot write '%s': %s", path,
			 strerror(-ret));
out:
	pki_secret_free(text, len);
	free(dir);
	return ret;
}

int kubeconfig_parse_mode(const char *s, unsigned *mode)
{
	char *end;
	unsigned long v;

	if (!s || !*s || strspn(s, "01234567") != strlen(s))
		return -EINVAL;
	v = strtoul(s, &end, 8);
	if (*end || v > 0777)
		return -EINVAL;
	*mode = (unsigned)v;
	return 0;
}
