/*
 * Unit tests of the registry client's configuration (images/registry_config.c):
 * registries.yaml mirrors and configs, the endpoint order, credentials from
 * pull secrets and from configs. The pull itself is tested against a fake
 * registry in registry_pull_test.c and a real one in tests/e2e/registry.test.sh.
 */
#include "test.h"
#include "../../images/registry_int.h"
#include "../../lib/util.h"

#include <errno.h>
#include <string.h>

static struct img_registries *load(const char *yaml)
{
	char *path = xasprintf("%s/registries.yaml", test_tmpdir()), *err = NULL;
	struct img_registries *r = NULL;

	if (yaml)
		write_file_atomic(path, yaml, strlen(yaml), 0600);
	if (img_registries_load(path, &r, &err)) {
		fprintf(stderr, "load: %s\n", err);
		img_registries_free(r);
		r = NULL;
	}
	free(err);
	free(path);
	return r;
}

static const char *yaml =
	"mirrors:\n"
	"  docker.io:\n"
	"    endpoint: [\"https://m1.example:5000\", \"http://m2.example/v2\"]\n"
	"  \"127.0.0.1:5000\":\n"
	"    endpoint: [\"http://127.0.0.1:5000\"]\n"
	"  \"*\":\n"
	"    endpoint: [\"http://any.example\"]\n"
	"configs:\n"
	"  \"m1.example:5000\":\n"
	"    auth: {username: u1, password: p1}\n"
	"    tls: {ca_file: /x/ca.crt, insecure_skip_verify: true}\n"
	"  \"127.0.0.1:5000\":\n"
	"    auth: {auth: dTI6cDI=}\n";	/* base64("u2:p2") */

TEST(registry_mirrors_then_the_registry_itself)
{
	struct img_registries *r = load(yaml);
	struct reg_endpoint *e;
	size_t n;

	ASSERT_NOT_NULL(r);
	ASSERT_OK(reg__endpoints(r, NULL, "docker.io", &e, &n));
	ASSERT_EQ(n, 3);
	ASSERT_STR_EQ(e[0].base, "https://m1.example:5000");
	ASSERT_STR_EQ(e[0].auth.user, "u1");
	ASSERT_STR_EQ(e[0].auth.pass, "p1");
	ASSERT_STR_EQ(e[0].ca_file, "/x/ca.crt");
	ASSERT_TRUE(e[0].insecure);
	ASSERT_STR_EQ(e[1].base, "http://m2.example");
	ASSERT_TRUE(e[1].plain);
	ASSERT_NULL(e[1].auth.user);
	ASSERT_STR_EQ(e[2].base, "https://registry-1.docker.io");
	reg__endpoints_free(e, n);
	img_registries_free(r);
}

TEST(registry_mirror_of_itself_is_not_tried_twice)
{
	struct img_registries *r = load(yaml);
	struct reg_endpoint *e;
	size_t n;

	ASSERT_OK(reg__endpoints(r, NULL, "127.0.0.1:5000", &e, &n));
	ASSERT_EQ(n, 1);
	ASSERT_STR_EQ(e[0].base, "http://127.0.0.1:5000");
	ASSERT_STR_EQ(e[0].auth.user, "u2");
	ASSERT_STR_EQ(e[0].auth.pass, "p2");
	reg__endpoints_free(e, n);
	ASSERT_OK(reg__endpoints(r, NULL, "quay.io", &e, &n));	/* the "*" mirror */
	ASSERT_EQ(n, 2);
	ASSERT_STR_EQ(e[0].base, "http://any.example");
	ASSERT_STR_EQ(e[1].base, "https://quay.io");
	reg__endpoints_free(e, n);
	img_registries_free(r);
}

TEST(registry_pull_secrets_win_over_configs)
{
	struct img_registries *r = load(yaml);
	cJSON *auths = cJSON_Parse("{\"https://index.docker.io/v1/\":{\"auth\":\"czpw\"},"
				   "\"http://127.0.0.1:5000\":{\"username\":\"s2\",\"password\":\"q\"}}");
	struct reg_endpoint *e;
	size_t n;

	ASSERT_OK(reg__endpoints(r, auths, "docker.io", &e, &n));
	for (size_t i = 0; i < n; i++) {	/* keyed by the image's registry */
		ASSERT_STR_EQ(e[i].auth.user, "s");
		ASSERT_STR_EQ(e[i].auth.pass, "p");
	}
	reg__endpoints_free(e, n);
	ASSERT_OK(reg__endpoints(r, auths, "127.0.0.1:5000", &e, &n));
	ASSERT_STR_EQ(e[0].auth.user, "s2");
	reg__endpoints_free(e, n);
	cJSON_Delete(auths);
	img_registries_free(r);
}

TEST(registry_config_missing_file_is_empty_bad_yaml_fails)
{
	struct img_registries *r = load(NULL);
	struct reg_endpoint *e;
	char *path, *err = NULL;
	size_t n;

	ASSERT_NOT_NULL(r);
	ASSERT_OK(reg__endpoints(r, NULL, "ghcr.io", &e, &n));
	ASSERT_EQ(n, 1);
	ASSERT_STR_EQ(e[0].base, "https://ghcr.io");
	ASSERT_NULL(e[0].auth.user);
	reg__endpoints_free(e, n);
	img_registries_free(r);
	path = xasprintf("%s/bad.yaml", test_tmpdir());
	write_file_atomic(path, "mirrors: [\n", 11, 0600);
	ASSERT_EQ(img_registries_load(path, &r, &err), -EINVAL);
	ASSERT_TRUE(strstr(err, "bad.yaml") != NULL);
	free(err);
	free(path);
	img_registries_free(r);
}

TEST(registry_host_key)
{
	const char *cases[][2] = {
		{ "https://index.docker.io/v1/", "docker.io" },
		{ "registry-1.docker.io", "docker.io" },
		{ "http://127.0.0.1:5000/", "127.0.0.1:5000" },
		{ "ghcr.io", "ghcr.io" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *k = reg__host_key(cases[i][0]);

		ASSERT_STR_EQ(k, cases[i][1]);
		free(k);
	}
}
