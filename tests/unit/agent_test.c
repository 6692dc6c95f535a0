/*
 * agent/: eviction thresholds, machine facts and agent_new() validation
 * (the API dialogue is covered by tests/e2e/agent.test.sh).
 */
#include "test.h"
#include "agent/node.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

TEST(agent_eviction_parse)
{
	struct node_eviction e;
	char *err = NULL;

	ASSERT_OK(node__eviction_parse(AGENT_DEFAULT_EVICTION_HARD, &e, &err));
	ASSERT_TRUE(e.set[SIG_MEMORY] && !e.percent[SIG_MEMORY]);
	ASSERT_EQ(e.value[SIG_MEMORY], 100 * 1024 * 1024);
	ASSERT_TRUE(e.percent[SIG_NODEFS]);
	ASSERT_EQ((int)e.pct[SIG_NODEFS], 10);
	ASSERT_EQ((int)e.pct[SIG_PID], 5);
	ASSERT_OK(node__eviction_parse("imagefs.available<15%", &e, &err));
	ASSERT_FALSE(e.set[SIG_NODEFS]);
	static const char *const bad[] = { "memory.free<1", "memory.available", "nodefs.available<101%",
					   "memory.available<lots", "pid.available<5%x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(node__eviction_parse(bad[i], &e, &err), -EINVAL);
		ASSERT_NOT_NULL(err);
		free(err);
		err = NULL;
	}
}

TEST(agent_pressure)
{
	struct node_facts f = { .mem_total = 1000, .mem_avail = 50, .fs_total = 100, .fs_avail = 20,
				.pid_max = 100, .pid_used = 97 };
	struct node_eviction e;
	char *err = NULL;

	ASSERT_OK(node__eviction_parse("memory.available<60,nodefs.available<10%,pid.available<5%", &e, &err));
	ASSERT_TRUE(node__pressure(&e, SIG_MEMORY, &f));
	ASSERT_FALSE(node__pressure(&e, SIG_NODEFS, &f));
	ASSERT_TRUE(node__pressure(&e, SIG_PID, &f));
	f.mem_avail = 60;
	ASSERT_FALSE(node__pressure(&e, SIG_MEMORY, &f));
	ASSERT_OK(node__eviction_parse("", &e, &err));
	ASSERT_FALSE(node__pressure(&e, SIG_PID, &f));
}

TEST(agent_facts)
{
	struct node_facts f;

	node__facts_load(&f, test_tmpdir());
	ASSERT_TRUE(f.cpu_milli >= 1000 || f.cpu_milli > 0);
	ASSERT_TRUE(f.mem_total > f.mem_avail && f.mem_avail > 0);
	ASSERT_TRUE(f.fs_total >= f.fs_avail && f.fs_total > 0);
	ASSERT_TRUE(f.pid_max > f.pid_used && f.pid_used > 0);
	ASSERT_TRUE(strlen(f.kernel) > 0);
	ASSERT_TRUE(strncmp(f.runtime, "runc://", 7) == 0);
}

TEST(agent_new_validates)
{
	static struct { const char *name, *ip, *label, *taint; } bad[] = {
		{ "Upper", NULL, NULL, NULL },
		{ "n1", "10.0.0.300", NULL, NULL },
		{ "n1", NULL, "novalue", NULL },
		{ "n1", NULL, NULL, "k=v:Sometimes" },
	};
	struct agent_config c;
	struct agent *a = NULL;
	char *err = NULL, *dir = xasprintf("%s/agent", test_tmpdir());

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		agent_config_init(&c);
		c.kubeconfig = "/nonexistent";
		c.data_dir = dir;
		c.node_name = bad[i].name;
		if (bad[i].ip)
			c.node_ip.v = &bad[i].ip, c.node_ip.n = 1;
		if (bad[i].label)
			c.node_label.v = &bad[i].label, c.node_label.n = 1;
		if (bad[i].taint)
			c.node_taint.v = &bad[i].taint, c.node_taint.n = 1;
		ASSERT_EQ(agent_new(&c, &a, &err), -EINVAL);
		ASSERT_NOT_NULL(err);
		free(err);
	}
	agent_config_init(&c);
	c.kubeconfig = "/nonexistent";
	c.data_dir = dir;
	c.node_name = "n1";
	ASSERT_OK(agent_new(&c, &a, &err));
	ASSERT_STR_EQ(agent_node_name(a), "n1");
	agent_free(a);
	free(dir);
}
