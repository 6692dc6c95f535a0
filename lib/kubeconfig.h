/*
 * lib/kubeconfig.h - writing kubeconfig files: the admin one (/etc/k1s/k1s.yaml)
 * and the one a joined agent keeps.
 *
 * The file is the YAML kubectl reads, shaped as k3s writes it: one cluster,
 * one user and one context, all named "default", current-context default;
 * certificate-authority-data, client-certificate-data and client-key-data
 * are base64 of the PEM files (so the file stands alone). It holds a private
 * key: it is written atomically (tmp + fsync + rename) with the given mode
 * (default 0600), and every buffer that held the key is wiped.
 */
#ifndef K1S_LIB_KUBECONFIG_H
#define K1S_LIB_KUBECONFIG_H

#include "lib/pki.h"

#define KUBECONFIG_DEFAULT_PATH		"/etc/k1s/k1s.yaml"
#define KUBECONFIG_DEFAULT_SERVER	"https://127.0.0.1:6443"
#define KUBECONFIG_DEFAULT_MODE		0600

struct kubeconfig_opts {
	const char *path;	/* NULL = KUBECONFIG_DEFAULT_PATH */
	const char *server;	/* NULL = KUBECONFIG_DEFAULT_SERVER */
	unsigned mode;		/* file mode; 0 = KUBECONFIG_DEFAULT_MODE */
};

/*
 * Renders the kubeconfig text for server with the CA certificate and the
 * client certificate + key. *out is malloc'd (NUL-terminated, *len without
 * it) and holds the key: free it with pki_secret_free(*out, *len).
 * 0 or -EIO.
 */
int kubeconfig_render(const char *server, const mbedtls_x509_crt *ca,
		      const mbedtls_x509_crt *client, mbedtls_pk_context *client_key,
		      char **out, size_t *len);

/*
 * Renders and writes the kubeconfig to o->path, creating its parent
 * directories (0755) first. 0 or -errno with err naming the path.
 */
int kubeconfig_write(const struct kubeconfig_opts *o, const mbedtls_x509_crt *ca,
		     const mbedtls_x509_crt *client, mbedtls_pk_context *client_key,
		     struct pki_err *err);

/*
 * Parses a --write-kubeconfig-mode value: octal digits, as chmod takes them
 * ("600", "0644"), at most 0777. 0 or -EINVAL.
 */
int kubeconfig_parse_mode(const char *s, unsigned *mode);

#endif
