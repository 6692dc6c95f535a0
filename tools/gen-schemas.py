#!/usr/bin/env python3
"""Generate server/gen/schemas.c: compiled-in schema tables of the served kinds.

Usage: tools/gen-schemas.py SHAPE.json PATHS.json OUTDIR
  SHAPE.json  swagger-2-style `definitions` (k8s-api-shape-<ver>.json)
  PATHS.json  API paths with actions and GVKs (k8s-api-paths-<ver>.json)
  OUTDIR      where schemas.c is written (server/gen); schemas.h is hand-written

Run by hand; the output is committed so the build never needs the inputs.
Standard library only. Output is deterministic.

What it does:
  - picks the served resources (SERVED below) from the paths file: plural,
    namespaced, verbs, subresources, the kind's definition and its list kind;
  - walks every definition reachable from those kinds (plus META_ROOTS),
    turning each into a `static const struct schema` (see lib/schema.h);
    $ref becomes a pointer to the shared named node (cycles are fine);
    anonymous nodes with equal contents are emitted once;
  - maps the shape's conventions to structural-schema terms: IntOrString is
    integer|string, Quantity is string|number, the open types (RawExtension,
    FieldsV1, JSON, ... see OPEN_TYPES) preserve unknown fields;
  - merges tools/builtin-defaults.json: {"<definition>": {"<property>":
    <default value>}} becomes that property's `default`.
"""
import json
import os
import re
import sys

SERVED = {
    ('', 'v1'): ['namespaces', 'pods', 'podtemplates', 'replicationcontrollers',
                 'services', 'endpoints', 'nodes', 'configmaps', 'secrets',
                 'serviceaccounts', 'events', 'persistentvolumes',
                 'persistentvolumeclaims', 'limitranges', 'resourcequotas'],
    ('events.k8s.io', 'v1'): ['events'],
    ('apps', 'v1'): ['deployments', 'replicasets', 'daemonsets', 'statefulsets',
                     'controllerrevisions'],
    ('batch', 'v1'): ['jobs', 'cronjobs'],
    ('autoscaling', 'v1'): ['horizontalpodautoscalers'],
    ('autoscaling', 'v2'): ['horizontalpodautoscalers'],
    ('coordination.k8s.io', 'v1'): ['leases'],
    ('discovery.k8s.io', 'v1'): ['endpointslices'],
    ('networking.k8s.io', 'v1'): ['ingresses', 'ingressclasses', 'networkpolicies'],
    ('storage.k8s.io', 'v1'): ['storageclasses', 'csidrivers', 'volumeattachments'],
    ('scheduling.k8s.io', 'v1'): ['priorityclasses'],
    ('node.k8s.io', 'v1'): ['runtimeclasses'],
    ('policy', 'v1'): ['poddisruptionbudgets'],
    ('certificates.k8s.io', 'v1'): ['certificatesigningrequests'],
    ('rbac.authorization.k8s.io', 'v1'): ['roles', 'rolebindings', 'clusterroles',
                                          'clusterrolebindings'],
    ('apiextensions.k8s.io', 'v1'): ['customresourcedefinitions'],
}

META = 'io.k8s.apimachinery.pkg.apis.meta.v1.'
META_ROOTS = [META + n for n in ('Status', 'DeleteOptions', 'WatchEvent', 'ObjectMeta',
                                 'ListMeta', 'APIResourceList', 'APIGroupList',
                                 'APIVersions', 'Patch')]

# The shape file had every "description" key removed, which also removed the
# real API fields named "description"; they are put back here.
RESTORED_FIELDS = {
    'io.k8s.api.scheduling.v1.PriorityClass': {'description': {'type': 'string'}},
    'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps':
        {'description': {'type': 'string'}},
    'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.ExternalDocumentation':
        {'description': {'type': 'string'}},
    'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceColumnDefinition':
        {'description': {'type': 'string'}},
}

# Our own one-line descriptions (the shape has none), shown by kubectl explain.
FIELD_DESCRIPTIONS = {
    'apiVersion': 'The versioned schema of this representation of an object, e.g. "apps/v1".',
    'kind': 'The REST resource type this object represents, in CamelCase, e.g. "Pod".',
    'metadata': 'Standard object metadata: name, namespace, labels, annotations, owners.',
    'spec': 'The desired state of the object, written by its users.',
    'status': 'The most recently observed state of the object, written by the system.',
    'items': 'The objects of the list.',
}
KIND_DESCRIPTIONS = {
    'Pod': 'A Pod is a group of containers that share network, IPC and volumes and run on one node.',
    'Deployment': 'A Deployment declares the desired Pods and rolls out changes through ReplicaSets.',
    'ReplicaSet': 'A ReplicaSet keeps a given number of Pod replicas running.',
    'DaemonSet': 'A DaemonSet runs one copy of a Pod on every eligible node.',
    'StatefulSet': 'A StatefulSet runs Pods with stable names and stable per-Pod storage.',
    'Service': 'A Service gives a set of Pods one stable virtual IP and DNS name.',
    'ConfigMap': 'A ConfigMap holds non-confidential configuration data as key-value pairs.',
    'Secret': 'A Secret holds a small amount of confidential data, such as a password or key.',
    'Namespace': 'A Namespace is a scope for names; most objects live in one.',
    'Node': 'A Node is a machine that runs Pods.',
    'Job': 'A Job runs Pods until a given number of them complete successfully.',
    'CronJob': 'A CronJob creates Jobs on a time-based schedule.',
    'CustomResourceDefinition': 'A CustomResourceDefinition adds a new resource type to the API.',
}

# Types that hold arbitrary JSON (their schema says only "object" or nothing).
# Other property-less objects (e.g. CustomResourceSubresourceStatus) are
# empty structs: unknown fields in them are unknown.
OPEN_TYPES = {
    META + 'Patch', META + 'FieldsV1',
    'io.k8s.apimachinery.pkg.runtime.RawExtension',
    'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON',
    'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool',
    'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray',
    'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray',
}

INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString'
QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity'

VERB_BITS = {'get': 'SCHEMA_VERB_GET', 'list': 'SCHEMA_VERB_LIST',
             'watch': 'SCHEMA_VERB_WATCH', 'create': 'SCHEMA_VERB_CREATE',
             'update': 'SCHEMA_VERB_UPDATE', 'patch': 'SCHEMA_VERB_PATCH',
             'delete': 'SCHEMA_VERB_DELETE',
             'deletecollection': 'SCHEMA_VERB_DELETECOLLECTION',
             'connect': 'SCHEMA_VERB_CONNECT'}
ACTION_VERB = {'get': 'get', 'list': 'list', 'post': 'create', 'put': 'update',
               'patch': 'patch', 'delete': 'delete',
               'deletecollection': 'deletecollection'}
METHOD_VERB = {'get': 'get', 'head': 'get', 'post': 'create', 'put': 'update',
               'patch': 'patch', 'delete': 'delete', 'options': 'get'}

TYPE_BITS = {'object': 'SCHEMA_T_OBJECT', 'array': 'SCHEMA_T_ARRAY',
             'string': 'SCHEMA_T_STRING', 'integer': 'SCHEMA_T_INTEGER',
             'number': 'SCHEMA_T_NUMBER', 'boolean': 'SCHEMA_T_BOOLEAN'}
LIST_TYPES = {'atomic': 'SCHEMA_LIST_ATOMIC', 'set': 'SCHEMA_LIST_SET',
              'map': 'SCHEMA_LIST_MAP'}
PATCH_BITS = {'merge': 'SCHEMA_PATCH_MERGE', 'replace': 'SCHEMA_PATCH_REPLACE',
              'retainKeys': 'SCHEMA_PATCH_RETAIN_KEYS'}

PATH_RE = re.compile(r'^/(?:api/(?P<cv>v1)|apis/(?P<g>[^/]+)/(?P<v>[^/]+))/'
                     r'(?P<ns>namespaces/\{namespace\}/)?(?P<res>[a-z0-9]+)'
                     r'(?P<item>/\{name\}(?:/(?P<sub>[a-z]+)(?:/\{path\})?)?)?/?$')


def cstr(s):
    if s is None:
        return 'NULL'
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def ref_name(ref):
    assert ref.startswith('#/definitions/'), ref
    return ref[len('#/definitions/'):]


def cident(name):
    return 's_' + re.sub(r'[^A-Za-z0-9]', '_', name)


class Gen:
    def __init__(self, defs, defaults):
        self.defs = defs
        self.defaults = defaults
        self.named = {}       # definition name -> C identifier
        self.order = []       # named definitions in discovery order
        self.decls = []       # C definitions, children before parents
        self.anon = {}        # initializer text -> identifier
        self.arrays = {}      # array text -> identifier
        self.n = 0
        self.kinds = {}       # definition name -> one-line description (served kinds)

    def fresh(self, prefix):
        self.n += 1
        return '%s%d' % (prefix, self.n)

    def array(self, ctype, items, prefix):
        body = ', '.join(items)
        key = (ctype, body)
        if key not in self.arrays:
            ident = self.fresh(prefix)
            self.arrays[key] = ident
            self.decls.append('static const %s %s[] = { %s };' % (ctype, ident, body))
        return self.arrays[key]

    def ref(self, name):
        """Pointer target of a named definition (emitted lazily)."""
        if name not in self.named:
            if name not in self.defs:
                raise SystemExit('unknown definition %s' % name)
            self.named[name] = cident(name)
            self.order.append(name)
        return self.named[name]

    def node(self, sch, name=None, extra_default=None, desc=None):
        """C identifier of the node for schema dict `sch`."""
        if name is None and '$ref' in sch:
            target = self.ref(ref_name(sch['$ref']))
            rest = {k: v for k, v in sch.items() if k != '$ref'}
            if not rest and extra_default is None and desc is None:
                return target
            return self.emit(rest, None, extra_default, ref=target, desc=desc)
        return self.emit(sch, name, extra_default, desc=desc)

    def emit(self, sch, name, extra_default, ref=None, desc=None):
        f = {}
        types = []
        flags = []
        fmt = sch.get('format')
        t = sch.get('type')
        if name == INT_OR_STRING:
            types = ['SCHEMA_T_INTEGER', 'SCHEMA_T_STRING']
        elif name == QUANTITY:
            types = ['SCHEMA_T_STRING', 'SCHEMA_T_NUMBER']
        elif t:
            types = [TYPE_BITS[t]]
        props = sch.get('properties')
        if name in OPEN_TYPES:
            flags.append('SCHEMA_F_PRESERVE_UNKNOWN')
        mt = sch.get('x-kubernetes-map-type')
        if mt == 'atomic':
            flags.append('SCHEMA_F_MAP_ATOMIC')
        elif mt == 'granular':
            flags.append('SCHEMA_F_MAP_GRANULAR')
        if props:
            dflt = self.defaults.get(name, {}) if name else {}
            for k in dflt:
                if k not in props:
                    raise SystemExit('default for unknown field %s.%s' % (name, k))
            entries = []
            is_kind = name in self.kinds
            for pname in sorted(props):
                d = dflt.get(pname)
                child = self.node(props[pname], None,
                                  None if d is None else json.dumps(d, sort_keys=True,
                                                                    separators=(',', ':')),
                                  FIELD_DESCRIPTIONS.get(pname) if is_kind else None)
                entries.append('{ %s, &%s }' % (cstr(pname), child))
            f['props'] = self.array('struct schema_prop', entries, 'p')
            f['nprops'] = str(len(props))
        elif name in self.defaults:
            raise SystemExit('defaults for %s, which has no properties' % name)
        if sch.get('required'):
            f['required'] = self.array('char *const', [cstr(r) for r in sch['required']]
                                       + ['NULL'], 'r')
        if 'items' in sch:
            f['items'] = '&' + self.node(sch['items'])
        ap = sch.get('additionalProperties')
        if isinstance(ap, dict):
            f['additional'] = '&' + self.node(ap)
        elif ap is True:
            flags.append('SCHEMA_F_ANY_ADDITIONAL')
        elif ap is False:
            flags.append('SCHEMA_F_NO_ADDITIONAL')
        if sch.get('x-kubernetes-patch-merge-key'):
            f['merge_key'] = cstr(sch['x-kubernetes-patch-merge-key'])
        if sch.get('x-kubernetes-list-map-keys'):
            f['list_map_keys'] = self.array(
                'char *const', [cstr(k) for k in sch['x-kubernetes-list-map-keys']] + ['NULL'], 'k')
        if sch.get('x-kubernetes-list-type'):
            f['list_type'] = LIST_TYPES[sch['x-kubernetes-list-type']]
        ps = sch.get('x-kubernetes-patch-strategy')
        if ps:
            f['patch'] = '|'.join(PATCH_BITS[p] for p in ps.split(','))
        gvks = sch.get('x-kubernetes-group-version-kind')
        if gvks:
            f['gvk'] = self.array('struct schema_gvk', ['{ %s, %s, %s }' % (
                cstr(g['group']), cstr(g['version']), cstr(g['kind'])) for g in gvks], 'g')
            f['ngvk'] = str(len(gvks))
        if fmt:
            f['format'] = cstr(fmt)
        if extra_default is not None:
            f['default_json'] = cstr(extra_default)
        if desc is None and name in self.kinds:
            desc = self.kinds[name]
        if desc:
            f['description'] = cstr(desc)
        if name:
            f['name'] = cstr(name)
        if ref:
            f['ref'] = '&' + ref
        if types:
            f['types'] = '|'.join(types)
        if flags:
            f['flags'] = '|'.join(flags)
        init = '{ ' + ', '.join('.%s = %s' % (k, f[k]) for k in sorted(f)) + ' }'
        if name:
            ident = self.named[name]
            self.decls.append('static const struct schema %s = %s;' % (ident, init))
            return ident
        if init not in self.anon:
            ident = self.fresh('a')
            self.anon[init] = ident
            self.decls.append('static const struct schema %s = %s;' % (ident, init))
        return self.anon[init]

    def run(self, roots):
        for r in roots:
            self.ref(r)
        done = 0
        while done < len(self.order):
            name = self.order[done]
            self.emit(self.defs[name], name, None)
            done += 1


def gvk_index(defs):
    idx = {}
    for name, d in defs.items():
        for g in d.get('x-kubernetes-group-version-kind', []):
            idx.setdefault((g['group'], g['version'], g['kind']), name)
    return idx


def scan_paths(paths):
    """{(group, version, plural): info} from the paths file."""
    res = {}
    for path, ops in paths.items():
        if '/watch/' in path:
            continue
        m = PATH_RE.match(path)
        if not m:
            continue
        group = m.group('g') or ''
        version = m.group('cv') or m.group('v')
        key = (group, version, m.group('res'))
        r = res.setdefault(key, {'namespaced': False, 'verbs': set(), 'subs': {},
                                 'gvk': None})
        if m.group('ns'):
            r['namespaced'] = True
        sub = m.group('sub')
        for method, op in ops.items():
            if not isinstance(op, dict) or 'x-kubernetes-action' not in op:
                continue
            action = op['x-kubernetes-action']
            g = op.get('x-kubernetes-group-version-kind')
            gvk = (g['group'], g['version'], g['kind']) if g else None
            if sub:
                s = r['subs'].setdefault(sub, {'verbs': set(), 'gvk': gvk})
                if action == 'connect':
                    s['verbs'].update(['connect', METHOD_VERB[method]])
                else:
                    s['verbs'].add(ACTION_VERB[action])
                continue
            if action == 'list' and any(q.startswith('watch') for q in op.get('query', [])):
                r['verbs'].add('watch')
            r['verbs'].add(ACTION_VERB[action])
            if action != 'list' and action != 'deletecollection' and gvk:
                r['gvk'] = gvk
            elif gvk and r['gvk'] is None:
                r['gvk'] = gvk
    return res


def verbs_c(verbs):
    order = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete',
             'deletecollection', 'connect']
    bits = [VERB_BITS[v] for v in order if v in verbs]
    return '|'.join(bits) if bits else '0'


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    defs = json.load(open(sys.argv[1]))['definitions']
    paths = json.load(open(sys.argv[2]))['paths']
    here = os.path.dirname(os.path.abspath(__file__))
    defaults = json.load(open(os.path.join(here, 'builtin-defaults.json')))
    defaults = {k: v for k, v in defaults.items() if not k.startswith('//')}
    for name, fields in RESTORED_FIELDS.items():
        props = defs[name].setdefault('properties', {})
        for f, sch in fields.items():
            if f in props:
                raise SystemExit('%s.%s is in the shape already' % (name, f))
            props[f] = sch
    gvks = gvk_index(defs)
    scanned = scan_paths(paths)

    rows = []
    roots = list(META_ROOTS)
    for (group, version), plurals in sorted(SERVED.items()):
        for plural in sorted(plurals):
            r = scanned.get((group, version, plural))
            if not r or not r['gvk']:
                raise SystemExit('no paths for %s/%s %s' % (group, version, plural))
            kind = r['gvk'][2]
            kdef = gvks[r['gvk']]
            ldef = gvks.get((group, version, kind + 'List'))
            if not ldef:
                raise SystemExit('no list kind for %s' % kind)
            roots += [kdef, ldef]
            subs = []
            for sname in sorted(r['subs']):
                s = r['subs'][sname]
                sdef = gvks.get(s['gvk']) if s['gvk'] else None
                if sdef:
                    roots.append(sdef)
                subs.append((sname, s, sdef))
            rows.append((group, version, kind, plural, kind + 'List', r, kdef, ldef, subs))
    for name in defaults:
        if name not in defs:
            raise SystemExit('defaults for unknown definition %s' % name)

    gen = Gen(defs, defaults)
    for row in rows:
        kind, kdef, ldef = row[2], row[6], row[7]
        gen.kinds[kdef] = KIND_DESCRIPTIONS.get(kind, '%s is a %s object served by k1s.' % (
            kind, row[0] or 'core'))
        gen.kinds[ldef] = '%sList is a list of %s objects.' % (kind, kind)
    gen.run(roots)

    out = []
    out.append('/* GENERATED by tools/gen-schemas.py from the Kubernetes API shape; do not edit. */')
    out.append('#include "server/gen/schemas.h"')
    out.append('')
    out.append('/* forward declarations: named definitions refer to each other */')
    for name in sorted(gen.named):
        out.append('static const struct schema %s;' % gen.named[name])
    out.append('')
    out.extend(gen.decls)
    out.append('')
    out.append('const struct schema_def gen_defs[] = {')
    for name in sorted(gen.named):
        out.append('\t{ %s, &%s },' % (cstr(name), gen.named[name]))
    out.append('};')
    out.append('const size_t gen_ndefs = %d;' % len(gen.named))
    out.append('')
    for i, (group, version, kind, plural, lkind, r, kdef, ldef, subs) in enumerate(rows):
        if not subs:
            continue
        out.append('static const struct schema_subresource sub%d[] = {' % i)
        for sname, s, sdef in subs:
            g = s['gvk'] or ('', '', '')
            out.append('\t{ %s, %s, { %s, %s, %s }, %s },' % (
                cstr(sname), verbs_c(s['verbs']), cstr(g[0]), cstr(g[1]), cstr(g[2]),
                '&' + gen.named[sdef] if sdef else 'NULL'))
        out.append('};')
    out.append('')
    out.append('const struct schema_resource gen_resources[] = {')
    for i, (group, version, kind, plural, lkind, r, kdef, ldef, subs) in enumerate(rows):
        out.append('\t{ { %s, %s, %s }, %s, %s, %s, %s, %s, %d, &%s, &%s },' % (
            cstr(group), cstr(version), cstr(kind), cstr(plural), cstr(lkind),
            'true' if r['namespaced'] else 'false', verbs_c(r['verbs']),
            'sub%d' % i if subs else 'NULL', len(subs), gen.named[kdef], gen.named[ldef]))
    out.append('};')
    out.append('const size_t gen_nresources = %d;' % len(rows))
    os.makedirs(sys.argv[3], exist_ok=True)
    with open(os.path.join(sys.argv[3], 'schemas.c'), 'w') as fh:
        fh.write('\n'.join(out) + '\n')
    print('%d definitions, %d anonymous nodes, %d resources' % (
        len(gen.named), len(gen.anon), len(rows)), file=sys.stderr)


if __name__ == '__main__':
    main()
