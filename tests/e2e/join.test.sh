#!/usr/bin/env bash
# tests/e2e/join.test.sh - agents joining with tokens, bootstrap tokens, and
# the node authorizer, with the real kubectl.
#
# The server and the agents run inside a network namespace this test makes
# (agents reach the server on the namespace's loopback), each agent with its
# own data dir. Everything is removed on exit, even after a failure.
. "$(dirname "$0")/cluster.sh"

if [ "$(id -u)" -ne 0 ] || ! ip netns list >/dev/null 2>&1; then
	ok "join # skip: needs root and ip netns"
	exit 0
fi

NS=k1s-t-join$$
tmpdir D
ip netns add "$NS" || { not_ok "netns"; exit 1; }
on_exit "ip netns del $NS"
nx() { nsenter --net=/run/netns/"$NS" "$@"; }
nx ip link set lo up

PORT=$(free_port)
KUBECONFIG=$D/admin.yaml
URL=https://127.0.0.1:$PORT
nsenter --net=/run/netns/"$NS" "$K1S" server --disable-agent --data-dir "$D/s" --https-listen-port "$PORT" \
	--write-kubeconfig "$KUBECONFIG" --ready-file "$D/ready" > "$D/server.log" 2>&1 &
SERVER_PID=$!	# nsenter execs k1s: this is the server
on_exit "kill $SERVER_PID; wait $SERVER_PID"
on_exit "[ \$_failed = 0 ] || { echo '# server log (tail):'; tail -n 20 '$D/server.log' | sed 's/^/# /'; }"
poll 20 test -f "$D/ready" || { not_ok "server ready"; exit 1; }
kc() { nx kubectl --kubeconfig "$KUBECONFIG" "$@"; }

AGENTS=()
agent() { # NAME DATA-DIR [FLAGS...]: start an agent in the background
	local name=$1 dir=$2; shift 2
	nsenter --net=/run/netns/"$NS" "$K1S" agent --server "$URL" --data-dir "$dir" --node-name "$name" \
		--lease-renew-interval 1000 --disable-pods --disable-dns --network-backend none "$@" > "$dir.log" 2>&1 &
	AGENTS+=($!)
	on_exit "kill -9 $!"
}
join_err() { # NAME DATA-DIR TOKEN: run a join that must fail; prints its error line
	nx timeout 20 "$K1S" agent --server "$URL" --data-dir "$2" --node-name "$1" --token "$3" 2>&1 |
		grep error: | tail -n 1
}

# ---- the cluster token ----
TOK=$(cat "$D/s/server/token")
HASH=$(sha256sum < "$D/s/server/tls/server-ca.crt" | cut -d' ' -f1)
check "token file is K10<CA sha256>::server:<secret>" \
	grep -qE "^K10${HASH}::server:[0-9a-f]{32}$" "$D/s/server/token"
expect_eq "/cacerts serves the CA the hash covers" "$HASH" \
	"$(nx curl -sk "$URL/cacerts" | sha256sum | cut -d' ' -f1)"
expect_eq "token file mode 0600" 600 "$(stat -c %a "$D/s/server/token")"

agent a1 "$D/a1" --token "$TOK"
ready() { [ "$(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
check "an agent joins with the token and its node becomes Ready" poll 20 ready a1
check "the agent keeps a node kubeconfig and a kubelet serving certificate" \
	test -s "$D/a1/kubeconfig" -a -s "$D/a1/tls/serving-kubelet.crt" -a -s "$D/a1/tls/serving-kubelet.key"
expect_eq "its client certificate is system:node:a1 in system:nodes" "subject=O = system:nodes, CN = system:node:a1" \
	"$(grep client-certificate-data "$D/a1/kubeconfig" | awk '{print $2}' | base64 -d | openssl x509 -noout -subject)"

BADSECRET=${TOK%::*}::server:0123456789abcdef0123456789abcdef
BADHASH=K10$(printf '%064d' 0)::${TOK#*::}
case "$(join_err x1 "$D/x1" "$BADSECRET")" in
*"refused to join node 'x1': 401 Unauthorized"*) ok "a wrong token is refused (401)";;
*) not_ok "a wrong token is refused (401)" "$(join_err x1 "$D/x1" "$BADSECRET")";;
esac
case "$(join_err x2 "$D/x2" "$BADHASH")" in
*"does not match the token's CA hash"*) ok "a wrong CA hash is refused before sending the token";;
*) not_ok "a wrong CA hash is refused" "$(join_err x2 "$D/x2" "$BADHASH")";;
esac
expect_fail "a malformed token exits 1" 1 nx "$K1S" agent --server "$URL" --data-dir "$D/x3" --token K10xyz::a
case "$(join_err a1 "$D/a1-again" "$TOK")" in
*"node \"a1\" is running"*) ok "a second machine cannot take a live node's name (409)";;
*) not_ok "a live node's name is protected" "$(join_err a1 "$D/a1-again" "$TOK")";;
esac
# an unreachable server: one line per try, retried with backoff
nx timeout 4 "$K1S" agent --server https://127.0.0.1:1 --data-dir "$D/x4" --node-name x4 --token "$TOK" > "$D/x4.log" 2>&1
check "an unreachable server is retried with a clear message" \
	grep -q "cannot reach https://127.0.0.1:1/cacerts: Connection refused; retrying in 1 s" "$D/x4.log"

agent a3 "$D/a3" --token "${TOK#*::server:}"
check "a bare secret joins too (CA trusted on first use)" poll 20 ready a3
check "... with a warning saying so" grep -q "has no K10 CA hash; trusting the CA" "$D/a3.log"

# ---- certificate renewal while running ----
agent r1 "$D/r1" --token "$TOK" --cert-renew-days 400 --cert-check-interval 1000
check "an agent set to renew joins" poll 20 ready r1
serial() { grep client-certificate-data "$D/r1/kubeconfig" | awk '{print $2}' | base64 -d | openssl x509 -noout -serial; }
rpid() { pgrep -f "agent --server $URL --data-dir $D/r1 " | head -n 1; }
s1=$(serial); p1=$(rpid)
renewed() { [ "$(serial)" != "$s1" ] && grep -q "renewed the node certificates of 'r1'" "$D/r1.log"; }
check "the agent renews its certificates while running" poll 15 renewed
renew_time() { kc -n kube-node-lease get lease r1 -o jsonpath='{.spec.renewTime}'; }
t1=$(renew_time)
check "... and keeps heart-beating with them" poll 10 bash -c "[ \"\$(nsenter --net=/run/netns/$NS kubectl --kubeconfig '$KUBECONFIG' -n kube-node-lease get lease r1 -o jsonpath='{.spec.renewTime}')\" != '$t1' ]"
expect_eq "... without a restart" "$p1" "$(rpid)"

# ---- bootstrap tokens ----
BT=$(nx "$K1S" token create --kubeconfig "$KUBECONFIG" --ttl 1h --description e2e)
check "k1s token create prints a K10 bootstrap token" grep -qE "^K10${HASH}::[a-z0-9]{6}\.[a-z0-9]{16}$" <<<"$BT"
BID=$(sed -E 's/.*::([a-z0-9]{6})\..*/\1/' <<<"$BT")
check "k1s token list shows it" bash -c "nsenter --net=/run/netns/$NS '$K1S' token list --kubeconfig '$KUBECONFIG' | grep -q '^$BID .*join *e2e'"
agent b1 "$D/b1" --token "$BT"
check "an agent joins with a bootstrap token" poll 20 ready b1
check "k1s token delete" nx "$K1S" token delete --kubeconfig "$KUBECONFIG" "$BID"
case "$(join_err b2 "$D/b2" "$BT")" in
*"401 Unauthorized"*) ok "a deleted bootstrap token is refused";;
*) not_ok "a deleted bootstrap token is refused" "$(join_err b2 "$D/b2" "$BT")";;
esac
expect_fail "token create rejects a bad --ttl" 2 nx "$K1S" token create --kubeconfig "$KUBECONFIG" --ttl 5x

# ---- node authorization ----
A1=$D/a1/kubeconfig
ka1() { nx kubectl --kubeconfig "$A1" "$@"; }
kc create secret generic used --from-literal=k=v >/dev/null
kc create secret generic other --from-literal=k=v >/dev/null
kc apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: on-a1}
spec:
  nodeName: a1
  containers: [{name: c, image: busybox:test, env: [{name: X, valueFrom: {secretKeyRef: {name: used, key: k}}}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: on-b1}
spec:
  nodeName: b1
  containers: [{name: c, image: busybox:test}]
Y
check "a node reads the secret its pod uses" ka1 get secret used
deny() { # NAME CMD...: must be refused with 403 Forbidden
	local out
	out=$("${@:2}" 2>&1) && { not_ok "$1" "allowed"; return; }
	case "$out" in *orbidden*) ok "$1";; *) not_ok "$1" "$out";; esac
}
deny "a node cannot read a secret no pod of it uses" ka1 get secret other
deny "a node cannot list secrets" ka1 get secrets
deny "a node cannot modify another node" ka1 label node b1 x=y
deny "a node cannot update another node's pod status" ka1 patch pod on-b1 --subresource=status -p '{"status":{"phase":"Failed"}}'
deny "a node cannot delete another node's pod" ka1 delete pod on-b1 --wait=false
deny "a node cannot create namespaces" ka1 create namespace nope
check "a node may label its own Node" ka1 label node a1 seen=yes
check "a node may update its own pod's status" ka1 patch pod on-a1 --subresource=status -p '{"status":{"message":"hi"}}'
check "a node reads pods and services" ka1 get pods,services -A
for n in a1 b1; do
	printf -- '---\napiVersion: v1\nkind: PersistentVolume\nmetadata: {name: lv-%s, annotations: {k1s.io/node: %s}}\nspec: {capacity: {storage: 1Mi}, accessModes: [ReadWriteOnce], csi: {driver: k1s.io/local, volumeHandle: lv-%s}}\n' $n $n $n
done | kc apply -f - >/dev/null
pv_settled() { [ "$(kc get pv lv-a1 lv-b1 -o jsonpath='{.items[*].status.phase} {.items[*].metadata.finalizers[*]}')" = "Available Available kubernetes.io/pv-protection kubernetes.io/pv-protection" ]; }
check "the PV controller settles new volumes (Available, pv-protection)" poll 10 pv_settled
check "a node may annotate its own local volume" ka1 annotate pv lv-a1 k1s.io/size=1048576
deny "a node cannot annotate another node's local volume" ka1 annotate pv lv-b1 k1s.io/size=1048576
check "a node lists VolumeSnapshotContents" ka1 get volumesnapshotcontents

[ "$_failed" = 0 ]
