/*
 * tests/unit/authn_test.c - server/authn: identities from certificates and
 * token files, 401 vs anonymous, the authorization table and 403 texts.
 */
#include "test.h"
#include "lib/pki.h"
#include "lib/util.h"
#include "server/authn.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static void assert_groups(const char *file, int line, const struct authn_identity *id,
			  const char *want)
{
	char got[1024] = "";

	for (size_t i = 0; i < id->n_groups; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? "|" : "",
			 id->groups[i]);
	if (strcmp(got, want))
		test_fail(file, line, "groups \"%s\" != \"%s\"", got, want);
}
#define ASSERT_GROUPS(id, want) assert_groups(__FILE__, __LINE__, (id), (want))

static struct authn_tokens *parse_ok(const char *text)
{
	struct authn_tokens *t = NULL;
	struct pki_err err = { "" };

	if (authn_tokens_parse(&t, text, strlen(text), "tokens.csv", &err))
		test_fail(__FILE__, __LINE__, "parse: %s", err.msg);
	return t;
}

static void parse_bad(const char *text, const char *want_msg)
{
	struct authn_tokens *t = NULL;
	struct pki_err err = { "" };

	ASSERT_EQ(authn_tokens_parse(&t, text, strlen(text), "tokens.csv", &err), -EINVAL);
	ASSERT_NULL(t);
	if (!strstr(err.msg, want_msg))
		test_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", err.msg, want_msg);
}

static int lookup(struct authn_tokens *t, const char *tok, struct authn_identity *id)
{
	return authn_tokens_lookup(t, tok, strlen(tok), id);
}

TEST(authn_token_file_good_lines)
{
	struct authn_tokens *t = parse_ok(
		"secret1,alice,uid-1\n"
		"\n"
		"secret2,bob,uid-2,\"dev,ops\"\r\n"
		"\"sec,ret3\",carol,,admins,ignored-extra-column\n"
		",nobody,uid-x\n"				/* empty token: skipped */
		"\"qu\"\"ote\",dave,\"u\nid\",\"a,,b\"\n"	/* "" and a newline in quotes */
		"secret1,alice2,uid-1b");			/* duplicate, last wins, no EOL */
	struct authn_identity id = { 0 };

	ASSERT_EQ(authn_tokens_count(t), 5);
	ASSERT_OK(lookup(t, "secret1", &id));
	ASSERT_STR_EQ(id.user, "alice2");
	ASSERT_STR_EQ(id.uid, "uid-1b");
	ASSERT_EQ(id.n_groups, 0);
	ASSERT_OK(lookup(t, "secret2", &id));
	ASSERT_STR_EQ(id.user, "bob");
	ASSERT_GROUPS(&id, "dev|ops");
	ASSERT_OK(lookup(t, "sec,ret3", &id));
	ASSERT_STR_EQ(id.user, "carol");
	ASSERT_STR_EQ(id.uid, "");
	ASSERT_GROUPS(&id, "admins");
	ASSERT_OK(lookup(t, "qu\"ote", &id));
	ASSERT_STR_EQ(id.uid, "u\nid");
	ASSERT_GROUPS(&id, "a|b");
	ASSERT_EQ(lookup(t, "", &id), -ENOENT);
	ASSERT_EQ(lookup(t, "secret", &id), -ENOENT);
	ASSERT_EQ(lookup(t, "secret11", &id), -ENOENT);
	ASSERT_EQ(lookup(t, "Secret1", &id), -ENOENT);
	authn_identity_release(&id);
	authn_tokens_free(t);

	t = parse_ok("");
	ASSERT_EQ(authn_tokens_count(t), 0);
	authn_tokens_free(t);
}

TEST(authn_token_file_bad_lines)
{
	parse_bad("ok,u,1\nonly,two\n", "line 2: must have at least 3 columns");
	parse_bad("justone\n", "found 1");
	parse_bad("a,u\"x,1\n", "line 1: bare \" in non-quoted field");
	parse_bad("ok,u,1\n\"open,u,1\n", "line 2: unterminated quoted field");
	parse_bad("\"tok\"x,u,1\n", "extraneous or missing \"");
	parse_bad("ok,u,1\n\n\nbad\n", "tokens.csv' line 4");
}

TEST(authn_token_file_reload)
{
	char *path = xasprintf("%s/tokens.csv", test_tmpdir());
	struct authn_tokens *t = NULL;
	struct authn_identity id = { 0 };
	struct pki_err err = { "" };

	ASSERT_EQ(authn_tokens_load(&t, path, &err), -ENOENT);
	ASSERT_TRUE(strstr(err.msg, path) != NULL);
	ASSERT_OK(write_file_atomic(path, "t1,u1,1\n", 8, 0600));
	ASSERT_OK(authn_tokens_load(&t, path, &err));
	ASSERT_OK(lookup(t, "t1", &id));
	ASSERT_EQ(authn_tokens_reload(t, false, &err), 0);	/* unchanged */
	ASSERT_EQ(authn_tokens_reload(t, true, &err), 1);

	ASSERT_OK(write_file_atomic(path, "t2,u2,2,g\n", 10, 0600));	/* a new inode */
	ASSERT_EQ(authn_tokens_reload(t, false, &err), 1);
	ASSERT_EQ(lookup(t, "t1", &id), -ENOENT);
	ASSERT_OK(lookup(t, "t2", &id));
	ASSERT_STR_EQ(id.user, "u2");

	/* a broken file: an error, and the old table stays */
	ASSERT_OK(write_file_atomic(path, "t3,u3\n", 6, 0600));
	ASSERT_EQ(authn_tokens_reload(t, false, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "line 1") != NULL);
	ASSERT_OK(lookup(t, "t2", &id));
	ASSERT_EQ(lookup(t, "t3", &id), -ENOENT);
	authn_identity_release(&id);
	authn_tokens_free(t);
	free(path);
}

/* A client certificate for CN/O values, signed by a throwaway CA. */
static void client_cert(mbedtls_x509_crt *out, const char *cn, const char *const *orgs,
			size_t n)
{
	struct pki_cert_req req = { .cn = cn, .orgs = orgs, .n_orgs = n, .usage = PKI_USAGE_CLIENT };
	struct pki_err err = { "" };
	mbedtls_x509_crt ca;
	mbedtls_pk_context ca_key, key;

	mbedtls_x509_crt_init(&ca);
	mbedtls_pk_init(&ca_key);
	mbedtls_pk_init(&key);
	mbedtls_x509_crt_init(out);
	if (pki_ca_create(&ca, &ca_key, "ca", 0, &err) || pki_key_generate(&key, &err) ||
	    pki_cert_issue(out, &key, &req, &ca, &ca_key, &err))
		test_fail(__FILE__, __LINE__, "cert: %s", err.msg);
	mbedtls_x509_crt_free(&ca);
	mbedtls_pk_free(&ca_key);
	mbedtls_pk_free(&key);
}

static int hook_calls;
static int test_hook(void *ctx, const char *tok, size_t len, struct authn_identity *id)
{
	hook_calls++;
	if (len != 9 || memcmp(tok, "bootstrap", 9))
		return -ENOENT;
	id->user = xstrdup("system:bootstrap:abc");
	id->uid = xstrdup("");
	authn_identity_add_group(id, "system:bootstrappers");
	return 0;
}

TEST(authn_authenticate_certs_tokens_anonymous)
{
	static const char *const orgs[] = { "dev", "ops", "dev" };
	struct authn_tokens *t = parse_ok("tok-alice,alice,42,\"team\"\n");
	struct authn a = { .tokens = t, .hook = test_hook };
	struct authn_identity id = { 0 };
	mbedtls_x509_crt crt;
	struct authn_request r;

	client_cert(&crt, "carol", orgs, 3);

	/* a verified certificate: CN and O, plus system:authenticated */
	r = (struct authn_request){ .peer_cert = &crt };
	ASSERT_OK(authn_authenticate(&a, &r, &id));
	ASSERT_STR_EQ(id.user, "carol");
	ASSERT_STR_EQ(id.uid, "");
	ASSERT_GROUPS(&id, "dev|ops|system:authenticated");

	/* a certificate that failed verification is 401 even on open paths */
	r.peer_verify_flags = MBEDTLS_X509_BADCERT_NOT_TRUSTED;
	r.allow_anonymous = true;
	ASSERT_EQ(authn_authenticate(&a, &r, &id), -EACCES);
	ASSERT_NULL(id.user);
	/* ... unless another credential is good (upstream's union) */
	r.authorization = "Bearer tok-alice";
	ASSERT_OK(authn_authenticate(&a, &r, &id));
	ASSERT_STR_EQ(id.user, "alice");

	/* bearer tokens */
	r = (struct authn_request){ .authorization = "Bearer tok-alice" };
	ASSERT_OK(authn_authenticate(&a, &r, &id));
	ASSERT_STR_EQ(id.user, "alice");
	ASSERT_STR_EQ(id.uid, "42");
	ASSERT_GROUPS(&id, "team|system:authenticated");
	r.authorization = "  bearer tok-alice  ";
	ASSERT_OK(authn_authenticate(&a, &r, &id));
	r.authorization = "Bearer tok-alice extra";
	ASSERT_OK(authn_authenticate(&a, &r, &id));
	r.authorization = "Bearer bootstrap";
	ASSERT_OK(authn_authenticate(&a, &r, &id));
	ASSERT_STR_EQ(id.user, "system:bootstrap:abc");
	ASSERT_GROUPS(&id, "system:bootstrappers|system:authenticated");
	ASSERT_EQ(hook_calls, 1);
	r.authorization = "Bearer wrong";
	r.allow_anonymous = true;
	ASSERT_EQ(authn_authenticate(&a, &r, &id), -EACCES);

	/* no credentials: anonymous where the router allows it, else 401 */
	r = (struct authn_request){ .allow_anonymous = false };
	ASSERT_EQ(authn_authenticate(&a, &r, &id), -EACCES);
	r.allow_anonymous = true;
	ASSERT_OK(authn_authenticate(&a, &r, &id));
	ASSERT_STR_EQ(id.user, "system:anonymous");
	ASSERT_GROUPS(&id, "system:unauthenticated");
	r.authorization = "Basic YWxpY2U6cHc=";	/* not ours: no credentials */
	ASSERT_OK(authn_authenticate(&a, &r, &id));
	ASSERT_STR_EQ(id.user, "system:anonymous");
	r.authorization = "Bearer  tok-alice";	/* empty token: no credentials */
	ASSERT_OK(authn_authenticate(&a, &r, &id));
	ASSERT_STR_EQ(id.user, "system:anonymous");
	r.authorization = "Bearer";
	r.allow_anonymous = false;
	ASSERT_EQ(authn_authenticate(&a, &r, &id), -EACCES);

	ASSERT_TRUE(authn_path_is_public("/healthz"));
	ASSERT_TRUE(authn_path_is_public("/version/"));
	ASSERT_TRUE(authn_path_is_public("/readyz"));
	ASSERT_FALSE(authn_path_is_public("/healthz/etcd"));
	ASSERT_FALSE(authn_path_is_public("/api"));
	ASSERT_FALSE(authn_path_is_public("/metrics"));

	authn_identity_release(&id);
	mbedtls_x509_crt_free(&crt);
	authn_tokens_free(t);
}

TEST(authn_cert_without_cn_is_not_an_identity)
{
	struct authn_identity id = { 0 };
	mbedtls_x509_crt crt;

	/* pki refuses to issue without a CN; a subject with CN="" stands in */
	client_cert(&crt, "x", NULL, 0);
	ASSERT_OK(authn_identity_from_cert(&id, &crt));
	crt.subject.val.len = 0;	/* the parsed CN value, emptied */
	ASSERT_EQ(authn_identity_from_cert(&id, &crt), -ENOENT);
	mbedtls_x509_crt_free(&crt);
	authn_identity_release(&id);
}

static struct authn_identity ident(const char *user, const char *g1, const char *g2)
{
	struct authn_identity id = { .user = xstrdup(user), .uid = xstrdup("") };

	if (g1)
		authn_identity_add_group(&id, g1);
	if (g2)
		authn_identity_add_group(&id, g2);
	return id;
}

TEST(authz_masters_and_everyone_else)
{
	struct authn_identity admin = ident("system:admin", "system:masters", "system:authenticated");
	struct authn_identity bob = ident("bob", "dev", "system:authenticated");
	struct authn_identity anon = ident("system:anonymous", "system:unauthenticated", NULL);
	struct authz_attrs list_pods = { .verb = "list", .group = "", .resource = "pods",
					 .namespace = "default" };
	struct authz_attrs pod_status = { .verb = "update", .group = "", .resource = "pods",
					  .subresource = "status", .namespace = "a", .name = "p" };
	struct authz_attrs ssar = { .verb = "create", .group = "authorization.k8s.io",
				    .resource = "selfsubjectaccessreviews" };
	struct authz_attrs path = { .verb = "get", .path = "/healthz" };

	ASSERT_TRUE(authz_allowed(&admin, &list_pods));
	ASSERT_TRUE(authz_allowed(&admin, &pod_status));
	ASSERT_FALSE(authz_allowed(&bob, &list_pods));
	ASSERT_FALSE(authz_allowed(&bob, &pod_status));
	ASSERT_FALSE(authz_allowed(&anon, &list_pods));
	ASSERT_TRUE(authz_allowed(&bob, &ssar));
	ASSERT_FALSE(authz_allowed(&anon, &ssar));
	ssar.verb = "delete";
	ASSERT_FALSE(authz_allowed(&bob, &ssar));

	/* non-resource paths */
	ASSERT_TRUE(authz_allowed(&anon, &path));
	ASSERT_TRUE(authz_allowed(&bob, &path));
	path.path = "/version/";
	ASSERT_TRUE(authz_allowed(&anon, &path));
	path.path = "/healthz/etcd";
	ASSERT_FALSE(authz_allowed(&anon, &path));
	path.path = "/apis/apps/v1";
	ASSERT_FALSE(authz_allowed(&anon, &path));
	ASSERT_TRUE(authz_allowed(&bob, &path));
	path.path = "/api";
	ASSERT_TRUE(authz_allowed(&bob, &path));
	path.path = "/apix";
	ASSERT_FALSE(authz_allowed(&bob, &path));
	path.path = "/metrics";
	ASSERT_FALSE(authz_allowed(&bob, &path));
	ASSERT_TRUE(authz_allowed(&admin, &path));
	path.verb = "post";
	path.path = "/api";
	ASSERT_FALSE(authz_allowed(&bob, &path));

	authn_identity_release(&admin);
	authn_identity_release(&bob);
	authn_identity_release(&anon);
}

static void assert_msg(const char *file, int line, struct authn_identity *id,
		       struct authz_attrs a, const char *want)
{
	char *got = authz_forbidden_message(id, &a);

	if (strcmp(got, want))
		test_fail(file, line, "\n got: %s\nwant: %s", got, want);
	free(got);
}
#define ASSERT_MSG(id, a, want) assert_msg(__FILE__, __LINE__, (id), (a), (want))

TEST(authz_forbidden_messages_match_kube_apiserver)
{
	struct authn_identity x = ident("x", NULL, NULL);
	struct authn_identity anon = ident("system:anonymous", NULL, NULL);
	struct authn_identity odd = ident("a\"b<c>&\\\n\x01é", NULL, NULL);
	char *reason;

	ASSERT_MSG(&x, ((struct authz_attrs){ .verb = "list", .group = "", .resource = "pods",
					      .namespace = "default" }),
		   "pods is forbidden: User \"x\" cannot list resource \"pods\" in API group \"\" "
		   "in the namespace \"default\"");
	ASSERT_MSG(&x, ((struct authz_attrs){ .verb = "get", .group = "apps",
					      .resource = "deployments", .namespace = "default",
					      .name = "web" }),
		   "deployments.apps \"web\" is forbidden: User \"x\" cannot get resource "
		   "\"deployments\" in API group \"apps\" in the namespace \"default\"");
	ASSERT_MSG(&x, ((struct authz_attrs){ .verb = "list", .resource = "nodes" }),
		   "nodes is forbidden: User \"x\" cannot list resource \"nodes\" in API group "
		   "\"\" at the cluster scope");
	ASSERT_MSG(&x, ((struct authz_attrs){ .verb = "get", .group = "", .resource = "pods",
					      .subresource = "log", .namespace = "ns",
					      .name = "p" }),
		   "pods \"p\" is forbidden: User \"x\" cannot get resource \"pods/log\" in API "
		   "group \"\" in the namespace \"ns\"");
	ASSERT_MSG(&anon, ((struct authz_attrs){ .verb = "get", .path = "/api" }),
		   "forbidden: User \"system:anonymous\" cannot get path \"/api\"");
	ASSERT_MSG(&odd, ((struct authz_attrs){ .verb = "get", .path = "/" }),
		   "forbidden: User \"a\\\"b&lt;c&gt;&amp;\\\\\\n\\x01é\" cannot get path \"/\"");

	reason = authz_forbidden_reason(&x, &(struct authz_attrs){ .verb = "watch",
			.group = "", .resource = "secrets", .namespace = "kube-system" });
	ASSERT_STR_EQ(reason, "User \"x\" cannot watch resource \"secrets\" in API group \"\" "
		      "in the namespace \"kube-system\"");
	free(reason);
	authn_identity_release(&x);
	authn_identity_release(&anon);
	authn_identity_release(&odd);
}
