#!/usr/bin/env bash
# Who may talk to k1s server: client certificates, bearer tokens from
# --token-auth-file, anonymous access to health only, and 403 with
# kube-apiserver's message for a user who is not a cluster admin.
. "$(dirname "$0")/cluster.sh"

tmpdir dir
cat > "$dir/tokens.csv" <<'T'
admintoken,alice,1001,"system:masters,devs"
usertoken,bob,1002,devs
T
server_start "$dir" --token-auth-file "$dir/tokens.csv" || { not_ok "server starts"; exit 1; }
code() { curl -s -o "$dir/body" -w '%{http_code}' --cacert "$TLS/server-ca.crt" "$@"; }

expect_eq "kubeconfig file mode is 0600" 600 "$(stat -c %a "$KUBECONFIG")"
expect_eq "server keys are 0600" 600 "$(stat -c %a "$TLS/serving-kube-apiserver.key")"
expect_eq "a master's token may list" 200 "$(code -H 'Authorization: Bearer admintoken' "$API/api/v1/namespaces")"
expect_eq "an unknown token is 401" 401 "$(code -H 'Authorization: Bearer nope' "$API/api/v1/namespaces")"
expect_eq "no credentials is 401" 401 "$(code "$API/api/v1/namespaces")"
expect_eq "no credentials may read /version" 200 "$(code "$API/version")"
expect_eq "no credentials may read /livez" 200 "$(code "$API/livez")"
expect_eq "another user is 403" 403 "$(code -H 'Authorization: Bearer usertoken' "$API/api/v1/namespaces/default/pods")"
check "403 says who and what, as upstream" grep -q 'pods is forbidden: User \\"bob\\" cannot list resource \\"pods\\" in API group \\"\\" in the namespace \\"default\\"' "$dir/body"
expect_eq "the admin client certificate works" 200 \
	"$(code --cert "$TLS/client-admin.crt" --key "$TLS/client-admin.key" "$API/api/v1/namespaces")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/rogue.key" \
	-out "$dir/rogue.crt" -subj "/CN=mallory/O=system:masters" -days 1 >/dev/null 2>&1
expect_eq "a certificate from another CA is 401" 401 \
	"$(code --cert "$dir/rogue.crt" --key "$dir/rogue.key" "$API/api/v1/namespaces")"
check "certificate SANs cover localhost and ::1" sh -c "openssl x509 -in $TLS/serving-kube-apiserver.crt -noout -text | grep -q 'DNS:localhost' && openssl x509 -in $TLS/serving-kube-apiserver.crt -noout -text | grep -q 'IP Address:0:0:0:0:0:0:0:1'"
expect_eq "kubectl over IPv6 loopback" "default" \
	"$(kubectl --kubeconfig "$KUBECONFIG" --server "https://[::1]:$PORT" get ns default -o jsonpath='{.metadata.name}')"
# reviews and impersonation (kubectl auth; kubectl 1.30 sends JSON bodies)
K130=/usr/lib/google-cloud-sdk/bin/kubectl.1.30
[ -x "$K130" ] || K130=kubectl
expect_eq "auth can-i for the admin" yes "$($K130 --kubeconfig "$KUBECONFIG" auth can-i list pods)"
expect_eq "auth can-i as another user" no "$($K130 --kubeconfig "$KUBECONFIG" auth can-i list pods --as=bob)"
check "auth whoami as another user with a group" sh -c "$K130 --kubeconfig $KUBECONFIG auth whoami --as=bob --as-group=devs | grep -q 'devs system:authenticated'"
$K130 --kubeconfig "$KUBECONFIG" get pods --as=bob > "$dir/out" 2>&1
check "impersonated requests are authorized as that user" grep -q 'User "bob" cannot list resource "pods"' "$dir/out"
expect_eq "a non-admin may not impersonate" 403 "$(code -H 'Authorization: Bearer usertoken' -H 'Impersonate-User: alice' "$API/api/v1/namespaces")"
r=$(code -H 'Authorization: Bearer admintoken' -H 'Content-Type: application/json' -X POST "$API/apis/authentication.k8s.io/v1/tokenreviews" -d '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"usertoken"}}')
expect_eq "TokenReview answers 201" 201 "$r"
check "TokenReview authenticates a token" grep -q '"username":"bob"' "$dir/body"
exit $_failed
