/*
 * tests/unit/pki_test.c - lib/pki (certificates) and server/pki (the
 * server's certificate policy) and server/kubeconfig.
 *
 * Key generation is EC P-256 (fast); each test makes only the keys it needs.
 * Independent checks use the machine's openssl (verify, SAN text) and
 * kubectl (parses the kubeconfig).
 */
#include "test.h"
#include "lib/pki.h"
#include "lib/util.h"
#include "server/kubeconfig.h"
#include "server/pki.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/oid.h>

K1S_UNUSED static bool strv_has(const struct pki_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

static unsigned file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return 0xffff;
	return st.st_mode & 07777;
}

/* Runs a shell command; returns its exit status and its stdout in *out. */
static int run(char **out, const char *fmt, ...) K1S_PRINTF(2, 3);
static int run(char **out, const char *fmt, ...)
{
	char *cmd, buf[4096];
	size_t n = 0;
	va_list ap;
	FILE *f;
	int st;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	free(cmd);
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	st = pclose(f);
	if (out)
		*out = xstrdup(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct ca {
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
};

static void ca_make(struct ca *ca, const char *cn)
{
	struct pki_err err = { "" };

	mbedtls_x509_crt_init(&ca->crt);
	mbedtls_pk_init(&ca->key);
	if (pki_ca_create(&ca->crt, &ca->key, cn, 0, &err))
		test_fail(__FILE__, __LINE__, "ca: %s", err.msg);
}

static void ca_free(struct ca *ca)
{
	mbedtls_x509_crt_free(&ca->crt);
	mbedtls_pk_free(&ca->key);
}

TEST(pki_ca_and_leaf_chain)
{
	static const char *const orgs[] = { "system:masters", "team-a" };
	static const char *const dns[] = { "localhost", "kubernetes.default.svc" };
	static const char *const ips[] = { "127.0.0.1", "::1", "fd43::1", "10.43.0.1" };
	struct pki_cert_req req = {
		.cn = "leaf", .orgs = orgs, .n_orgs = 2, .dns = dns, .n_dns = 2,
		.ips = ips, .n_ips = 4, .usage = PKI_USAGE_SERVER | PKI_USAGE_CLIENT,
	};
	struct pki_strv sdns = { 0 }, sips = { 0 }, sorgs = { 0 };
	struct pki_err err = { "" };
	mbedtls_x509_crt leaf;
	mbedtls_pk_context key;
	struct ca ca, other;
	int64_t left;
	char *cn = NULL;

	ca_make(&ca, "test-ca");
	ca_make(&other, "other-ca");
	mbedtls_x509_crt_init(&leaf);
	mbedtls_pk_init(&key);
	ASSERT_OK(pki_key_generate(&key, &err));
	ASSERT_OK(pki_cert_issue(&leaf, &key, &req, &ca.crt, &ca.key, &err));

	ASSERT_OK(pki_cert_verify(&leaf, &ca.crt, &err));
	ASSERT_OK(pki_cert_verify(&ca.crt, &ca.crt, &err));
	ASSERT_EQ(pki_cert_verify(&leaf, &other.crt, &err), -EACCES);
	ASSERT_TRUE(strstr(err.msg, "verification failed") != NULL);
	ASSERT_TRUE(pki_key_matches(&leaf, &key));
	ASSERT_FALSE(pki_key_matches(&leaf, &ca.key));
	ASSERT_TRUE(ca.crt.ca_istrue);
	ASSERT_FALSE(leaf.ca_istrue);

	ASSERT_OK(pki_cert_sans(&leaf, &sdns, &sips));
	ASSERT_EQ(sdns.n, 2);
	ASSERT_STR_EQ(sdns.v[0], "localhost");
	ASSERT_STR_EQ(sdns.v[1], "kubernetes.default.svc");
	ASSERT_EQ(sips.n, 4);
	ASSERT_STR_EQ(sips.v[0], "127.0.0.1");
	ASSERT_STR_EQ(sips.v[1], "::1");
	ASSERT_STR_EQ(sips.v[2], "fd43::1");
	ASSERT_STR_EQ(sips.v[3], "10.43.0.1");
	ASSERT_TRUE(pki_cert_matches_host(&leaf, "::1"));
	ASSERT_TRUE(pki_cert_matches_host(&leaf, "0:0::1"));
	ASSERT_TRUE(pki_cert_matches_host(&leaf, "LOCALHOST"));
	ASSERT_FALSE(pki_cert_matches_host(&leaf, "10.43.0.2"));
	ASSERT_FALSE(pki_cert_matches_host(&leaf, "kubernetes"));

	ASSERT_OK(pki_cert_subject(&leaf, &cn, &sorgs));
	ASSERT_STR_EQ(cn, "leaf");
	ASSERT_EQ(sorgs.n, 2);
	ASSERT_STR_EQ(sorgs.v[0], "system:masters");
	ASSERT_STR_EQ(sorgs.v[1], "team-a");

	ASSERT_OK(mbedtls_x509_crt_check_extended_key_usage(&leaf, MBEDTLS_OID_SERVER_AUTH,
			MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)));
	ASSERT_OK(mbedtls_x509_crt_check_extended_key_usage(&leaf, MBEDTLS_OID_CLIENT_AUTH,
			MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)));
	ASSERT_OK(mbedtls_x509_crt_check_key_usage(&leaf, MBEDTLS_X509_KU_DIGITAL_SIGNATURE));
	ASSERT_OK(mbedtls_x509_crt_check_key_usage(&ca.crt, MBEDTLS_X509_KU_KEY_CERT_SIGN));

	left = pki_cert_seconds_left(&leaf, (int64_t)time(NULL));
	ASSERT_LE(left, 365LL * 86400);
	ASSERT_LT(364LL * 86400, left);
	left = pki_cert_seconds_left(&ca.crt, (int64_t)time(NULL));
	ASSERT_LT(3649LL * 86400, left);

	free(cn);
	pki_strv_release(&sdns);
	pki_strv_release(&sips);
	pki_strv_release(&sorgs);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_pk_free(&key);
	ca_free(&ca);
	ca_free(&other);
}

TEST(pki_client_only_leaf_has_no_server_usage)
{
	struct pki_cert_req req = { .cn = "c", .usage = PKI_USAGE_CLIENT, .days = 30 };
	struct pki_err err = { "" };
	struct pki_strv sdns = { 0 }, sips = { 0 };
	mbedtls_x509_crt leaf;
	mbedtls_pk_context key;
	int64_t left;
	struct ca ca;

	ca_make(&ca, "ca");
	mbedtls_x509_crt_init(&leaf);
	mbedtls_pk_init(&key);
	ASSERT_OK(pki_key_generate(&key, &err));
	ASSERT_OK(pki_cert_issue(&leaf, &key, &req, &ca.crt, &ca.key, &err));
	ASSERT_NE(mbedtls_x509_crt_check_extended_key_usage(&leaf, MBEDTLS_OID_SERVER_AUTH,
			MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)), 0);
	ASSERT_OK(pki_cert_sans(&leaf, &sdns, &sips));
	ASSERT_EQ(sdns.n + sips.n, 0);
	left = pki_cert_seconds_left(&leaf, (int64_t)time(NULL));
	ASSERT_LE(left, 30LL * 86400);
	ASSERT_LT(29LL * 86400, left);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_pk_free(&key);
	ca_free(&ca);
}

TEST(pki_rejects_bad_requests)
{
	static const char *const bad_ip[] = { "10.0.0.300" };
	static const char *const empty[] = { "" };
	struct pki_cert_req req = { .cn = "x", .usage = PKI_USAGE_SERVER };
	struct pki_err err = { "" };
	mbedtls_x509_crt leaf;
	struct ca ca, other;

	ca_make(&ca, "ca");
	ca_make(&other, "other");
	mbedtls_x509_crt_init(&leaf);
	req.ips = bad_ip;
	req.n_ips = 1;
	ASSERT_EQ(pki_cert_issue(&leaf, &ca.key, &req, &ca.crt, &ca.key, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "10.0.0.300") != NULL);
	req.n_ips = 0;
	req.dns = empty;
	req.n_dns = 1;
	ASSERT_EQ(pki_cert_issue(&leaf, &ca.key, &req, &ca.crt, &ca.key, &err), -EINVAL);
	req.n_dns = 0;
	req.usage = 0;
	ASSERT_EQ(pki_cert_issue(&leaf, &ca.key, &req, &ca.crt, &ca.key, &err), -EINVAL);
	req.usage = PKI_USAGE_CLIENT;
	req.cn = NULL;
	ASSERT_EQ(pki_cert_issue(&leaf, &ca.key, &req, &ca.crt, &ca.key, &err), -EINVAL);
	req.cn = "x";
	/* a CA key that doesn't belong to the CA certificate */
	ASSERT_EQ(pki_cert_issue(&leaf, &ca.key, &req, &ca.crt, &other.key, &err), -EINVAL);
	ASSERT_OK(pki_cert_issue(&leaf, &ca.key, &req, &ca.crt, &ca.key, &err));
	mbedtls_x509_crt_free(&leaf);
	ca_free(&ca);
	ca_free(&other);
}

TEST(pki_files_roundtrip_and_modes)
{
	struct pki_err err = { "" };
	char *kp = xasprintf("%s/ca.key", test_tmpdir());
	char *cp = xasprintf("%s/ca.crt", test_tmpdir());
	char h1[PKI_SHA256_HEX_LEN + 1], h2[PKI_SHA256_HEX_LEN + 1];
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	struct ca ca;
	char *pem = NULL;
	size_t len = 0;

	ca_make(&ca, "ca");
	umask(022);
	ASSERT_OK(pki_key_save(&ca.key, kp, &err));
	ASSERT_OK(pki_cert_save(&ca.crt, cp, &err));
	ASSERT_EQ(file_mode(kp), 0600);
	ASSERT_EQ(file_mode(cp), 0644);
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	ASSERT_OK(pki_key_load(&key, kp, &err));
	ASSERT_OK(pki_cert_load(&crt, cp, &err));
	ASSERT_TRUE(pki_key_matches(&crt, &key));
	pki_cert_sha256_hex(&ca.crt, h1);
	pki_cert_sha256_hex(&crt, h2);
	ASSERT_STR_EQ(h1, h2);
	ASSERT_EQ(strlen(h1), 64);
	pki_sha256_hex("abc", 3, h1);
	ASSERT_STR_EQ(h1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ASSERT_OK(pki_key_pem(&key, &pem, &len));
	ASSERT_TRUE(str_has_prefix(pem, "-----BEGIN EC PRIVATE KEY-----\n"));
	ASSERT_EQ(strlen(pem), len);
	pki_secret_free(pem, len);
	ASSERT_OK(pki_cert_pem(&crt, &pem, &len));
	ASSERT_TRUE(str_has_prefix(pem, "-----BEGIN CERTIFICATE-----\n"));
	free(pem);
	/* loading again replaces the previous contents */
	ASSERT_OK(pki_cert_load(&crt, cp, &err));
	ASSERT_OK(pki_key_load(&key, kp, &err));
	mbedtls_x509_crt_free(&crt);
	mbedtls_pk_free(&key);
	ca_free(&ca);
	free(kp);
	free(cp);
}

TEST(pki_corrupt_and_missing_files_are_clear_errors)
{
	struct pki_err err = { "" };
	char *kp = xasprintf("%s/bad.key", test_tmpdir());
	char *cp = xasprintf("%s/bad.crt", test_tmpdir());
	static const char junk[] = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;

	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	ASSERT_OK(write_file_atomic(kp, junk, sizeof(junk) - 1, 0600));
	ASSERT_OK(write_file_atomic(cp, "garbage", 7, 0644));
	ASSERT_EQ(pki_key_load(&key, kp, &err), -EBADMSG);
	ASSERT_TRUE(strstr(err.msg, "cannot parse key") != NULL);
	ASSERT_TRUE(strstr(err.msg, kp) != NULL);
	ASSERT_EQ(pki_cert_load(&crt, cp, &err), -EBADMSG);
	ASSERT_TRUE(strstr(err.msg, "cannot parse certificate") != NULL);
	ASSERT_OK(write_file_atomic(kp, "", 0, 0600));
	ASSERT_EQ(pki_key_load(&key, kp, &err), -EBADMSG);
	unlink(kp);
	ASSERT_EQ(pki_key_load(&key, kp, &err), -ENOENT);
	ASSERT_TRUE(strstr(err.msg, "cannot read") != NULL);
	mbedtls_x509_crt_free(&crt);
	mbedtls_pk_free(&key);
	free(kp);
	free(cp);
}

TEST(pki_openssl_agrees)
{
	static const char *const dns[] = { "kubernetes" };
	static const char *const ips[] = { "::1", "fd43::1", "127.0.0.1" };
	static const char *const orgs[] = { "system:masters" };
	struct pki_cert_req req = {
		.cn = "system:admin", .orgs = orgs, .n_orgs = 1, .dns = dns, .n_dns = 1,
		.ips = ips, .n_ips = 3, .usage = PKI_USAGE_SERVER,
	};
	struct pki_err err = { "" };
	const char *d = test_tmpdir();
	char *cap = xasprintf("%s/ca.crt", d), *lp = xasprintf("%s/leaf.crt", d);
	mbedtls_x509_crt leaf;
	mbedtls_pk_context key;
	char *out = NULL;
	struct ca ca;

	if (access("/usr/bin/openssl", X_OK))
		test_fail(__FILE__, __LINE__, "openssl missing (tests/install-deps.sh)");
	ca_make(&ca, "k1s-ca@1");
	mbedtls_x509_crt_init(&leaf);
	mbedtls_pk_init(&key);
	ASSERT_OK(pki_key_generate(&key, &err));
	ASSERT_OK(pki_cert_issue(&leaf, &key, &req, &ca.crt, &ca.key, &err));
	ASSERT_OK(pki_cert_save(&ca.crt, cap, &err));
	ASSERT_OK(pki_cert_save(&leaf, lp, &err));
	ASSERT_EQ(run(&out, "openssl verify -purpose sslserver -CAfile %s %s 2>&1", cap, lp), 0);
	free(out);
	ASSERT_EQ(run(&out, "openssl x509 -noout -ext subjectAltName -in %s", lp), 0);
	ASSERT_TRUE(strstr(out, "DNS:kubernetes, IP Address:0:0:0:0:0:0:0:1, "
			   "IP Address:FD43:0:0:0:0:0:0:1, IP Address:127.0.0.1") != NULL);
	free(out);
	ASSERT_EQ(run(&out, "openssl x509 -noout -subject -in %s", lp), 0);
	ASSERT_STR_EQ(out, "subject=O = system:masters, CN = system:admin\n");
	free(out);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_pk_free(&key);
	ca_free(&ca);
	free(cap);
	free(lp);
}
