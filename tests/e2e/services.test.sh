#!/usr/bin/env bash
# Service IP families and allocation (dual-stack, as kube-apiserver does it),
# node ports, and the kubernetes Service — against k1s server alone.
. "$(dirname "$0")/cluster.sh"

tmpdir dir
server_start "$dir" || { not_ok "server starts"; exit 1; }
reason() { echo "$1" | sed 's/^[0-9]* //' | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("code"), d.get("reason"))'; }
svc() { # svc NAME SPEC-JSON -> "CODE BODY"
	api POST /api/v1/namespaces/default/services -H 'Content-Type: application/json' \
		-d "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$1\"},\"spec\":$2}"
}
get() { kc get svc "$1" -o jsonpath="$2"; }

expect_eq "kubernetes service has the first IP" "10.43.0.1 443 $PORT" \
	"$(get kubernetes '{.spec.clusterIP} {.spec.ports[0].port} {.spec.ports[0].targetPort}')"
check "kubernetes EndpointSlice exists" kc get endpointslice kubernetes -n default

svc plain '{"selector":{"app":"a"},"ports":[{"port":80}]}' >/dev/null
expect_eq "default: SingleStack IPv4 from the service CIDR" "SingleStack IPv4 10.43." \
	"$(get plain '{.spec.ipFamilyPolicy} {.spec.ipFamilies[0]} {.spec.clusterIP}' | cut -c1-30 | sed 's/\(10\.43\.\).*/\1/')"
expect_eq "targetPort defaults to port" 80 "$(get plain '{.spec.ports[0].targetPort}')"

svc dual '{"ipFamilyPolicy":"PreferDualStack","selector":{"app":"a"},"ports":[{"port":80}]}' >/dev/null
expect_eq "PreferDualStack gets two IPs, IPv4 first" "IPv4 IPv6 2" \
	"$(get dual '{.spec.ipFamilies[0]} {.spec.ipFamilies[1]} {.spec.clusterIPs}' | awk '{print $1, $2, gsub(/,/,",")+1}')"
check "second IP is in fd43::/112" sh -c "kubectl --kubeconfig $KUBECONFIG get svc dual -o jsonpath='{.spec.clusterIPs[1]}' | grep -q '^fd43::'"

svc six '{"ipFamilyPolicy":"RequireDualStack","ipFamilies":["IPv6","IPv4"],"selector":{"app":"a"},"ports":[{"port":80}]}' >/dev/null
check "RequireDualStack [IPv6,IPv4]: clusterIP is IPv6" sh -c "kubectl --kubeconfig $KUBECONFIG get svc six -o jsonpath='{.spec.clusterIP}' | grep -q '^fd43::'"

svc headless '{"clusterIP":"None","ports":[{"port":80}]}' >/dev/null
expect_eq "headless without selector: RequireDualStack, both families" "RequireDualStack IPv4 IPv6 None" \
	"$(get headless '{.spec.ipFamilyPolicy} {.spec.ipFamilies[0]} {.spec.ipFamilies[1]} {.spec.clusterIP}')"

r=$(svc fixed '{"clusterIP":"10.43.0.50","ports":[{"port":80}]}')
expect_eq "requested clusterIP is granted" "10.43.0.50" "$(get fixed '{.spec.clusterIP}')"
r=$(svc fixed2 '{"clusterIP":"10.43.0.50","ports":[{"port":80}]}')
expect_eq "an allocated IP is refused" "422 Invalid" "$(reason "$r")"
check "message says already allocated" sh -c "echo '$r' | grep -q 'provided IP is already allocated'"
r=$(svc outside '{"clusterIP":"10.99.0.1","ports":[{"port":80}]}')
expect_eq "an IP outside the range is refused" "422 Invalid" "$(reason "$r")"
r=$(svc bad '{"ipFamilyPolicy":"SingleStack","ipFamilies":["IPv4","IPv6"],"ports":[{"port":80}]}')
expect_eq "SingleStack with two families is refused" "422 Invalid" "$(reason "$r")"

# upgrade and downgrade keep the primary IP
primary=$(get plain '{.spec.clusterIP}')
check "upgrade SingleStack -> PreferDualStack" kc patch svc plain -p '{"spec":{"ipFamilyPolicy":"PreferDualStack"}}'
expect_eq "upgrade adds the secondary IP, primary unchanged" "$primary 2" \
	"$(get plain '{.spec.clusterIPs[0]} {.spec.clusterIPs}' | awk '{print $1, gsub(/,/,",")+1}')"
check "downgrade to SingleStack" kc patch svc plain -p '{"spec":{"ipFamilyPolicy":"SingleStack"}}'
expect_eq "downgrade removes the secondary IP" "$primary 1 IPv4" \
	"$(get plain '{.spec.clusterIPs[0]} {.spec.clusterIPs} {.spec.ipFamilies}' | awk '{print $1, gsub(/,/,",")+1, $3}' | tr -d '[]"')"
r=$(api PATCH /api/v1/namespaces/default/services/plain -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"clusterIP":"10.43.0.77","clusterIPs":["10.43.0.77"]}}')
expect_eq "the primary IP is immutable" "422 Invalid" "$(reason "$r")"

# node ports
svc np '{"type":"NodePort","selector":{"app":"a"},"ports":[{"port":80},{"port":81,"nodePort":30080}]}' >/dev/null
np=$(get np '{.spec.ports[0].nodePort}')
check "a node port is allocated in 30000-32767" test "$np" -ge 30000 -a "$np" -le 32767
expect_eq "a requested node port is kept" 30080 "$(get np '{.spec.ports[1].nodePort}')"
r=$(svc np2 '{"type":"NodePort","ports":[{"port":80,"nodePort":30080}]}')
expect_eq "a node port in use is refused" "422 Invalid" "$(reason "$r")"
r=$(svc np3 '{"type":"NodePort","ports":[{"port":80,"nodePort":80}]}')
expect_eq "a node port outside the range is refused" "422 Invalid" "$(reason "$r")"
check "NodePort -> ClusterIP clears node ports" kc patch svc np -p '{"spec":{"type":"ClusterIP"}}'
expect_eq "node ports gone" "" "$(get np '{.spec.ports[*].nodePort}')"
if poll 5 sh -c "curl -s -o /dev/null -w '%{http_code}' --cacert $TLS/server-ca.crt --cert $TLS/client-admin.crt --key $TLS/client-admin.key -X POST -H 'Content-Type: application/json' $API/api/v1/namespaces/default/services -d '{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"np4\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30080}]}}' | grep -q 201"; then
	ok "a released node port can be taken again"
else
	not_ok "a released node port can be taken again"
fi
check "delete a service" kc delete svc fixed
if poll 5 sh -c "curl -s -o /dev/null -w '%{http_code}' --cacert $TLS/server-ca.crt --cert $TLS/client-admin.crt --key $TLS/client-admin.key -X POST -H 'Content-Type: application/json' $API/api/v1/namespaces/default/services -d '{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"fixed3\"},\"spec\":{\"clusterIP\":\"10.43.0.50\",\"ports\":[{\"port\":80}]}}' | grep -q 201"; then
	ok "a deleted service's IP can be taken again"
else
	not_ok "a deleted service's IP can be taken again"
fi
r=$(api POST "/api/v1/namespaces/default/services?dryRun=All" -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"dry"},"spec":{"clusterIP":"10.43.0.60","ports":[{"port":80}]}}')
r=$(svc dry2 '{"clusterIP":"10.43.0.60","ports":[{"port":80}]}')
expect_eq "a dry run allocates nothing" "201" "${r%% *}"

# EndpointSlice validation (seed feature: IPv6 address in an IPv4 slice is a 422 naming the field)
eps() { api POST /apis/discovery.k8s.io/v1/namespaces/default/endpointslices -H 'Content-Type: application/json' -d "$1"; }
r=$(eps '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"bad4"},"addressType":"IPv4","endpoints":[{"addresses":["fd00::1"]}]}')
expect_eq "an IPv6 address in an IPv4 slice is 422" "422 Invalid" "$(reason "$r")"
echo "$r" > "$dir/eps.json"
check "naming endpoints[0].addresses[0]" grep -q 'endpoints\[0\]\.addresses\[0\]: Invalid value: \\"fd00::1\\": must be a valid IPv4 address' "$dir/eps.json"
r=$(eps '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"noaddr"},"addressType":"IPv6","endpoints":[{"addresses":[]}]}')
expect_eq "an endpoint without addresses is 422" "422 Invalid" "$(reason "$r")"
r=$(eps '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"good"},"addressType":"IPv6","endpoints":[{"addresses":["fd00::1"]}]}')
expect_eq "a valid IPv6 slice is created" 201 "${r%% *}"
r=$(api PATCH /apis/discovery.k8s.io/v1/namespaces/default/endpointslices/good -H 'Content-Type: application/merge-patch+json' -d '{"addressType":"IPv4"}')
expect_eq "addressType is immutable" "422 Invalid" "$(reason "$r")"

# a single-stack cluster refuses RequireDualStack
server_stop
tmpdir dir2
server_start "$dir2" --service-cidr 10.45.0.0/16 --service-node-port-range 31000-31010 || { not_ok "single-stack server starts"; exit 1; }
r=$(svc req '{"ipFamilyPolicy":"RequireDualStack","ports":[{"port":80}]}')
expect_eq "RequireDualStack on a single-stack cluster is 422" "422 Invalid" "$(reason "$r")"
check "with upstream's message" sh -c "echo '$r' | grep -q 'this cluster is not configured for dual-stack services'"
svc pref '{"ipFamilyPolicy":"PreferDualStack","ports":[{"port":80}]}' >/dev/null
expect_eq "PreferDualStack on a single-stack cluster gets one IP" "PreferDualStack IPv4 10.45" \
	"$(get pref '{.spec.ipFamilyPolicy} {.spec.ipFamilies} {.spec.clusterIPs}' | tr -d '[]"' | awk '{print $1, $2, substr($3,1,5)}')"
svc npr '{"type":"NodePort","ports":[{"port":80}]}' >/dev/null
np=$(get npr '{.spec.ports[0].nodePort}')
check "--service-node-port-range bounds node ports" test "$np" -ge 31000 -a "$np" -le 31010
r=$(svc npr2 '{"type":"NodePort","ports":[{"port":80,"nodePort":30500}]}')
expect_eq "a node port outside the configured range is refused" "422 Invalid" "$(reason "$r")"
r=$("$K1S" server --disable-agent --data-dir "$dir2/x" --service-cidr nonsense --https-listen-port 1 2>&1; echo "rc=$?")
check "a bad --service-cidr is a clear error at start" sh -c "echo '$r' | grep -q 'invalid --service-cidr' && echo '$r' | grep -q 'rc=1'"
exit $_failed
