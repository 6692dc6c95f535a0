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
#include "lib/kubeconfig.h"
#include "server/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/oid.h>

static bool strv_has(const struct pki_strv *sv, const char *s)
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
	char *cmd, buf[16384];
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

	/* the limits: PKI_NAMES_MAX long names fit, one more is refused */
	{
		const char *many[PKI_NAMES_MAX + 1];
		char name[PKI_NAME_LEN_MAX + 1];
		struct pki_strv sdns = { 0 };

		memset(name, 'a', PKI_NAME_LEN_MAX);
		name[PKI_NAME_LEN_MAX] = '\0';
		for (size_t i = 0; i < ARRAY_SIZE(many); i++)
			many[i] = name;
		req.dns = many;
		req.n_dns = PKI_NAMES_MAX;
		req.orgs = many;
		req.n_orgs = PKI_NAMES_MAX;
		ASSERT_OK(pki_cert_issue(&leaf, &ca.key, &req, &ca.crt, &ca.key, &err));
		ASSERT_OK(pki_cert_sans(&leaf, &sdns, NULL));
		ASSERT_EQ(sdns.n, PKI_NAMES_MAX);
		pki_strv_release(&sdns);
		req.n_dns = PKI_NAMES_MAX + 1;
		ASSERT_EQ(pki_cert_issue(&leaf, &ca.key, &req, &ca.crt, &ca.key, &err), -E2BIG);
		name[PKI_NAME_LEN_MAX - 1] = '\0';
		req.n_dns = 1;
		req.n_orgs = 0;
		ASSERT_OK(pki_cert_issue(&leaf, &ca.key, &req, &ca.crt, &ca.key, &err));
	}
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

/* ---- server/pki ---- */

static void fingerprints(const struct server_pki *p, char fp[SERVER_PKI_N][PKI_SHA256_HEX_LEN + 1])
{
	for (int i = 0; i < SERVER_PKI_N; i++)
		pki_cert_sha256_hex(&p->pair[i].crt, fp[i]);
}

static void ensure_ok(struct server_pki *p, const struct server_pki_opts *o)
{
	struct pki_err err = { "" };

	if (server_pki_ensure(p, o, &err))
		test_fail(__FILE__, __LINE__, "ensure: %s", err.msg);
}

TEST(server_pki_first_start_creates_everything)
{
	static const char *const nodes[] = { "192.168.5.10", "2001:db8::10", "node1.lan" };
	static const char *const sans[] = { "api.example.com", "10.0.0.1", "API.example.com" };
	struct server_pki_opts o = {
		.data_dir = test_tmpdir(), .hostname = "MyHost",
		.node_addrs = nodes, .n_node_addrs = 3, .tls_sans = sans, .n_tls_sans = 3,
	};
	static const char *const want_dns[] = {
		"api.example.com", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local", "localhost", "myhost", "node1.lan",
	};
	static const char *const want_ips[] = {
		"10.0.0.1", "10.43.0.1", "127.0.0.1", "192.168.5.10", "2001:db8::10", "::1",
		"fd43::1",
	};
	struct pki_strv dns = { 0 }, ips = { 0 }, orgs = { 0 };
	struct server_pki p = { 0 };
	struct pki_err err = { "" };
	char *dir = xasprintf("%s/server/tls", test_tmpdir());
	char *cn = NULL;

	umask(022);
	ensure_ok(&p, &o);
	ASSERT_STR_EQ(p.dir, dir);
	ASSERT_EQ(file_mode(dir), 0700);
	*strrchr(dir, '/') = '\0';
	ASSERT_EQ(file_mode(dir), 0755);	/* <data-dir>/server is shared */
	strcat(dir, "/tls");
	for (int i = 0; i < SERVER_PKI_N; i++) {
		ASSERT_TRUE(p.pair[i].created);
		ASSERT_EQ(file_mode(p.pair[i].key_path), 0600);
		ASSERT_EQ(file_mode(p.pair[i].crt_path), 0644);
		ASSERT_TRUE(pki_key_matches(&p.pair[i].crt, &p.pair[i].key));
	}
	ASSERT_TRUE(str_has_suffix(p.pair[SERVER_PKI_SERVING].crt_path,
				   "/server/tls/serving-kube-apiserver.crt"));
	ASSERT_TRUE(str_has_suffix(p.pair[SERVER_PKI_ADMIN].key_path, "/server/tls/client-admin.key"));
	ASSERT_OK(pki_cert_verify(&p.pair[SERVER_PKI_SERVING].crt,
				  &p.pair[SERVER_PKI_SERVER_CA].crt, &err));
	ASSERT_OK(pki_cert_verify(&p.pair[SERVER_PKI_ADMIN].crt,
				  &p.pair[SERVER_PKI_CLIENT_CA].crt, &err));
	ASSERT_OK(pki_cert_verify(&p.pair[SERVER_PKI_APISERVER_CLIENT].crt,
				  &p.pair[SERVER_PKI_CLIENT_CA].crt, &err));
	/* the client CA doesn't vouch for the serving certificate */
	ASSERT_EQ(pki_cert_verify(&p.pair[SERVER_PKI_SERVING].crt,
				  &p.pair[SERVER_PKI_CLIENT_CA].crt, &err), -EACCES);

	ASSERT_OK(pki_cert_sans(&p.pair[SERVER_PKI_SERVING].crt, &dns, &ips));
	ASSERT_EQ(dns.n, ARRAY_SIZE(want_dns));
	for (size_t i = 0; i < ARRAY_SIZE(want_dns); i++)
		ASSERT_TRUE(strv_has(&dns, want_dns[i]));
	ASSERT_EQ(ips.n, ARRAY_SIZE(want_ips));
	for (size_t i = 0; i < ARRAY_SIZE(want_ips); i++)
		ASSERT_TRUE(strv_has(&ips, want_ips[i]));

	ASSERT_OK(pki_cert_subject(&p.pair[SERVER_PKI_ADMIN].crt, &cn, &orgs));
	ASSERT_STR_EQ(cn, "system:admin");
	ASSERT_EQ(orgs.n, 1);
	ASSERT_STR_EQ(orgs.v[0], "system:masters");
	free(cn);
	pki_strv_release(&orgs);
	ASSERT_OK(pki_cert_subject(&p.pair[SERVER_PKI_APISERVER_CLIENT].crt, &cn, &orgs));
	ASSERT_STR_EQ(cn, "kube-apiserver");
	ASSERT_EQ(orgs.n, 0);
	free(cn);
	ASSERT_OK(pki_cert_subject(&p.pair[SERVER_PKI_SERVER_CA].crt, &cn, NULL));
	ASSERT_TRUE(str_has_prefix(cn, "k1s-server-ca@"));
	free(cn);
	ASSERT_TRUE(pki_cert_seconds_left(&p.pair[SERVER_PKI_SERVER_CA].crt, time(NULL)) >
		    3649LL * 86400);

	pki_strv_release(&dns);
	pki_strv_release(&ips);
	server_pki_release(&p);
	free(dir);
}

TEST(server_pki_reuses_renews_and_reissues)
{
	static const char *const sans[] = { "extra.example" };
	struct server_pki_opts o = { .data_dir = test_tmpdir(), .hostname = "h" };
	char fp1[SERVER_PKI_N][PKI_SHA256_HEX_LEN + 1], fp2[SERVER_PKI_N][PKI_SHA256_HEX_LEN + 1];
	char hash[PKI_SHA256_HEX_LEN + 1];
	struct server_pki p = { 0 };

	ensure_ok(&p, &o);
	fingerprints(&p, fp1);
	server_pki_ca_hash(&p, hash);
	ASSERT_STR_EQ(hash, fp1[SERVER_PKI_SERVER_CA]);

	/* second start: everything reused */
	ensure_ok(&p, &o);
	fingerprints(&p, fp2);
	for (int i = 0; i < SERVER_PKI_N; i++) {
		ASSERT_FALSE(p.pair[i].created);
		ASSERT_STR_EQ(fp1[i], fp2[i]);
	}

	/* a new --tls-san: only the serving certificate is re-issued */
	o.tls_sans = sans;
	o.n_tls_sans = 1;
	ensure_ok(&p, &o);
	fingerprints(&p, fp2);
	for (int i = 0; i < SERVER_PKI_N; i++) {
		ASSERT_EQ(p.pair[i].created, i == SERVER_PKI_SERVING);
		ASSERT_EQ(strcmp(fp1[i], fp2[i]) != 0, i == SERVER_PKI_SERVING);
	}
	memcpy(fp1, fp2, sizeof(fp1));

	/* leaves valid for 30 days are within the 90-day window: renewed */
	o.leaf_days = 30;
	ensure_ok(&p, &o);	/* issues 30-day leaves (the old ones were fine) */
	ASSERT_FALSE(p.pair[SERVER_PKI_ADMIN].created);
	unlink(p.pair[SERVER_PKI_ADMIN].crt_path);
	ensure_ok(&p, &o);	/* a missing leaf is re-made: now a 30-day one */
	ASSERT_TRUE(p.pair[SERVER_PKI_ADMIN].created);
	ASSERT_LT(pki_cert_seconds_left(&p.pair[SERVER_PKI_ADMIN].crt, time(NULL)), 31LL * 86400);
	fingerprints(&p, fp1);
	o.leaf_days = 0;
	ensure_ok(&p, &o);
	fingerprints(&p, fp2);
	ASSERT_TRUE(p.pair[SERVER_PKI_ADMIN].created);
	ASSERT_TRUE(strcmp(fp1[SERVER_PKI_ADMIN], fp2[SERVER_PKI_ADMIN]) != 0);
	ASSERT_LT(364LL * 86400, pki_cert_seconds_left(&p.pair[SERVER_PKI_ADMIN].crt, time(NULL)));
	ASSERT_STR_EQ(fp1[SERVER_PKI_SERVER_CA], fp2[SERVER_PKI_SERVER_CA]);
	ASSERT_STR_EQ(fp1[SERVER_PKI_CLIENT_CA], fp2[SERVER_PKI_CLIENT_CA]);
	/* a short renewal window keeps them */
	o.renew_days = 1;
	ensure_ok(&p, &o);
	for (int i = 0; i < SERVER_PKI_N; i++)
		ASSERT_FALSE(p.pair[i].created);
	server_pki_release(&p);
}

TEST(server_pki_renews_leaf_expiring_within_90_days)
{
	struct server_pki_opts o = { .data_dir = test_tmpdir(), .hostname = "h", .leaf_days = 89 };
	char fp1[SERVER_PKI_N][PKI_SHA256_HEX_LEN + 1], fp2[SERVER_PKI_N][PKI_SHA256_HEX_LEN + 1];
	struct server_pki p = { 0 };

	ensure_ok(&p, &o);
	fingerprints(&p, fp1);
	o.leaf_days = 0;
	ensure_ok(&p, &o);
	fingerprints(&p, fp2);
	for (int i = 0; i < SERVER_PKI_N; i++) {
		bool leaf = i != SERVER_PKI_SERVER_CA && i != SERVER_PKI_CLIENT_CA;

		ASSERT_EQ(p.pair[i].created, leaf);
		ASSERT_EQ(strcmp(fp1[i], fp2[i]) != 0, leaf);
	}
	ASSERT_OK(pki_cert_verify(&p.pair[SERVER_PKI_SERVING].crt,
				  &p.pair[SERVER_PKI_SERVER_CA].crt, NULL));
	server_pki_release(&p);
}

TEST(server_pki_never_replaces_a_ca_and_reports_damage)
{
	struct server_pki_opts o = { .data_dir = test_tmpdir(), .hostname = "h" };
	struct server_pki p = { 0 };
	struct pki_err err = { "" };
	char *ca_key, *ca_crt, *admin_key, *before = NULL, *after = NULL;
	size_t blen = 0, alen = 0;

	ensure_ok(&p, &o);
	ca_key = xstrdup(p.pair[SERVER_PKI_SERVER_CA].key_path);
	ca_crt = xstrdup(p.pair[SERVER_PKI_SERVER_CA].crt_path);
	admin_key = xstrdup(p.pair[SERVER_PKI_ADMIN].key_path);

	/* a corrupted leaf key: a clear error, not a crash, not a silent fix */
	ASSERT_OK(write_file_atomic(admin_key, "not a key\n", 10, 0600));
	ASSERT_EQ(server_pki_ensure(&p, &o, &err), -EBADMSG);
	ASSERT_TRUE(strstr(err.msg, admin_key) != NULL);
	ASSERT_TRUE(strstr(err.msg, "delete it") != NULL);
	unlink(admin_key);
	ensure_ok(&p, &o);
	ASSERT_TRUE(p.pair[SERVER_PKI_ADMIN].created);

	/* a corrupted CA key: an error, and the file is left as it was */
	ASSERT_OK(read_file(ca_crt, 1 << 20, &before, &blen));
	ASSERT_OK(write_file_atomic(ca_key, "garbage", 7, 0600));
	ASSERT_EQ(server_pki_ensure(&p, &o, &err), -EBADMSG);
	ASSERT_TRUE(strstr(err.msg, ca_key) != NULL);
	ASSERT_OK(read_file(ca_crt, 1 << 20, &after, &alen));
	ASSERT_EQ(alen, blen);
	ASSERT_OK(memcmp(before, after, blen));

	/* half a CA: refused */
	unlink(ca_key);
	ASSERT_EQ(server_pki_ensure(&p, &o, &err), -ENOENT);
	ASSERT_TRUE(strstr(err.msg, "missing") != NULL);
	ASSERT_TRUE(strstr(err.msg, ca_key) != NULL);
	ASSERT_EQ(file_mode(ca_key), 0xffff);

	/* both gone: a new CA, and every leaf it signs is re-issued */
	unlink(ca_crt);
	ensure_ok(&p, &o);
	ASSERT_TRUE(p.pair[SERVER_PKI_SERVER_CA].created);
	ASSERT_TRUE(p.pair[SERVER_PKI_SERVING].created);
	ASSERT_FALSE(p.pair[SERVER_PKI_ADMIN].created);
	ASSERT_OK(pki_cert_verify(&p.pair[SERVER_PKI_SERVING].crt,
				  &p.pair[SERVER_PKI_SERVER_CA].crt, NULL));

	server_pki_release(&p);
	/* a struct that failed can be released and ensured again */
	ASSERT_EQ(server_pki_ensure(&p, &(struct server_pki_opts){ 0 }, &err), -EINVAL);
	server_pki_release(&p);
	free(before);
	free(after);
	free(ca_key);
	free(ca_crt);
	free(admin_key);
}

/* ---- server/kubeconfig ---- */

/* kubectl config view --raw -o jsonpath=... on path; 0 and *out, or its status. */
static int kubectl_jsonpath(const char *path, const char *jp, char **out)
{
	return run(out, "HOME=%s /usr/bin/kubectl --kubeconfig %s config view --raw "
		   "-o jsonpath='%s' 2>&1", test_tmpdir(), path, jp);
}

static void b64_decode(const char *in, char **out, size_t *len)
{
	size_t cap = strlen(in) + 1, olen = 0;

	*out = xmalloc(cap);
	if (mbedtls_base64_decode((unsigned char *)*out, cap, &olen,
				  (const unsigned char *)in, strlen(in)))
		test_fail(__FILE__, __LINE__, "bad base64");
	(*out)[olen] = '\0';
	*len = olen;
}

TEST(kubeconfig_written_and_parsed_by_kubectl)
{
	struct server_pki_opts o = { .data_dir = test_tmpdir(), .hostname = "h" };
	char *path = xasprintf("%s/etc/k1s/k1s.yaml", test_tmpdir());
	struct kubeconfig_opts ko = { .path = path };
	struct server_pki p = { 0 };
	struct pki_err err = { "" };
	char *out = NULL, *pem = NULL, *dec = NULL, *fields[8];
	size_t len = 0, dlen = 0;
	mbedtls_pk_context key;
	int nf = 0;

	if (access("/usr/bin/kubectl", X_OK))
		test_fail(__FILE__, __LINE__, "kubectl missing");
	ensure_ok(&p, &o);
	ASSERT_OK(kubeconfig_write(&ko, &p.pair[SERVER_PKI_SERVER_CA].crt,
				   &p.pair[SERVER_PKI_ADMIN].crt, &p.pair[SERVER_PKI_ADMIN].key, &err));
	ASSERT_EQ(file_mode(path), 0600);

	/* one kubectl run (they cost ~0.7 s each): fields separated by '|' */
	ASSERT_EQ(kubectl_jsonpath(path, "{.current-context}/{.contexts[0].name}/"
				   "{.contexts[0].context.cluster}/{.contexts[0].context.user}/"
				   "{.users[0].name}/{.clusters[0].name}|{.clusters[0].cluster.server}|"
				   "{.clusters[0].cluster.certificate-authority-data}|"
				   "{.users[0].user.client-certificate-data}|"
				   "{.users[0].user.client-key-data}", &out), 0);
	for (char *f = out; (f = strchr(f, '|')); f++)
		fields[nf++] = f + 1;
	ASSERT_EQ(nf, 4);
	for (int i = 0; i < nf; i++)
		fields[i][-1] = '\0';
	ASSERT_STR_EQ(out, "default/default/default/default/default/default");
	ASSERT_STR_EQ(fields[0], "https://127.0.0.1:6443");

	/* the embedded data decodes to the very files */
	b64_decode(fields[1], &dec, &dlen);
	ASSERT_OK(pki_cert_pem(&p.pair[SERVER_PKI_SERVER_CA].crt, &pem, &len));
	ASSERT_EQ(dlen, len);
	ASSERT_STR_EQ(dec, pem);
	free(pem);
	free(dec);
	b64_decode(fields[2], &dec, &dlen);
	ASSERT_OK(pki_cert_pem(&p.pair[SERVER_PKI_ADMIN].crt, &pem, &len));
	ASSERT_STR_EQ(dec, pem);
	free(pem);
	free(dec);
	b64_decode(fields[3], &dec, &dlen);
	pki_secret_free(out, strlen(out));
	mbedtls_pk_init(&key);
	ASSERT_OK(mbedtls_pk_parse_key(&key, (unsigned char *)dec, dlen + 1, NULL, 0));
	ASSERT_TRUE(pki_key_matches(&p.pair[SERVER_PKI_ADMIN].crt, &key));
	mbedtls_pk_free(&key);
	pki_secret_free(dec, dlen);

	/* another server and mode, over the old file */
	ko.server = "https://[fd00::1]:7443";
	ko.mode = 0644;
	ASSERT_OK(kubeconfig_write(&ko, &p.pair[SERVER_PKI_SERVER_CA].crt,
				   &p.pair[SERVER_PKI_ADMIN].crt, &p.pair[SERVER_PKI_ADMIN].key, &err));
	ASSERT_EQ(file_mode(path), 0644);
	ASSERT_OK(read_file(path, 1 << 20, &out, &len));
	ASSERT_TRUE(strstr(out, "\n    server: https://[fd00::1]:7443\n") != NULL);
	pki_secret_free(out, len);
	ko.server = "https://x\n  evil: 1";
	ASSERT_EQ(kubeconfig_write(&ko, &p.pair[SERVER_PKI_SERVER_CA].crt,
				   &p.pair[SERVER_PKI_ADMIN].crt, &p.pair[SERVER_PKI_ADMIN].key, &err),
		  -EINVAL);
	server_pki_release(&p);
	free(path);
}

TEST(kubeconfig_mode_parsing)
{
	unsigned m = 0;

	ASSERT_OK(kubeconfig_parse_mode("600", &m));
	ASSERT_EQ(m, 0600);
	ASSERT_OK(kubeconfig_parse_mode("0644", &m));
	ASSERT_EQ(m, 0644);
	ASSERT_EQ(kubeconfig_parse_mode("0800", &m), -EINVAL);
	ASSERT_EQ(kubeconfig_parse_mode("1777", &m), -EINVAL);
	ASSERT_EQ(kubeconfig_parse_mode("", &m), -EINVAL);
	ASSERT_EQ(kubeconfig_parse_mode("-1", &m), -EINVAL);
	ASSERT_EQ(kubeconfig_parse_mode("rw", &m), -EINVAL);
}

/* ---- Go's TLS stack (kubectl) against the certificates ---- */

/* A free TCP port on ::1 (bound and released; the race is harmless here). */
static int free_port(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET6, SOCK_STREAM, 0), port;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		test_fail(__FILE__, __LINE__, "no free port: %s", strerror(errno));
	port = ntohs(a.sin6_port);
	close(fd);
	return port;
}

static bool can_connect(int port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
				  .sin6_port = htons((uint16_t)port) };
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * openssl s_server on [::1]:port with the serving certificate, requiring a
 * client certificate from the client CA. It dies with this test process.
 */
static pid_t tls_server_start(const struct server_pki *p, int port)
{
	char *accept = xasprintf("[::1]:%d", port);
	uint64_t deadline = mono_ms() + 10000;
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execl("/usr/bin/openssl", "openssl", "s_server", "-quiet", "-accept", accept,
		      "-cert", p->pair[SERVER_PKI_SERVING].crt_path,
		      "-key", p->pair[SERVER_PKI_SERVING].key_path,
		      "-CAfile", p->pair[SERVER_PKI_CLIENT_CA].crt_path,
		      "-Verify", "1", "-verify_return_error", "-www", (char *)NULL);
		_exit(127);
	}
	free(accept);
	ASSERT_TRUE(pid > 0);
	while (!can_connect(port)) {
		if (mono_ms() > deadline || waitpid(pid, NULL, WNOHANG) == pid)
			test_fail(__FILE__, __LINE__, "openssl s_server did not start");
		usleep(20000);
	}
	return pid;
}

static void tls_server_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST(kubeconfig_kubectl_tls_handshake)
{
	struct server_pki_opts o = { .data_dir = test_tmpdir(), .hostname = "h" };
	char *path = xasprintf("%s/k1s.yaml", test_tmpdir());
	char *bad = xasprintf("%s/wrong-ca.yaml", test_tmpdir());
	struct server_pki p = { 0 };
	struct pki_err err = { "" };
	int port = free_port();
	char *server = xasprintf("https://[::1]:%d", port);
	struct kubeconfig_opts ko = { .path = path, .server = server };
	char *out = NULL;
	pid_t pid;

	if (access("/usr/bin/openssl", X_OK) || access("/usr/bin/kubectl", X_OK))
		test_fail(__FILE__, __LINE__, "openssl or kubectl missing");
	ensure_ok(&p, &o);
	ASSERT_OK(kubeconfig_write(&ko, &p.pair[SERVER_PKI_SERVER_CA].crt,
				   &p.pair[SERVER_PKI_ADMIN].crt, &p.pair[SERVER_PKI_ADMIN].key, &err));
	/* a kubeconfig trusting the wrong CA */
	ko.path = bad;
	ASSERT_OK(kubeconfig_write(&ko, &p.pair[SERVER_PKI_CLIENT_CA].crt,
				   &p.pair[SERVER_PKI_ADMIN].crt, &p.pair[SERVER_PKI_ADMIN].key, &err));
	pid = tls_server_start(&p, port);

	/*
	 * Go verified the chain and the IP SAN ::1, and s_server (which demands
	 * a client certificate from the client CA) answered with its HTML page.
	 */
	run(&out, "HOME=%s /usr/bin/kubectl --kubeconfig %s --request-timeout=10s "
	    "get --raw /version 2>&1", test_tmpdir(), path);
	if (!strstr(out, "<HTML>"))
		test_fail(__FILE__, __LINE__, "kubectl: %s", out);
	free(out);
	run(&out, "HOME=%s /usr/bin/kubectl --kubeconfig %s --request-timeout=10s "
	    "get --raw /version 2>&1", test_tmpdir(), bad);
	if (!strstr(out, "certificate signed by unknown authority"))
		test_fail(__FILE__, __LINE__, "kubectl with the wrong CA: %s", out);
	free(out);

	tls_server_stop(pid);
	server_pki_release(&p);
	free(server);
	free(path);
	free(bad);
}
