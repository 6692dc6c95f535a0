#!/usr/bin/env bash
# tests/e2e/registry.test.sh - image pulls from registries, end to end: Debian's
# docker-registry (plain HTTP, TLS with a test CA, htpasswd basic auth) and a
# small python3 fake v2 registry with a bearer-token server (distribution's
# own token auth wants JWTs signed by a certificate chain: the fake covers the
# WWW-Authenticate: Bearer challenge flow instead), all on 127.0.0.1 inside
# the test's network namespace, test images pushed with skopeo. The cluster is
# `k1s server` with its embedded agent in that namespace, as in pods.test.sh.
#
# Cases: `k1s images pull` with progress; pods pulling anonymously over HTTP
# (policy Always for :latest), through a mirror, over TLS (ca_file), with
# basic auth (registries.yaml), with a bearer token (imagePullSecrets), two
# pods of one image sharing one pull; a
# wrong password -> ErrImagePull then ImagePullBackOff; policy Never with a
# missing image -> ErrImageNeverPull; evil layers ("../" entry, a write
# through a symlink to "/") refused with an event naming the entry and
# nothing written outside the layer root.
. "$(dirname "$0")/cluster.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v runc >/dev/null || ! ip netns list >/dev/null 2>&1 ||
	! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null ||
	! command -v htpasswd >/dev/null || [ ! -x /bin/busybox ]; then
	ok "registry # skip: needs root, runc, ip netns, docker-registry, skopeo, htpasswd, busybox"
	exit 0
fi

NS=k1s-t-reg$$
CG=k1s-t-reg$$
EVIL=/tmp/k1s-evil-$$
tmpdir D
mkdir -p "$D/img" "$D/agent"
bash "$(dirname "$0")/../images/build.sh" "$D/img" >/dev/null || { not_ok "test images build"; exit 1; }

on_exit "rm -f $EVIL"
node_netns "$NS" "$D" "$CG" || { not_ok "netns"; exit 1; }

# ---- registries ----
P1=$(free_port); P2=$(free_port); P3=$(free_port); P4=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-keyout "$D/ca.key" -out "$D/ca.crt" -subj /CN=k1s-test-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$D/reg.key" \
	-out "$D/reg.csr" -subj /CN=127.0.0.1 2>/dev/null
openssl x509 -req -in "$D/reg.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial -days 1 \
	-out "$D/reg.crt" -extfile <(printf 'subjectAltName=IP:127.0.0.1\n') 2>/dev/null
htpasswd -Bbc "$D/htpasswd" alice s3cret 2>/dev/null
registry() { # NAME PORT [EXTRA CONFIG YAML]
	printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp:\n  addr: 127.0.0.1:%s\n%s\n' \
		"$D/$1" "$2" "${3:-}" > "$D/$1.yml"
	nsenter --net=/run/netns/"$NS" docker-registry serve "$D/$1.yml" > "$D/$1.log" 2>&1 &
	on_exit "kill $!"	# nsenter execs: this is the registry
}
registry plain "$P1"
registry tls "$P2" "  tls: {certificate: $D/reg.crt, key: $D/reg.key}"
registry basic "$P3" "auth: {htpasswd: {realm: k1s-test, path: $D/htpasswd}}"
nx skopeo copy -q docker-archive:"$D/img/busybox.tar" dir:"$D/bbdir" >/dev/null
nsenter --net=/run/netns/"$NS" python3 - "$D/bbdir" "$P4" > "$D/fake.log" 2>&1 <<'EOF' &
import base64, http.server, json, os, sys, time, urllib.parse
root, port = sys.argv[1], sys.argv[2]
TOKEN = 'k1s-test-token'
manifest_gets = {}    # repo -> count, read back at /count/<repo>
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, code, body, ctype='application/json', extra={}):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        for k, v in extra.items(): self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        if u.path.startswith('/count/'):
            return self.send(200, str(manifest_gets.get(u.path[7:], 0)).encode())
        if u.path == '/token':
            q = urllib.parse.parse_qs(u.query)
            good = 'Basic ' + base64.b64encode(b'bob:hunter2').decode()
            if self.headers.get('Authorization') != good or q.get('scope') != ['repository:test/busybox:pull'] \
                    or q.get('service') != ['fake']:
                return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
            return self.send(200, json.dumps({'token': TOKEN}).encode())
        if self.headers.get('Authorization') != 'Bearer ' + TOKEN:
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                             extra={'WWW-Authenticate': 'Bearer realm="http://127.0.0.1:%s/token",service="fake",'
                                    'scope="repository:test/busybox:pull"' % port})
        repo = u.path.split('/')[3] if u.path.startswith('/v2/test/') else ''
        if repo == 'slowgone':
            time.sleep(5)   # a slow registry that has not got the image
        if repo in ('busybox', 'slow') and '/manifests/' in u.path:
            manifest_gets[repo] = manifest_gets.get(repo, 0) + 1
            m = open(os.path.join(root, 'manifest.json'), 'rb').read()
            return self.send(200, m, json.loads(m)['mediaType'])
        if repo in ('busybox', 'slow') and '/blobs/sha256:' in u.path:
            f = os.path.join(root, os.path.basename(u.path.split(':', 1)[1]))
            if repo == 'slow':
                time.sleep(2)   # pulls of it overlap
            if os.path.exists(f):
                return self.send(200, open(f, 'rb').read(), 'application/octet-stream')
        self.send(404, b'{"errors":[{"code":"NOT_FOUND","message":"not found"}]}')
http.server.ThreadingHTTPServer(('127.0.0.1', int(port)), H).serve_forever()
EOF
on_exit "kill $!"
up() { nx curl -sk -o /dev/null "$1"; }
check "registries listen" poll 10 eval "up http://127.0.0.1:$P1/v2/ && up https://127.0.0.1:$P2/v2/ && up http://127.0.0.1:$P3/v2/ && up http://127.0.0.1:$P4/v2/"

# The evil images: one layer whose second entry climbs out of the layer root
# ("../"), or is written through a symlink to "/" (evil2).
evil_image() { # OUT KIND
python3 - "$1" "$EVIL" "$2" <<'EOF'
import hashlib, io, json, sys, tarfile
out, target, kind = sys.argv[1], sys.argv[2], sys.argv[3]
def tarbytes(entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode='w', format=tarfile.GNU_FORMAT) as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name); ti.mode = 0o644
            if isinstance(data, str):
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return b.getvalue()
if kind == 'dotdot':
    layer = tarbytes([('ok.txt', b'fine\n'), ('../../../../../../../..' + target, b'escaped\n')])
else:
    layer = tarbytes([('root', '/'), ('root' + target, b'escaped\n')])
diff = 'sha256:' + hashlib.sha256(layer).hexdigest()
cfg = json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {},
                  'rootfs': {'type': 'layers', 'diff_ids': [diff]}}).encode()
man = json.dumps([{'Config': 'config.json', 'RepoTags': ['evil:v1'], 'Layers': ['layer.tar']}]).encode()
with open(out, 'wb') as f:
    f.write(tarbytes([('manifest.json', man), ('config.json', cfg), ('layer.tar', layer)]))
EOF
}
evil_image "$D/evil.tar" dotdot
evil_image "$D/evil2.tar" symlink
push() { nx skopeo copy -q --dest-tls-verify=false "$@" >/dev/null 2>&1; }
check "push test images (skopeo)" eval "
	push docker-archive:$D/img/busybox.tar docker://127.0.0.1:$P1/test/busybox:v1 &&
	push docker-archive:$D/img/busybox.tar docker://127.0.0.1:$P1/test/busybox:latest &&
	push docker-archive:$D/evil.tar docker://127.0.0.1:$P1/test/evil:v1 &&
	push docker-archive:$D/evil2.tar docker://127.0.0.1:$P1/test/evil2:v1 &&
	push docker-archive:$D/img/busybox.tar docker://127.0.0.1:$P2/test/busybox:v1 &&
	push --dest-creds alice:s3cret docker-archive:$D/img/busybox.tar docker://127.0.0.1:$P3/test/busybox:v1"

cat > "$D/registries.yaml" <<EOF
mirrors:
  "127.0.0.1:$P1":
    endpoint: ["http://127.0.0.1:$P1"]
  "mirror.k1s.test:5000":
    endpoint: ["http://127.0.0.1:$P1"]
  "127.0.0.1:$P3":
    endpoint: ["http://127.0.0.1:$P3"]
  "127.0.0.1:$P4":
    endpoint: ["http://127.0.0.1:$P4"]
configs:
  "127.0.0.1:$P2":
    tls: {ca_file: "$D/ca.crt"}
  "127.0.0.1:$P3":
    auth: {username: alice, password: s3cret}
EOF
export K1S_REGISTRIES_CONFIG=$D/registries.yaml

# ---- k1s images pull ----
out=$(nx "$K1S" images --data-dir "$D/cli" pull "127.0.0.1:$P1/test/busybox:v1" 2>&1)
check "images pull shows per-layer progress in bytes" eval "echo '$out' | grep -Eq 'sha256:[0-9a-f]{12}: pull complete \(.*[0-9]+ bytes\)'"
check "images pull: the image is in the store" eval "'$K1S' images --data-dir '$D/cli' ls | grep -q '127.0.0.1:$P1/test/busybox *v1'"
out=$(nx "$K1S" images --data-dir "$D/cli" pull "127.0.0.1:$P1/test/busybox:v1" 2>&1)
check "a second pull reuses the layer" eval "echo '$out' | grep -q 'already exists'"
out=$(nx "$K1S" images --data-dir "$D/cli" pull "127.0.0.1:$P1/test/nothere:v1" 2>&1); rc=$?
check "a missing image: exit 1 with one error line" eval "[ $rc = 1 ] && [ \$(echo '$out' | grep -c .) = 1 ] && echo '$out' | grep -q '^error: .*404 Not Found'"

# ---- the cluster ----
PORT=$(free_port)
KUBECONFIG=$D/kubeconfig.yaml
on_exit "! grep -q -e Sanitizer -e 'runtime error' $D/server.log ||
	{ echo 'not ok - sanitizer report in the server or agent log'; grep -A25 -e Sanitizer -e 'runtime error' $D/server.log | head -50 | sed 's/^/# /'; }"
nx ip link add up0 type veth peer name up1
nx ip addr add 192.168.78.2/24 dev up0
nx ip link set up0 up
nx ip link set up1 up
nx ip route add default dev up0
nsenter --net=/run/netns/"$NS" "$K1S" server --data-dir "$D" --https-listen-port "$PORT" \
	--write-kubeconfig "$KUBECONFIG" --node-ip 192.168.78.2 \
	--cluster-cidr 10.42.0.0/16 --service-cidr 10.43.0.0/16 \
	--agent-arg=--runc-root="$D/runc" --agent-arg=--cgroup-parent=/$CG \
	--agent-arg=--pod-backoff-min=2000 >> "$D/server.log" 2>&1 &
SERVER_PID=$!
on_exit "kill $SERVER_PID; wait $SERVER_PID; for p in \$(pgrep -f 'k1s agent .*--data-dir $D/agent'); do kill -9 \$p; done"
on_exit "[ \$_failed = 0 ] || { echo '# server log (tail):'; grep -v ' I' '$D/server.log' | tail -n 30 | sed 's/^/# /'; }"
kc() { nx kubectl --kubeconfig "$KUBECONFIG" "$@"; }
NODE=$(hostname | tr 'A-Z' 'a-z')
node_ready() { [ "$(kc get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
check "node Ready" poll 30 node_ready

pod() { # NAME IMAGE [EXTRA CONTAINER YAML] [EXTRA SPEC YAML]
	printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  terminationGracePeriodSeconds: 1\n%s\n  containers:\n  - name: c\n    image: %s\n    command: [sleep, "3600"]\n%s\n' \
		"$1" "${4:-}" "$2" "${3:-}" | kc apply -f - >/dev/null
}
kc create secret docker-registry good --docker-server="127.0.0.1:$P4" \
	--docker-username=bob --docker-password=hunter2 >/dev/null
kc create secret docker-registry bad --docker-server="127.0.0.1:$P4" \
	--docker-username=bob --docker-password=wrong >/dev/null
pod anon "127.0.0.1:$P1/test/busybox"
pod mirror "mirror.k1s.test:5000/test/busybox:v1"
pod tls "127.0.0.1:$P2/test/busybox:v1"
pod basic "127.0.0.1:$P3/test/busybox:v1"
pod bearer "127.0.0.1:$P4/test/busybox:v1" "" "  imagePullSecrets: [{name: good}]"
pod wrongpw "127.0.0.1:$P4/test/busybox:v1" "    imagePullPolicy: Always" "  imagePullSecrets: [{name: bad}]"
pod never "127.0.0.1:$P1/test/absent:v1" "    imagePullPolicy: Never"
pod dup1 "127.0.0.1:$P4/test/slow:v1" "" "  imagePullSecrets: [{name: good}]"
pod dup2 "127.0.0.1:$P4/test/slow:v1" "" "  imagePullSecrets: [{name: good}]"
pod evil "127.0.0.1:$P1/test/evil:v1"
pod evil2 "127.0.0.1:$P1/test/evil2:v1"

running() { [ "$(kc get pod "$1" -o jsonpath='{.status.phase}')" = Running ]; }
check "anonymous over plain HTTP (:latest, policy Always): Running" poll 30 running anon
check "through a mirror: Running" poll 20 running mirror
check "TLS with the test CA (ca_file): Running" poll 20 running tls
check "htpasswd basic auth (registries.yaml): Running" poll 20 running basic
check "bearer token with imagePullSecrets: Running" poll 20 running bearer
events() { kc get events --field-selector involvedObject.name="$1" -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}'; }
check "Pulling and Pulled events" eval "events anon | grep -q '^Pulling: Pulling image \"127.0.0.1:$P1/test/busybox\"' &&
	events anon | grep -Eq '^Pulled: Successfully pulled image \"127.0.0.1:$P1/test/busybox\" in [0-9.]+m?s \([0-9.]+m?s including waiting\)'"
expect_eq "imagePullPolicy defaulted Always for no tag" Always \
	"$(kc get pod anon -o jsonpath='{.spec.containers[0].imagePullPolicy}')"

check "same image, same secrets: both pods Running" poll 30 eval "running dup1 && running dup2"
check "both waited for a pull (Pulling events)" eval "events dup1 | grep -q ^Pulling: && events dup2 | grep -q ^Pulling:"
expect_eq "... and there was one pull (manifest GETs)" 1 "$(nx curl -s http://127.0.0.1:$P4/count/slow)"

reason() { kc get pod "$1" -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}'; }
column() { kc get pod "$1" --no-headers | awk '{print $3}'; }
check "wrong password: ErrImagePull" poll 20 eval "events wrongpw | grep -q '^Failed: Error: ErrImagePull'"
check "then ImagePullBackOff in kubectl get pod" poll 20 eval "[ \"\$(column wrongpw)\" = ImagePullBackOff ]"
check "wrong password: Failed event with the registry's answer" eval "events wrongpw | grep -q 'Failed: Failed to pull image.*401 Unauthorized: unauthorized: bad credentials'"
check "BackOff event" eval "events wrongpw | grep -q '^BackOff: Back-off pulling image'"
check "policy Never with a missing image: ErrImageNeverPull" poll 15 eval "[ \"\$(reason never)\" = ErrImageNeverPull ]"
check "evil layer: ErrImagePull" poll 20 eval "reason evil | grep -Eq 'ErrImagePull|ImagePullBackOff'"
check "evil layer: the event names the offending entry" eval "events evil | grep -q \"Failed: Failed to pull image.*entry '\.\./\.\./.*k1s-evil-$$' points outside the layer\""
check "symlink-escape layer: the event names the entry" poll 20 eval "events evil2 | grep -q \"Failed: Failed to pull image.*entry 'root$EVIL' would be written through a symlink\""
check "evil layer: nothing written outside the layer root" eval "[ ! -e $EVIL ] && ! find $D -name 'k1s-evil-*' | grep -q ."
check "evil layer: no layer directory left for it" eval "! ls $D/agent/images/layers | grep -q tmp-"

pod slowgone "127.0.0.1:$P4/test/slowgone:v1" "" "  imagePullSecrets: [{name: good}]"
check "a slow pull: ContainerCreating in kubectl get pod while it runs" poll 4 eval "[ \"\$(column slowgone)\" = ContainerCreating ]"
check "... then ErrImagePull once it fails" poll 20 eval "reason slowgone | grep -Eq 'ErrImagePull|ImagePullBackOff'"
check "... after a Pulling event" eval "events slowgone | grep -q '^Pulling: Pulling image'"

[ $_failed = 0 ] || { kc get pods; kc get events -o jsonpath='{range .items[*]}{.involvedObject.name} {.reason}: {.message}{"\n"}{end}' | tail -n 40; } 2>&1 | sed 's/^/# /'
kc delete pod --all --wait=false >/dev/null 2>&1
gone() { [ -z "$(kc get pods -o name)" ]; }
check "pods deleted" poll 30 gone
exit $_failed
