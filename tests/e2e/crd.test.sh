#!/usr/bin/env bash
# CustomResourceDefinitions end to end with the real kubectl and
# python3-kubernetes: serving, defaulting (on write and on read), pruning,
# validation messages, printer columns, status and scale, versions, name
# conflicts, and deletion.
#
#   kubectl / python3 --HTTPS--> k1s server --disable-agent (127.0.0.1:PORT)
. "$(dirname "$0")/cluster.sh"

tmpdir dir
server_start "$dir" || { not_ok "server starts"; exit 1; }
export KUBECACHEDIR=$dir/kubecache

# jq-free field access: jget FILE-OR-- PYTHON-EXPR (d is the parsed JSON)
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

cat > "$dir/crd.yaml" <<'Y'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.selector
    selectableFields:
    - {jsonPath: .spec.image}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              cronSpec:
                type: string
                pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'
              image: {type: string, default: busybox}
              replicas: {type: integer, minimum: 1, maximum: 10, default: 1}
              mode: {type: string, enum: [fast, slow]}
              nested:
                type: object
                default: {}
                properties:
                  a: {type: string, default: x}
                  b: {type: integer}
              nullableField: {type: string, nullable: true, default: d}
              plainField: {type: string, default: d}
              ports:
                type: array
                items:
                  type: object
                  properties:
                    port: {type: integer}
                    protocol: {type: string, default: TCP}
              extra:
                type: object
                x-kubernetes-preserve-unknown-fields: true
              count: {x-kubernetes-int-or-string: true}
          status:
            type: object
            properties:
              replicas: {type: integer}
              selector: {type: string}
Y

# --- creating a CRD serves its resource
check "CRD is created" kc apply -f "$dir/crd.yaml"
check "CRD becomes Established" kc wait --for=condition=Established --timeout=10s crd/crontabs.stable.example.com
expect_eq "NamesAccepted condition" "True NoConflicts" \
	"$(kc get crd crontabs.stable.example.com -o jsonpath='{.status.conditions[?(@.type=="NamesAccepted")].status} {.status.conditions[?(@.type=="NamesAccepted")].reason}')"
expect_eq "storedVersions" "v1" "$(kc get crd crontabs.stable.example.com -o jsonpath='{.status.storedVersions[*]}')"
check "kubectl api-resources lists crontabs with short name and kind" \
	sh -c "kubectl --kubeconfig $KUBECONFIG api-resources --api-group=stable.example.com | grep -Eq '^crontabs +ct +stable.example.com/v1 +true +CronTab'"
check "aggregated discovery lists the group" sh -c "kubectl --kubeconfig $KUBECONFIG api-versions | grep -qx stable.example.com/v1"
r=$(api GET /apis/stable.example.com/v1)
expect_eq "v1 discovery lists crontabs, status and scale" "crontabs crontabs/status crontabs/scale" \
	"$(echo "${r#* }" | jget '" ".join(x["name"] for x in d["resources"])')"

# --- defaulting, pruning on write
cat > "$dir/ct.yaml" <<'Y'
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: cron1
  labels: {app: cron}
spec:
  cronSpec: "* * * * */5"
  unknownField: 1
  ports: [{port: 80}]
  extra: {anything: {goes: true}}
  count: "50%"
Y
out=$(kc apply -f "$dir/ct.yaml" 2>&1)
expect_eq "unknown field rejected under Strict (kubectl's default)" \
	'Error from server (BadRequest): error when creating "'"$dir"'/ct.yaml": CronTab in version "v1" cannot be handled as a CronTab: strict decoding error: unknown field "spec.unknownField"' "$out"
check "with --validate=false the CR is created" kc apply --validate=false -f "$dir/ct.yaml"
expect_eq "defaults applied, unknown field pruned, preserved subtree kept" \
	'{"count": "50%", "cronSpec": "* * * * */5", "extra": {"anything": {"goes": true}}, "image": "busybox", "nested": {"a": "x"}, "nullableField": "d", "plainField": "d", "ports": [{"port": 80, "protocol": "TCP"}], "replicas": 1}' \
	"$(kc get ct cron1 -o json | jget 'json.dumps(d["spec"], sort_keys=True)')"

sed 's/  count: "50%"/  count: "50%"\n  mode: fast/' "$dir/ct.yaml" > "$dir/ct2.yaml"
check "kubectl apply of a change (merge patch: no strategic merge in /openapi/v3)" kc apply --validate=false -f "$dir/ct2.yaml"
expect_eq "the change is in" "fast" "$(kc get ct cron1 -o jsonpath='{.spec.mode}')"

cat > "$dir/nospec.json" <<'Y'
{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"nospec"}}
Y
check "a CR without spec is created" kc create -f "$dir/nospec.json"
expect_eq "a CR without spec gets no spec defaults" "None" "$(kc get ct nospec -o json | jget 'd.get("spec")')"
cat > "$dir/nulls.json" <<'Y'
{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"nulls"},"spec":{"nullableField":null,"plainField":null}}
Y
check "a CR with nulls is created" kc create -f "$dir/nulls.json"
expect_eq "null stays on a nullable field, is defaulted on a non-nullable one" \
	'{"nullableField": null, "plainField": "d"}' \
	"$(kc get ct nulls -o json | jget 'json.dumps({k: d["spec"][k] for k in ("nullableField", "plainField")})')"

# --- a default added later shows on read, without a write
rv=$(kc get ct cron1 -o jsonpath='{.metadata.resourceVersion}')
check "CRD gains a default" kc patch crd crontabs.stable.example.com --type=json -p \
	'[{"op":"add","path":"/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/color","value":{"type":"string","default":"blue"}}]'
check "old CR shows the new default on read" poll 10 sh -c "kubectl --kubeconfig $KUBECONFIG get ct cron1 -o jsonpath='{.spec.color}' | grep -qx blue"
expect_eq "its resourceVersion is unchanged" "$rv" "$(kc get ct cron1 -o jsonpath='{.metadata.resourceVersion}')"
expect_eq "lists show the default too" "blue" "$(kc get ct -o jsonpath='{.items[?(@.metadata.name=="cron1")].spec.color}')"

# --- validation with kube-apiserver's messages
v() { kc patch ct cron1 --type=merge -p "$1" 2>&1; }
expect_eq "maximum" 'The CronTab "cron1" is invalid: spec.replicas: Invalid value: 15: spec.replicas in body should be less than or equal to 10' \
	"$(v '{"spec":{"replicas":15}}')"
expect_eq "minimum" 'The CronTab "cron1" is invalid: spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1' \
	"$(v '{"spec":{"replicas":0}}')"
expect_eq "type" 'The CronTab "cron1" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"' \
	"$(v '{"spec":{"replicas":"three"}}')"
expect_eq "enum" 'The CronTab "cron1" is invalid: spec.mode: Unsupported value: "medium": supported values: "fast", "slow"' \
	"$(v '{"spec":{"mode":"medium"}}')"
expect_eq "pattern" "The CronTab \"cron1\" is invalid: spec.cronSpec: Invalid value: \"bad\": spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}\$'" \
	"$(v '{"spec":{"cronSpec":"bad"}}')"
r=$(api PATCH /apis/stable.example.com/v1/namespaces/default/crontabs/cron1 -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":11}}')
expect_eq "422 Status carries details.group and one cause" "422 stable.example.com spec.replicas FieldValueInvalid" \
	"$(echo "${r#* }" | jget 'd["code"], d["details"]["group"], d["details"]["causes"][0]["field"], d["details"]["causes"][0]["reason"]' | tr -d "(),'")"
r=$(api PATCH /apis/stable.example.com/v1/namespaces/default/crontabs/cron1 -H 'Content-Type: application/strategic-merge-patch+json' -d '{"spec":{"replicas":2}}')
expect_eq "strategic merge patch is 415 for custom resources" \
	"415 the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml" \
	"${r%% *} $(echo "${r#* }" | jget 'd["message"]')"
check "JSON patch works" kc patch ct cron1 --type=json -p '[{"op":"replace","path":"/spec/replicas","value":2}]'

# --- printer columns, categories, selectors
expect_eq "printer columns" "NAME SPEC REPLICAS AGE|cron1 * * * * */5 2" \
	"$(kc get ct cron1 | awk 'NR==1{h=$1" "$2" "$3" "$4} NR==2{print h"|"$1" "$2" "$3" "$4" "$5" "$6" "$7}')"
check "kubectl get all includes the category" sh -c "kubectl --kubeconfig $KUBECONFIG get all -o name | grep -qx crontab.stable.example.com/cron1"
expect_eq "label selector" "cron1" "$(kc get ct -l app=cron -o jsonpath='{.items[*].metadata.name}')"
expect_eq "field selector" "nulls" "$(kc get ct --field-selector metadata.name=nulls -o jsonpath='{.items[*].metadata.name}')"
expect_eq "selectable field (on defaulted objects)" "cron1 nulls" \
	"$(kc get ct --field-selector spec.image=busybox -o jsonpath='{.items[*].metadata.name}')"
expect_eq "other fields are not selectable" 'Error from server (BadRequest): Unable to find "stable.example.com/v1, Resource=crontabs" that match label selector "", field selector "spec.mode=fast": field label not supported: spec.mode' \
	"$(kc get ct --field-selector spec.mode=fast 2>&1)"

# --- status and scale subresources, generation
gen=$(kc get ct cron1 -o jsonpath='{.metadata.generation}')
check "status written through /status" kc patch ct cron1 --subresource=status --type=merge -p '{"status":{"replicas":2,"selector":"app=cron"}}'
expect_eq "status changed, generation did not" "2 $gen" "$(kc get ct cron1 -o jsonpath='{.status.replicas} {.metadata.generation}')"
kc patch ct cron1 --type=merge -p '{"status":{"replicas":9}}' >/dev/null 2>&1
expect_eq "status ignored on the main resource" "2" "$(kc get ct cron1 -o jsonpath='{.status.replicas}')"
check "kubectl scale" kc scale ct cron1 --replicas=4
expect_eq "scale wrote spec.replicas and bumped generation" "4 $((gen + 1))" \
	"$(kc get ct cron1 -o jsonpath='{.spec.replicas} {.metadata.generation}')"
r=$(api GET /apis/stable.example.com/v1/namespaces/default/crontabs/cron1/scale)
expect_eq "scale subresource" "200 Scale 4 2 app=cron" \
	"${r%% *} $(echo "${r#* }" | jget 'd["kind"], d["spec"]["replicas"], d["status"]["replicas"], d["status"]["selector"]' | tr -d "(),'")"

# --- kubectl explain reads /openapi/v3
check "kubectl explain" sh -c "kubectl --kubeconfig $KUBECONFIG explain crontabs.spec | grep -q 'cronSpec'"

# --- python3-kubernetes: create, list, watch
py=$(/usr/bin/python3 - "$KUBECONFIG" 2>&1 <<'P'
import sys
from kubernetes import client, config, watch
config.load_kube_config(sys.argv[1])
api = client.CustomObjectsApi()
g, v, p = "stable.example.com", "v1", "crontabs"
rv = api.list_namespaced_custom_object(g, v, "default", p)["metadata"]["resourceVersion"]
api.create_namespaced_custom_object(g, v, "default", p, {
    "apiVersion": "stable.example.com/v1", "kind": "CronTab",
    "metadata": {"name": "frompy"}, "spec": {"cronSpec": "0 * * * *"}})
names = sorted(o["metadata"]["name"] for o in api.list_namespaced_custom_object(g, v, "default", p)["items"])
ev = None
for e in watch.Watch().stream(api.list_namespaced_custom_object, g, v, "default", p,
                              resource_version=rv, timeout_seconds=5):
    if e["object"]["metadata"]["name"] == "frompy":
        ev = e["type"] + " " + e["object"]["spec"]["image"]
        break
print(",".join(names), ev)
P
)
expect_eq "python3-kubernetes create/list/watch" "cron1,frompy,nospec,nulls ADDED busybox" "$py"

# --- several versions, conversion None, deprecation warning
cat > "$dir/multi.yaml" <<'Y'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.org
spec:
  group: example.org
  scope: Cluster
  names: {plural: widgets, kind: Widget}
  versions:
  - name: v1beta1
    served: true
    storage: false
    deprecated: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer, default: 3}}}
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer, default: 7}}}
Y
check "a CRD with two versions" kc apply -f "$dir/multi.yaml"
check "it becomes Established" kc wait --for=condition=Established --timeout=10s crd/widgets.example.org
out=$(kc create -f - 2>&1 <<'Y'
{"apiVersion":"example.org/v1beta1","kind":"Widget","metadata":{"name":"w1"},"spec":{}}
Y
)
expect_eq "a deprecated version warns" "Warning: example.org/v1beta1 Widget is deprecated|widget.example.org/w1 created" "$(echo "$out" | tr '\n' '|' | sed 's/|$//')"
expect_eq "read in v1: apiVersion rewritten, request-version default kept" "example.org/v1 3" \
	"$(kc get widgets.v1.example.org w1 -o jsonpath='{.apiVersion} {.spec.size}')"
expect_eq "read in v1beta1" "example.org/v1beta1" "$(kc get widgets.v1beta1.example.org w1 -o jsonpath='{.apiVersion}' 2>/dev/null)"
check "the storage version moves to v1beta1" kc patch crd widgets.example.org --type=json -p \
	'[{"op":"replace","path":"/spec/versions/0/storage","value":true},{"op":"replace","path":"/spec/versions/1/storage","value":false}]'
check "storedVersions keeps both" poll 10 sh -c \
	"kubectl --kubeconfig $KUBECONFIG get crd widgets.example.org -o jsonpath='{.status.storedVersions[*]}' | grep -qx 'v1 v1beta1'"

# --- name conflicts
sed -e 's/widgets.example.org/gadgets.example.org/' -e 's/plural: widgets/plural: gadgets, singular: gadget/' "$dir/multi.yaml" > "$dir/conflict.yaml"
check "a CRD whose kind is taken is stored" kc apply -f "$dir/conflict.yaml"
check "NamesAccepted is False with KindConflict" poll 10 sh -c \
	"kubectl --kubeconfig $KUBECONFIG get crd gadgets.example.org -o jsonpath='{.status.conditions[?(@.type==\"NamesAccepted\")].reason}' | grep -qx KindConflict"
expect_eq "it is not served" "404" "$(api GET /apis/example.org/v1/gadgets | cut -d' ' -f1)"

# --- invalid CRDs are refused with upstream's messages
cat > "$dir/bad.yaml" <<'Y'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: bads.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: bads, kind: Bad}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            properties:
              replicas: {type: integer, default: three}
Y
expect_eq "missing type and a default of the wrong type: 422" 'The CustomResourceDefinition "bads.example.com" is invalid: 
* spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields
* spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[replicas].default: Invalid value: "string": replicas in body must be of type integer: "string"' \
	"$(kc apply -f "$dir/bad.yaml" 2>&1)"

# --- deleting a CRD deletes its objects, then the CRD
check "delete the CRD" kc delete crd crontabs.stable.example.com --timeout=20s
expect_eq "its objects are gone from the store" "404" \
	"$(api GET /apis/stable.example.com/v1/namespaces/default/crontabs/cron1 | cut -d' ' -f1)"
check "the CRD is gone" poll 10 sh -c "! kubectl --kubeconfig $KUBECONFIG get crd crontabs.stable.example.com"
expect_eq "its group is no longer discovered" "404" "$(api GET /apis/stable.example.com/v1 | cut -d' ' -f1)"
check "re-creating it serves an empty collection" sh -c "kubectl --kubeconfig $KUBECONFIG apply -f $dir/crd.yaml >/dev/null &&
	kubectl --kubeconfig $KUBECONFIG wait --for=condition=Established --timeout=10s crd/crontabs.stable.example.com >/dev/null &&
	[ -z \"\$(kubectl --kubeconfig $KUBECONFIG get ct -o name)\" ]"
