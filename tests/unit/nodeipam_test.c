/* tests/unit/nodeipam_test.c - the node IPAM controller's subnet arithmetic. */
#include "test.h"
#include "server/controllers/ctrl_priv.h"

#include <errno.h>
#include <string.h>

TEST(nodeipam_parse_and_subnets)
{
	char buf[64];

	ASSERT_OK(nodeipam__parse("10.42.0.0/16,fd42::/56", 24, 64));
	nodeipam__subnet(0, 0, buf);
	ASSERT_STR_EQ("10.42.0.0/24", buf);
	nodeipam__subnet(0, 5, buf);
	ASSERT_STR_EQ("10.42.5.0/24", buf);
	nodeipam__subnet(0, 255, buf);
	ASSERT_STR_EQ("10.42.255.0/24", buf);
	nodeipam__subnet(1, 0, buf);
	ASSERT_STR_EQ("fd42::/64", buf);
	nodeipam__subnet(1, 3, buf);
	ASSERT_STR_EQ("fd42:0:0:3::/64", buf);
	ASSERT_EQ(5, nodeipam__index("10.42.5.0/24"));
	ASSERT_EQ(3, nodeipam__index("fd42:0:0:3::/64"));
	ASSERT_EQ(-1, nodeipam__index("10.43.5.0/24"));	/* outside */
	ASSERT_EQ(-1, nodeipam__index("10.42.5.0/25"));	/* another size */
	ASSERT_OK(nodeipam__parse("10.0.0.0/8", 26, 64));
	nodeipam__subnet(0, 5, buf);
	ASSERT_STR_EQ("10.0.1.64/26", buf);
	ASSERT_EQ(5, nodeipam__index("10.0.1.64/26"));
	ASSERT_EQ(-EINVAL, nodeipam__parse("10.42.0.0/16,10.44.0.0/16", 24, 64));
	ASSERT_EQ(-EINVAL, nodeipam__parse("10.42.0.0/24", 16, 64));
	ASSERT_EQ(-EINVAL, nodeipam__parse("nonsense", 24, 64));
	nodeipam__stop();
}
