#!/usr/bin/env bash
# tests/e2e/install.test.sh - install.sh into fresh roots, with no init system:
# a server, an agent joining it with the token from another "machine", and
# both uninstalled without a trace.
#
# Each machine is a network namespace plus a mount and a UTS namespace (its
# host name is the node name) in which /etc,
# /usr/local, /var and /run are overlays whose upper layers live on a tmpfs
# of this test: whatever install.sh and k1s write lands there, never on the
# host, and "nothing left behind" is checked by listing those upper layers
# (plus links, nft tables, mounts and processes inside the namespaces).
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! ip netns list >/dev/null 2>&1 || ! command -v unshare >/dev/null; then
	ok "install # skip: needs root, ip netns and unshare"
	exit 0
fi
SRC=$(cd "$(dirname "$0")/../.." && pwd)
tmpdir D
HOLDERS=()

# machine NAME: netns + mount ns held by a sleeper; sets ${NAME}_PID
machine() {
	local name=$1 ns=k1s-t-inst-$1-$$
	ip netns add "$ns" || return 1
	on_exit "ip netns del $ns"
	mkdir -p "$D/$name"
	nsenter --net=/run/netns/"$ns" unshare -m -u --propagation private sh -c '
		set -e
		D=$1
		mount -t tmpfs tmpfs "$D"
		for d in etc usr/local var run; do
			k=$(echo $d | tr / _)
			mkdir -p "$D/up-$k" "$D/wk-$k"
			mount -t overlay overlay -o "lowerdir=/$d,upperdir=$D/up-$k,workdir=$D/wk-$k" "/$d"
		done
		mkdir -p /var/lib/k1s && mount -t tmpfs tmpfs /var/lib/k1s
		ip link set lo up
		hostname "$2"
		exec sleep 100000' sh "$D/$name" "$name" &
	local pid=$!
	on_exit "kill -9 $pid"
	poll 5 grep -q "/var/lib/k1s" /proc/$pid/mounts || return 1
	# whatever a failed uninstall leaves in the machine goes too
	local mns
	mns=$(readlink /proc/$pid/ns/mnt)
	on_exit "for p in \$(pgrep -f '/usr/local/bin/k1s|install.sh'); do [ \"\$(readlink /proc/\$p/ns/mnt)\" = '$mns' ] && kill -9 \$p; done"
	printf -v "${name}_PID" '%s' "$pid"
	printf -v "${name}_NS" '%s' "$ns"
}
in_m() { local pid=$1; shift; nsenter -t "$pid" -m -n -u "$@"; }
# what a machine shows of k1s: files in the overlay uppers, links, tables, mounts, processes
trace() {
	local pid=$1 dir=$2
	in_m "$pid" sh -c "cd '$dir' && find up-* \( -type f -o -type l \)" | sort
	in_m "$pid" ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | sort
	in_m "$pid" nft list tables 2>/dev/null | sort
	awk '{print $2}' "/proc/$pid/mounts" | grep -E '^/(var/lib/k1s|run/k1s)/' | sort
	pgrep -f '^/usr/local/bin/k1s ' | while read -r p; do
		[ "$(readlink /proc/$p/ns/net)" = "$(readlink /proc/$pid/ns/net)" ] && echo "process $p"
	done
}

machine srv || { not_ok "server machine"; exit 1; }
machine agt || { not_ok "agent machine"; exit 1; }
# a "LAN" between the two machines
ip link add vi-inst$$ type veth peer name vj-inst$$
ip link set vi-inst$$ netns "$srv_NS"
ip link set vj-inst$$ netns "$agt_NS"
in_m "$srv_PID" ip addr add 10.77.0.1/24 dev vi-inst$$
in_m "$srv_PID" ip link set vi-inst$$ up
in_m "$agt_PID" ip addr add 10.77.0.2/24 dev vj-inst$$
in_m "$agt_PID" ip link set vj-inst$$ up
BEFORE_SRV=$(trace "$srv_PID" "$D/srv")
BEFORE_AGT=$(trace "$agt_PID" "$D/agt")

# ---- server ----
out=$(in_m "$srv_PID" env INSTALL_K1S_SKIP_DOWNLOAD=true \
	INSTALL_K1S_EXEC="server --node-ip 10.77.0.1" sh "$SRC/install.sh" 2>&1)
check "install.sh installs a server with no init system" grep -q "started k1s in the background" <<<"$out"
check "the binary is in /usr/local/bin" in_m "$srv_PID" test -x /usr/local/bin/k1s
check "killall and uninstall scripts are written" in_m "$srv_PID" test -x /usr/local/bin/k1s-killall.sh -a -x /usr/local/bin/k1s-uninstall.sh
kcs() { in_m "$srv_PID" kubectl --kubeconfig /etc/k1s/k1s.yaml "$@"; }
check "the server answers kubectl" poll 30 kcs get --raw /readyz
ready() { [ "$(kcs get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
check "kubectl get nodes shows the server's node Ready" poll 30 ready srv
check "what was installed shows in the machine's trace" grep -q "^up-usr_local/bin/k1s$" <<<"$(trace "$srv_PID" "$D/srv")"
out=$(in_m "$srv_PID" env INSTALL_K1S_SKIP_DOWNLOAD=true \
	INSTALL_K1S_EXEC="server --node-ip 10.77.0.1" sh "$SRC/install.sh" 2>&1)
check "re-running with nothing changed does not restart" grep -q "nothing changed" <<<"$out"
TOKEN=$(in_m "$srv_PID" cat /var/lib/k1s/server/token)

# ---- agent on the other machine, joining with the token ----
out=$(in_m "$agt_PID" env INSTALL_K1S_SKIP_DOWNLOAD=true K1S_URL=https://10.77.0.1:6443 K1S_TOKEN="$TOKEN" \
	INSTALL_K1S_EXEC="agent --node-ip 10.77.0.2" sh "$SRC/install.sh" 2>&1)
check "install.sh installs an agent" grep -q "started k1s-agent in the background" <<<"$out"
check "the agent joins with the token and its node is Ready" poll 30 ready agt
check "the agent has its uninstall script" in_m "$agt_PID" test -x /usr/local/bin/k1s-agent-uninstall.sh
expect_eq "the token is kept 0600 in /etc/k1s" 600 "$(in_m "$agt_PID" stat -c %a /etc/k1s/k1s-agent.env)"
bad=$(in_m "$agt_PID" env K1S_URL=http://x sh "$SRC/install.sh" 2>&1)
check "a non-https K1S_URL is refused" grep -q "K1S_URL must start with https://" <<<"$bad"

# ---- download path: checksum verified (files served on the machine's loopback) ----
mkdir -p "$D/rel/v9"
cp "$SRC/build/k1s" "$D/rel/v9/k1s-amd64"
(cd "$D/rel/v9" && sha256sum k1s-amd64 > sha256sum-amd64.txt)
in_m "$srv_PID" python3 -m http.server -b 127.0.0.1 18999 -d "$D/rel" >/dev/null 2>&1 &
on_exit "kill $!"
poll 10 in_m "$srv_PID" curl -sf http://127.0.0.1:18999/v9/sha256sum-amd64.txt
if [ "$(uname -m)" = x86_64 ]; then
	out=$(in_m "$srv_PID" env INSTALL_K1S_DOWNLOAD_URL=http://127.0.0.1:18999 INSTALL_K1S_VERSION=v9 \
		INSTALL_K1S_SKIP_START=true INSTALL_K1S_EXEC="server --node-ip 10.77.0.1" sh "$SRC/install.sh" 2>&1)
	check "a download with a matching checksum installs" grep -q "downloading k1s v9" <<<"$out"
	echo "0000  k1s-amd64" > "$D/rel/v9/sha256sum-amd64.txt"
	out=$(in_m "$srv_PID" env INSTALL_K1S_DOWNLOAD_URL=http://127.0.0.1:18999 INSTALL_K1S_VERSION=v9 \
		INSTALL_K1S_SKIP_START=true sh "$SRC/install.sh" 2>&1)
	check "a checksum mismatch is refused" grep -q "checksum mismatch for k1s-amd64" <<<"$out"
fi

# ---- uninstall: nothing left ----
in_m "$agt_PID" /usr/local/bin/k1s-agent-uninstall.sh >/dev/null 2>&1
in_m "$srv_PID" /usr/local/bin/k1s-uninstall.sh >/dev/null 2>&1
sleep 6	# longer than the supervisor's restart delay: nothing may come back
expect_eq "agent uninstall leaves nothing behind" "$BEFORE_AGT" "$(trace "$agt_PID" "$D/agt")"
expect_eq "server uninstall leaves nothing behind" "$BEFORE_SRV" "$(trace "$srv_PID" "$D/srv")"

[ "$_failed" = 0 ]
