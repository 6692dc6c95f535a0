/*
 * agent/join.h - joining a cluster with a token: `k1s agent --server URL
 * --token TOKEN` (server/join.h has the other side).
 *
 * agent_join() runs before the agent starts (blocking, its own private
 * loop per request):
 *  1. GET <server>/cacerts without verifying the server (nothing is trusted
 *     yet), and compare the SHA-256 of the PEM bytes with the token's K10
 *     hash; a mismatch stops here. A token without the K10 part trusts the
 *     CA on first use, with a warning.
 *  2. Generate two P-256 keys and POST their public halves to
 *     <server>/v1-k1s/join with the token's credential as bearer token, now
 *     verifying the server against that CA.
 *  3. Store under <data-dir>:
 *       kubeconfig                 server, CA, node client cert + key (0600)
 *       tls/serving-kubelet.{crt,key}  the kubelet serving certificate
 *       tls/client-ca.crt          CA of the clients the kubelet API trusts
 *       tls/server-ca.crt          the cluster CA
 * An unreachable server (or a 5xx answer) is retried with a backoff from
 * AGENT_JOIN_BACKOFF_MIN_MS doubling to _MAX_MS, one log line per try; a
 * wrong CA hash, a refused token or a bad answer fails at once (retrying
 * cannot fix them).
 * On later starts the stored kubeconfig is reused while its certificate
 * has more than AGENT_JOIN_RENEW_DAYS left and names the same server; else
 * the agent joins again (renewal) with the token.
 */
#ifndef K1S_AGENT_JOIN_H
#define K1S_AGENT_JOIN_H

#define AGENT_JOIN_RENEW_DAYS 30
#define AGENT_JOIN_TIMEOUT_MS 15000	/* per request */
#define AGENT_JOIN_BACKOFF_MIN_MS 1000	/* first retry of an unreachable server */
#define AGENT_JOIN_BACKOFF_MAX_MS 30000

struct agent_join_opts {
	const char *server;	/* https://host:port */
	const char *token;	/* K10<hash>::<credential>, or a bare credential */
	const char *data_dir;	/* agent data dir */
	const char *node_name;
	const char *const *addresses;	/* node IPs for the serving certificate */
	unsigned n_addresses;
	unsigned max_wait_ms;	/* give up once the backoff passes this; 0 = never */
};

/*
 * Joins (or re-uses the stored credentials). 0 and the malloc'd path of the
 * kubeconfig to use in *kubeconfig, or -errno with a one-line malloc'd
 * message in *err (wrong CA hash, refused token, unreachable server...).
 */
int agent_join(const struct agent_join_opts *o, char **kubeconfig, char **err);

/*
 * The join step of `k1s agent --server URL --token T | --token-file F`:
 * reads the token from token_file when token is NULL (trailing whitespace
 * trimmed, wiped after use), joins as c->node_name (default: the host name)
 * with c's data dir and node IPs, then points c->kubeconfig at the result
 * (malloc'd into *kubeconfig, the caller frees it after c) and
 * c->join_server at server. 0, or -errno with a one-line malloc'd message
 * in *err.
 */
struct agent_config;
int agent_join_from_flags(struct agent_config *c, const char *server, const char *token,
			  const char *token_file, char **kubeconfig, char **err);

/*
 * Renews the certificates of the kubeconfig at kc_path (authenticating with
 * its node certificate) when it has renew_days or less left. 1 when nothing
 * was due, 0 renewed (files rewritten), or -errno with *err. Blocks for one
 * request (AGENT_JOIN_TIMEOUT_MS at most). The running agent then swaps the
 * new credentials into its client (api_client_set_credentials): no restart.
 */
int agent_join_renew(const struct agent_join_opts *o, const char *kc_path, unsigned renew_days,
		     char **err);

#endif
