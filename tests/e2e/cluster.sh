# tests/e2e/cluster.sh - start and stop k1s servers for end-to-end tests.
#
#   server_start DIR [FLAGS...]   start `k1s server --disable-agent` with data in
#                                 DIR on a free port; sets PORT, KUBECONFIG, API
#                                 and registers the stop with on_exit
#   kc ARGS...                    kubectl against that server
#   api METHOD PATH [CURL ARGS]   curl as admin; prints "CODE BODY"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

free_port() {
	local p
	for _ in $(seq 50); do
		# below the ephemeral range (32768-60999 by default): a port a client
		# connection happens to use locally passes the connect test but not bind
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return; fi
	done
	return 1
}

server_start() {
	local dir=$1; shift
	PORT=$(free_port)
	KUBECONFIG=$dir/kubeconfig.yaml
	export KUBECONFIG
	API=https://127.0.0.1:$PORT
	"$K1S" server --disable-agent --data-dir "$dir" --https-listen-port "$PORT" \
		--write-kubeconfig "$KUBECONFIG" --ready-file "$dir/ready" "$@" \
		> "$dir/server.log" 2>&1 &
	SERVER_PID=$!
	on_exit "kill -9 $SERVER_PID; wait $SERVER_PID"
	on_exit "[ \$_failed = 0 ] || { echo '# server log (tail):'; tail -n 40 '$dir/server.log' | sed 's/^/# /'; }"
	if ! poll 20 test -f "$dir/ready"; then
		echo "server did not become ready; log:"; tail -n 30 "$dir/server.log"
		return 1
	fi
	TLS=$dir/server/tls
}

server_stop() {
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
}

kc() { kubectl --kubeconfig "$KUBECONFIG" "$@"; }

api() {
	local method=$1 path=$2; shift 2
	curl -sS -o /tmp/k1s-api-body.$$ -w '%{http_code}' --cacert "$TLS/server-ca.crt" \
		--cert "$TLS/client-admin.crt" --key "$TLS/client-admin.key" \
		-X "$method" "$API$path" "$@"
	echo " $(cat /tmp/k1s-api-body.$$)"
	rm -f /tmp/k1s-api-body.$$
}

# node_netns NS DIR CGROUP: the network namespace NS of a one-node cluster
# whose containers (runc root DIR/runc), shims, mounts under DIR and cgroups
# named CGROUP are removed on exit, even after a failure; lo is up.
# nx CMD... runs CMD in $NS (host mount namespace).
node_netns() {
	local ns=$1 d=$2 cg=$3
	ip netns add "$ns" || return 1
	on_exit "ip netns del $ns"
	on_exit "for c in /sys/fs/cgroup/*/$cg; do [ -d \"\$c\" ] && find \"\$c\" -depth -type d -exec rmdir {} \\; ; done"
	on_exit "grep ' $d' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l"
	on_exit "for id in \$(runc --root $d/runc list -q 2>/dev/null); do runc --root $d/runc delete -f \$id; done"
	on_exit "for p in \$(pgrep -f 'k1s shim $d/'); do kill -9 \$p; done"
	nsenter --net="/run/netns/$ns" ip link set lo up
}
nx() { nsenter --net=/run/netns/"$NS" "$@"; }
