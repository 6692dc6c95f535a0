/* YAML documents, config files under flags, join tokens. */
#include "test.h"
#include "lib/flags.h"
#include "lib/pki.h"
#include "lib/util.h"
#include "lib/yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(yaml_typed_and_strings)
{
	const char *y = "a: 1\nb: \"1\"\nc: true\nd: ~\ne: [x, 0x10, 2.5]\nf: |\n  text\n---\n---\nk: v\n";
	char *err = NULL;
	cJSON *docs, *d;

	ASSERT_OK(yaml_load_all(y, strlen(y), YAML_TYPED, &docs, &err));
	ASSERT_EQ(cJSON_GetArraySize(docs), 2);	/* the empty document is skipped */
	d = cJSON_GetArrayItem(docs, 0);
	ASSERT_TRUE(cJSON_IsNumber(cJSON_GetObjectItem(d, "a")));
	ASSERT_TRUE(cJSON_IsString(cJSON_GetObjectItem(d, "b")));
	ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(d, "c")));
	ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(d, "d")));
	ASSERT_EQ(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "e"), 1)->valueint, 16);
	ASSERT_STR_EQ(cJSON_GetObjectItem(d, "f")->valuestring, "text\n");
	cJSON_Delete(docs);
	ASSERT_OK(yaml_load(y, strlen(y), YAML_STRINGS, &d, &err));
	ASSERT_STR_EQ(cJSON_GetObjectItem(d, "a")->valuestring, "1");
	cJSON_Delete(d);
	ASSERT_EQ(yaml_load("a: [", 4, YAML_TYPED, &d, &err), -EINVAL);
	ASSERT_TRUE(err && strstr(err, "line"));
	free(err);
}

TEST(flags_config_precedence)
{
	char *path = xasprintf("%s/c.yaml", test_tmpdir());
	const char *cfg = "name: fromfile\nport: 7\nlabel: [a=1, b=2]\nsan: [x, y]\ndis: true\n";
	const char *name = NULL, *san = NULL, *config = NULL;
	int64_t port = 0;
	bool dis = false;
	struct flag_list labels = { 0 };
	const struct flag fl[] = {
		{ "config", FLAG_STR, &config, "", "T_CONFIG" },
		{ "name", FLAG_STR, &name, "", "T_NAME" },
		{ "port", FLAG_INT, &port, "", NULL },
		{ "label", FLAG_LIST, &labels, "", NULL },
		{ "san", FLAG_STR, &san, "", NULL },
		{ "dis", FLAG_BOOL, &dis, "", NULL },
		FLAG_END
	};
	char *argv[] = { "--config", path, "--label", "c=3", "--port=9" };
	char **args;
	int nargs;

	ASSERT_OK(write_file_atomic(path, cfg, strlen(cfg), 0600));
	setenv("T_NAME", "fromenv", 1);
	ASSERT_OK(flags_parse_config("t", NULL, fl, 5, argv, &args, &nargs, NULL));
	ASSERT_STR_EQ(name, "fromenv");		/* env over file */
	ASSERT_EQ(port, 9);			/* flag over file */
	ASSERT_EQ(labels.n, 1);			/* the command line replaces the file's list */
	ASSERT_STR_EQ(labels.v[0], "c=3");
	ASSERT_STR_EQ(san, "x,y");
	ASSERT_TRUE(dis);
	free(args);
	flag_list_release(&labels);
	unsetenv("T_NAME");

	const char *bad = "nope: 1\n";
	ASSERT_OK(write_file_atomic(path, bad, strlen(bad), 0600));
	ASSERT_EQ(flags_parse_config("t", NULL, fl, 2, argv, &args, &nargs, NULL), -EINVAL);
	char *missing[] = { "--config=/nonexistent/k1s.yaml" };
	ASSERT_EQ(flags_parse_config("t", NULL, fl, 1, missing, &args, &nargs, NULL), -EINVAL);
	/* an absent default file is fine; "--config=" means no file at all */
	char *none[] = { "--config=" };
	ASSERT_OK(flags_parse_config("t", NULL, fl, 1, none, &args, &nargs, path));
	free(args);
	ASSERT_OK(flags_parse_config("t", NULL, fl, 0, none, &args, &nargs, "/nonexistent/k1s.yaml"));
	free(args);
	free(path);
}

TEST(join_token_split)
{
	const char *h, *c;
	char tok[200];

	snprintf(tok, sizeof(tok), "K10%064d::server:abc", 7);
	ASSERT_OK(pki_token_split(tok, &h, &c));
	ASSERT_TRUE(h == tok + 3);
	ASSERT_STR_EQ(c, "server:abc");
	ASSERT_OK(pki_token_split("abcdef.0123456789abcdef", &h, &c));
	ASSERT_TRUE(h == NULL);
	ASSERT_EQ(pki_token_split("K10abc::x", &h, &c), -EINVAL);
	snprintf(tok, sizeof(tok), "K10%064d::", 7);
	ASSERT_EQ(pki_token_split(tok, &h, &c), -EINVAL);
	snprintf(tok, sizeof(tok), "K10%064d:x", 7);
	ASSERT_EQ(pki_token_split(tok, &h, &c), -EINVAL);
}
