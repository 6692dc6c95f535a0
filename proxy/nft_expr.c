/*
 * proxy/nft_expr.c - the expressions of each rule shape (enum proxy__op)
 * with libnftnl, as nft itself would encode them, so that `nft list` prints
 * them back (see proxy_int.h for the shapes in nft syntax).
 *
 * Registers: concatenations use the 32-bit registers from NFT_REG32_00 with
 * every field padded to 4 bytes, as nft does; verdict maps write
 * NFT_REG_VERDICT.
 */
#include <stdio.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/rtnetlink.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include "proxy/proxy_int.h"

#define R0 NFT_REG32_00

static struct nftnl_expr *ex(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	nftnl_rule_add_expr(r, e);
	return e;
}

static void ex_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len, uint32_t reg)
{
	struct nftnl_expr *e = ex(r, "payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, reg);
}

static void ex_meta(struct nftnl_rule *r, uint32_t key, uint32_t reg, bool set)
{
	struct nftnl_expr *e = ex(r, "meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, set ? NFTNL_EXPR_META_SREG : NFTNL_EXPR_META_DREG, reg);
}

static void ex_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = ex(r, "cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, R0);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void ex_bitwise(struct nftnl_rule *r, const void *mask, const void *xor, uint32_t len)
{
	struct nftnl_expr *e = ex(r, "bitwise");

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, R0);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, R0);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
}

/* dreg: NFT_REG_VERDICT for a verdict map, a register for a data map, -1
 * for a set. */
static void ex_lookup(struct nftnl_rule *r, const char *set, int dreg)
{
	struct nftnl_expr *e = ex(r, "lookup");

	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, R0);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (dreg >= 0)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t)dreg);
}

static void ex_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = ex(r, "immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

static void ex_imm(struct nftnl_rule *r, uint32_t reg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = ex(r, "immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
}

/* fib {s,d}addr type local */
static void ex_fib_local(struct nftnl_rule *r, bool daddr)
{
	struct nftnl_expr *e = ex(r, "fib");
	uint32_t local = RTN_LOCAL;

	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, daddr ? NFTA_FIB_F_DADDR : NFTA_FIB_F_SADDR);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, R0);
	ex_cmp(r, NFT_CMP_EQ, &local, sizeof(local));
}

static void ex_l4proto(struct nftnl_rule *r, uint8_t proto)
{
	ex_meta(r, NFT_META_L4PROTO, R0, false);
	ex_cmp(r, NFT_CMP_EQ, &proto, 1);
}

/* Address field of the network header: saddr or daddr. */
static void ex_addr(struct nftnl_rule *r, int family, bool saddr, uint32_t reg)
{
	bool v6 = family == AF_INET6;
	uint32_t off = v6 ? (saddr ? 8 : 24) : (saddr ? 12 : 16);

	ex_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, v6 ? 16 : 4, reg);
}

/* ip saddr (!=|==) prefix */
static void ex_saddr_prefix(struct nftnl_rule *r, const struct inet_prefix *p, uint32_t op)
{
	uint32_t len = (uint32_t)inet_family_len(p->addr.family);
	uint8_t mask[16] = { 0 }, zero[16] = { 0 }, net[16];

	ex_addr(r, p->addr.family, true, R0);
	for (unsigned i = 0; i < len; i++) {
		unsigned bits = p->len > i * 8 ? p->len - i * 8 : 0;
		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);
		net[i] = p->addr.bytes[i] & mask[i];
	}
	if (p->len < len * 8)
		ex_bitwise(r, mask, zero, len);
	ex_cmp(r, op, net, len);
}

/* ip daddr != 127.0.0.0/8 (ip6 daddr != ::1) */
static void ex_not_loopback(struct nftnl_rule *r, int family)
{
	uint8_t lo[16] = { 0 }, mask[4] = { 0xff }, zero[4] = { 0 };
	bool v6 = family == AF_INET6;

	ex_addr(r, family, false, R0);
	if (!v6)
		ex_bitwise(r, mask, zero, 4);
	lo[v6 ? 15 : 0] = v6 ? 1 : 127;
	ex_cmp(r, NFT_CMP_NEQ, lo, v6 ? 16 : 4);
}

/* meta mark set meta mark & mask ^ xor */
static void ex_mark_set(struct nftnl_rule *r, uint32_t mask, uint32_t xor)
{
	ex_meta(r, NFT_META_MARK, R0, false);
	ex_bitwise(r, &mask, &xor, 4);
	ex_meta(r, NFT_META_MARK, R0, true);
}

static void ex_update_saddr(struct nftnl_rule *r, int family, const char *set)
{
	struct nftnl_expr *e;

	ex_addr(r, family, true, R0);
	e = ex(r, "dynset");
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, R0);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set);
}

/* numgen random mod <modulus> into R0 */
static void ex_numgen(struct nftnl_rule *r, uint32_t modulus)
{
	struct nftnl_expr *e = ex(r, "numgen");

	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, R0);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, modulus);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_OFFSET, 0);
}

static void ex_nat(struct nftnl_rule *r, int family, uint32_t addr_reg, uint32_t port_reg)
{
	struct nftnl_expr *e = ex(r, "nat");

	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, addr_reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, port_reg);
}

static void ex_dnat(struct nftnl_rule *r, const struct proxy__rule *ru)
{
	int fam = ru->prefix.addr.family;
	uint16_t port = htons(ru->port);
	uint32_t zero = 0;

	if (ru->op == PROXY__DNAT_STICKY) {
		ex_addr(r, fam, true, R0);
		ex_lookup(r, ru->set, -1);
	}
	if (ru->modulus) {
		ex_numgen(r, ru->modulus);
		ex_cmp(r, NFT_CMP_EQ, &zero, 4);
	}
	if (ru->set)
		ex_update_saddr(r, fam, ru->set);
	ex_l4proto(r, ru->proto);
	ex_imm(r, NFT_REG_1, ru->prefix.addr.bytes, (uint32_t)inet_family_len(fam));
	ex_imm(r, NFT_REG_2, &port, 2);
	ex_nat(r, fam, NFT_REG_1, NFT_REG_2);
}

/* The map gives address . port in consecutive 32-bit registers from R0. */
static void ex_dnat_map(struct nftnl_rule *r, int family, const struct proxy__rule *ru)
{
	ex_l4proto(r, ru->proto);
	ex_numgen(r, ru->modulus);
	ex_lookup(r, ru->set, R0);
	ex_nat(r, family, R0, R0 + (uint32_t)inet_family_len(family) / 4);
}

/* ct status dnat ip saddr . ip daddr @<set> jump <target> */
static void ex_hairpin(struct nftnl_rule *r, int family, const struct proxy__rule *ru)
{
	struct nftnl_expr *e = ex(r, "ct");
	uint32_t dnat = 0x20 /* IPS_DST_NAT */, z = 0;

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, R0);
	ex_bitwise(r, &dnat, &z, 4);
	ex_cmp(r, NFT_CMP_NEQ, &z, 4);
	ex_addr(r, family, true, R0);
	ex_addr(r, family, false, R0 + (uint32_t)inet_family_len(family) / 4);
	ex_lookup(r, ru->set, -1);
	ex_verdict(r, NFT_JUMP, ru->target);
}

static void ex_reject(struct nftnl_rule *r, int family, bool tcp)
{
	struct nftnl_expr *e;

	if (tcp)
		ex_l4proto(r, IPPROTO_TCP);
	e = ex(r, "reject");
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, tcp ? NFT_REJECT_TCP_RST : NFT_REJECT_ICMP_UNREACH);
	/* ICMP port unreachable is 3, ICMPv6 port unreachable 4 */
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, tcp ? 0 : family == AF_INET6 ? 4 : 3);
}

void proxy__rule_exprs(struct nftnl_rule *r, int family, const struct proxy__rule *ru)
{
	uint32_t al = (uint32_t)inet_family_len(family), ctnew = 8 /* IP_CT_NEW bit */, z = 0;
	uint32_t masq = PROXY_MASQ_MARK, node = PROXY_NODE_MARK;

	switch (ru->op) {
	case PROXY__JUMP: ex_verdict(r, NFT_JUMP, ru->target); break;
	case PROXY__GOTO: ex_verdict(r, NFT_GOTO, ru->target); break;
	case PROXY__DROP: ex_verdict(r, NF_DROP, NULL); break;
	case PROXY__SVC_VMAP:
		ex_addr(r, family, false, R0);
		ex_meta(r, NFT_META_L4PROTO, R0 + al / 4, false);
		ex_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, R0 + al / 4 + 1);
		ex_lookup(r, ru->target, NFT_REG_VERDICT);
		break;
	case PROXY__NP_VMAP:
	case PROXY__NP_MARKED_VMAP:
		if (ru->op == PROXY__NP_VMAP) {
			ex_fib_local(r, true);
			ex_not_loopback(r, family);
		} else {
			ex_meta(r, NFT_META_MARK, R0, false);
			ex_bitwise(r, &node, &z, 4);
			ex_cmp(r, NFT_CMP_EQ, &node, 4);
		}
		ex_meta(r, NFT_META_L4PROTO, R0, false);
		ex_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, R0 + 1);
		ex_lookup(r, ru->target, NFT_REG_VERDICT);
		break;
	case PROXY__NODE_MARK:
		ex_fib_local(r, true);
		ex_not_loopback(r, family);
		ex_mark_set(r, ~node, node);
		break;
	case PROXY__NODE_UNMARK: ex_mark_set(r, ~node, 0); break;
	case PROXY__CT_NEW_JUMP: {
		struct nftnl_expr *e = ex(r, "ct");
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, R0);
		ex_bitwise(r, &ctnew, &z, 4);
		ex_cmp(r, NFT_CMP_NEQ, &z, 4);
		ex_verdict(r, NFT_JUMP, ru->target);
		break;
	}
	case PROXY__SADDR_NOT_JUMP:
		ex_saddr_prefix(r, &ru->prefix, NFT_CMP_NEQ);
		ex_verdict(r, NFT_JUMP, ru->target);
		break;
	case PROXY__HAIRPIN_JUMP: ex_hairpin(r, family, ru); break;
	case PROXY__LOCAL_SRC_JUMP:
	case PROXY__LOCAL_SRC_GOTO:
		ex_fib_local(r, false);
		ex_verdict(r, ru->op == PROXY__LOCAL_SRC_JUMP ? NFT_JUMP : NFT_GOTO, ru->target);
		break;
	case PROXY__DNAT:
	case PROXY__DNAT_STICKY: ex_dnat(r, ru); break;
	case PROXY__DNAT_MAP: ex_dnat_map(r, family, ru); break;
	case PROXY__MARK_OR: ex_mark_set(r, ~masq, masq); break;
	case PROXY__MARK_XOR: ex_mark_set(r, 0xffffffffu, masq); break;
	case PROXY__UNMARKED_RETURN:
		ex_meta(r, NFT_META_MARK, R0, false);
		ex_bitwise(r, &masq, &z, 4);
		ex_cmp(r, NFT_CMP_EQ, &z, 4);
		ex_verdict(r, NFT_RETURN, NULL);
		break;
	case PROXY__MASQUERADE:
		nftnl_expr_set_u32(ex(r, "masq"), NFTNL_EXPR_MASQ_FLAGS, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
		break;
	case PROXY__REJECT_TCP: ex_reject(r, family, true); break;
	case PROXY__REJECT_ICMP: ex_reject(r, family, false); break;
	}
}

