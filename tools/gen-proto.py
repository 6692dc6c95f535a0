#!/usr/bin/env python3
"""Generate server/gen/proto_tables.c: the Kubernetes protobuf wire layout.

Usage: tools/gen-proto.py PROTO_ROOT > server/gen/proto_tables.c

PROTO_ROOT holds upstream's generated.proto files laid out by import path,
k8s.io/api/<group>/<version>/generated.proto and
k8s.io/apimachinery/pkg/{apis/meta/v1,api/resource,util/intstr,runtime}/
generated.proto (from kubernetes/kubernetes staging/src/). They are
reference input only and are not kept in this repository. The committed
tables describe the v1.33 API (kubectl 1.32/1.33 bodies); regenerating from
newer upstream files only adds fields, since field numbers never change.

Only wire facts are extracted: message names, field names and numbers,
scalar types, repeated/map, message references. The output is a set of
static tables read by server/proto.c (see server/proto.h). Python 3
standard library only.
"""
import os
import re
import sys

# apiVersion of each group-version we decode, by proto package directory.
GROUP_VERSIONS = [
    ('api/core/v1', 'v1'),
    ('api/apps/v1', 'apps/v1'),
    ('api/batch/v1', 'batch/v1'),
    ('api/autoscaling/v1', 'autoscaling/v1'),
    ('api/autoscaling/v2', 'autoscaling/v2'),
    ('api/coordination/v1', 'coordination.k8s.io/v1'),
    ('api/discovery/v1', 'discovery.k8s.io/v1'),
    ('api/events/v1', 'events.k8s.io/v1'),
    ('api/networking/v1', 'networking.k8s.io/v1'),
    ('api/policy/v1', 'policy/v1'),
    ('api/rbac/v1', 'rbac.authorization.k8s.io/v1'),
    ('api/storage/v1', 'storage.k8s.io/v1'),
    ('api/scheduling/v1', 'scheduling.k8s.io/v1'),
    ('api/node/v1', 'node.k8s.io/v1'),
    ('api/certificates/v1', 'certificates.k8s.io/v1'),
    ('api/authentication/v1', 'authentication.k8s.io/v1'),
    ('api/authorization/v1', 'authorization.k8s.io/v1'),
    ('apimachinery/pkg/apis/meta/v1', 'meta.k8s.io/v1'),
]
SUPPORT = ['apimachinery/pkg/api/resource', 'apimachinery/pkg/util/intstr',
           'apimachinery/pkg/runtime']

META = 'k8s.io.apimachinery.pkg.apis.meta.v1.'
# Messages whose JSON form is not an object (server/proto.h PS_*).
SPECIAL = {
    'k8s.io.apimachinery.pkg.api.resource.Quantity': 'PS_QUANTITY',
    'k8s.io.apimachinery.pkg.util.intstr.IntOrString': 'PS_INTSTR',
    META + 'Time': 'PS_TIME',
    META + 'MicroTime': 'PS_MICROTIME',
    META + 'Duration': 'PS_DURATION',
    META + 'FieldsV1': 'PS_RAWJSON',
    'k8s.io.apimachinery.pkg.runtime.RawExtension': 'PS_RAWJSON',
    META + 'Verbs': 'PS_STRLIST',
    'k8s.io.api.authentication.v1.ExtraValue': 'PS_STRLIST',
    'k8s.io.api.authorization.v1.ExtraValue': 'PS_STRLIST',
    'k8s.io.api.certificates.v1.ExtraValue': 'PS_STRLIST',
}
# Embedded Go structs tagged json:",inline": their fields join the parent.
CORE = 'k8s.io.api.core.v1.'
INLINE = {
    (CORE + m, 'localObjectReference') for m in (
        'ConfigMapEnvSource', 'ConfigMapKeySelector', 'ConfigMapProjection',
        'ConfigMapVolumeSource', 'SecretEnvSource', 'SecretKeySelector',
        'SecretProjection')
} | {
    (CORE + 'EphemeralContainer', 'ephemeralContainerCommon'),
    (CORE + 'PersistentVolumeSpec', 'persistentVolumeSource'),
    (CORE + 'Probe', 'handler'),
    (CORE + 'Volume', 'volumeSource'),
    ('k8s.io.api.networking.v1.IngressRule', 'ingressRuleValue'),
}
# Proto field names that differ from the JSON names.
RENAME = {
    ('k8s.io.api.networking.v1.IngressClassParametersReference', 'aPIGroup'): 'apiGroup',
    ('k8s.io.api.authentication.v1.BoundObjectReference', 'uID'): 'uid',
}
# Pointer strings whose empty value means something (kept when empty).
KEEP_EMPTY = {(CORE + 'PersistentVolumeClaimSpec', 'storageClassName')}

# Non-pointer omitempty ints/bools that typed clients write as 0/false:
# dropped when zero, as Go's JSON omits them (all others are kept as on
# the wire, since a pointer's 0/false matters).
APPS = 'k8s.io.api.apps.v1.'
OMIT_ZERO = {
    (META + 'ObjectMeta', 'generation'),
    (CORE + 'ContainerPort', 'hostPort'),
    (CORE + 'ServicePort', 'nodePort'),
    (CORE + 'ServiceSpec', 'healthCheckNodePort'),
    (CORE + 'ServiceSpec', 'publishNotReadyAddresses'),
    (CORE + 'Container', 'stdin'), (CORE + 'Container', 'stdinOnce'),
    (CORE + 'Container', 'tty'),
    (CORE + 'EphemeralContainerCommon', 'stdin'),
    (CORE + 'EphemeralContainerCommon', 'stdinOnce'),
    (CORE + 'EphemeralContainerCommon', 'tty'),
    (CORE + 'PodSpec', 'hostNetwork'), (CORE + 'PodSpec', 'hostPID'),
    (CORE + 'PodSpec', 'hostIPC'),
    (APPS + 'DeploymentSpec', 'minReadySeconds'), (APPS + 'DeploymentSpec', 'paused'),
    (APPS + 'ReplicaSetSpec', 'minReadySeconds'),
    (APPS + 'StatefulSetSpec', 'minReadySeconds'),
    (APPS + 'DaemonSetSpec', 'minReadySeconds'),
    ('k8s.io.api.policy.v1.PodDisruptionBudgetStatus', 'observedGeneration'),
} | {(CORE + 'Probe', f) for f in ('initialDelaySeconds', 'timeoutSeconds', 'periodSeconds',
                                   'successThreshold', 'failureThreshold')
} | {(APPS + 'DeploymentStatus', f) for f in ('observedGeneration', 'replicas', 'updatedReplicas',
                                             'readyReplicas', 'availableReplicas',
                                             'unavailableReplicas')
} | {(APPS + 'ReplicaSetStatus', f) for f in ('fullyLabeledReplicas', 'readyReplicas',
                                             'availableReplicas', 'observedGeneration')
} | {('k8s.io.api.batch.v1.JobStatus', f) for f in ('active', 'succeeded', 'failed')}

SCALARS = {'string': 'PK_STRING', 'bytes': 'PK_BYTES', 'bool': 'PK_BOOL',
           'int32': 'PK_INT32', 'int64': 'PK_INT64'}

FIELD_RE = re.compile(r'^(optional|repeated|required)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;')
MAP_RE = re.compile(r'^map\s*<\s*(\w+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;')


def strip_comments(text):
    """Drops // and /* */ comments, scanning left to right so that a "/*"
    inside a line comment (or either inside a string) is no comment."""
    def repl(m):
        return m.group(0) if m.group(0).startswith('"') else ''
    return re.sub(r'"(?:\\.|[^"\\\n])*"|//[^\n]*|/\*.*?\*/', repl, text, flags=re.S)


def parse(path):
    """Returns (package, [(message, [(label, type, name, number)])])."""
    text = strip_comments(open(path, encoding='utf-8').read())
    pkg = re.search(r'^\s*package\s+([\w.]+)\s*;', text, re.M).group(1)
    msgs = []
    cur = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = re.match(r'^message\s+(\w+)\s*\{\s*(\})?$', line)
        if m:
            if cur is not None:
                sys.exit('%s: nested message %s is not supported' % (path, m.group(1)))
            cur = (m.group(1), [])
            msgs.append(cur)
            if m.group(2):
                cur = None
            continue
        if cur is None:
            continue
        if line == '}':
            cur = None
            continue
        m = FIELD_RE.match(line)
        if m:
            cur[1].append((m.group(1), m.group(2), m.group(3), int(m.group(4))))
            continue
        m = MAP_RE.match(line)
        if m:
            if m.group(1) != 'string':
                sys.exit('%s: map key %s is not supported' % (path, m.group(1)))
            cur[1].append(('map', m.group(2), m.group(3), int(m.group(4))))
            continue
        if line.startswith(('option ', 'reserved ')):
            continue
        sys.exit('%s: cannot parse %r' % (path, line))
    return pkg, msgs


def resolve(typ, pkg, known):
    if typ in SCALARS:
        return typ
    if typ.startswith('.'):
        full = typ[1:]
        if full in known:
            return full
        sys.exit('unknown type %s' % typ)
    scope = pkg.split('.')
    while scope:
        full = '.'.join(scope + [typ])
        if full in known:
            return full
        scope.pop()
    if typ in known:
        return typ
    sys.exit('unknown type %s in %s' % (typ, pkg))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    files = [(d, av) for d, av in GROUP_VERSIONS] + [(d, None) for d in SUPPORT]
    parsed = []
    known = {}
    for d, av in files:
        pkg, msgs = parse(os.path.join(root, 'k8s.io', d, 'generated.proto'))
        parsed.append((pkg, av, msgs))
        for name, fields in msgs:
            known[pkg + '.' + name] = (pkg, fields)

    # Only messages a request body can hold: objects (with ObjectMeta
    # metadata) and meta/v1 *Options, and what they reference. Lists and
    # query-parameter types are never bodies.
    roots = set()
    for pkg, av, msgs in parsed:
        for name, fields in msgs:
            full = pkg + '.' + name
            if av and any(f[2] == 'metadata' and resolve(f[1], pkg, known) == META + 'ObjectMeta'
                          for f in fields):
                roots.add(full)
            if full.startswith(META) and name.endswith('Options'):
                roots.add(full)
    keep = set()
    todo = sorted(roots)
    while todo:
        full = todo.pop()
        if full in keep:
            continue
        keep.add(full)
        pkg, fields = known[full]
        for f in fields:
            rtyp = resolve(f[1], pkg, known)
            if rtyp not in SCALARS and rtyp not in keep:
                todo.append(rtyp)

    # Messages in table order: group-versions first (each a contiguous
    # range, sorted by name), then the support packages.
    order = []
    gvs = []
    for pkg, av, msgs in parsed:
        first = len(order)
        order += sorted(pkg + '.' + n for n, _ in msgs if pkg + '.' + n in keep)
        if av:
            gvs.append((av, first, len(order) - first))
    index = {full: i for i, full in enumerate(order)}

    names = {}
    pool = []
    pool_len = [0]

    def name_off(s):
        if s not in names:
            names[s] = pool_len[0]
            pool.append(s)
            pool_len[0] += len(s) + 1
        return names[s]

    out_msgs = []
    out_fields = []
    for full in order:
        pkg, fields = known[full]
        first = len(out_fields)
        for label, typ, fname, num in sorted(fields, key=lambda f: f[3]):
            rtyp = resolve(typ, pkg, known)
            flags = []
            if label == 'repeated':
                flags.append('PF_REPEATED')
            elif label == 'map':
                flags.append('PF_MAP')
            if (full, fname) in INLINE:
                flags.append('PF_INLINE')
            if (full, fname) in KEEP_EMPTY:
                flags.append('PF_KEEP_EMPTY')
            if (full, fname) in OMIT_ZERO:
                flags.append('PF_OMIT_ZERO')
            jname = RENAME.get((full, fname), fname)
            if rtyp in SCALARS:
                kind, ref = SCALARS[rtyp], 0
            else:
                kind, ref = 'PK_MSG', index[rtyp]
            if num >= 1 << 8:
                sys.exit('%s.%s: field number %d too large' % (full, fname, num))
            out_fields.append('{%d,%d,%d,%s,%s}' % (
                name_off(jname), ref, num, kind, '|'.join(flags) or '0'))
        if len(out_fields) - first >= 1 << 8:
            sys.exit('%s: too many fields' % full)
        short = full.rsplit('.', 1)[1]
        out_msgs.append('{%d,%d,%d,%s}' % (name_off(short), first,
                                           len(out_fields) - first,
                                           SPECIAL.get(full, 'PS_NONE')))
    for full, fname in INLINE | KEEP_EMPTY | OMIT_ZERO | set(RENAME):
        if full not in keep or fname not in [f[2] for f in known[full][1]]:
            sys.exit('%s.%s: no such field' % (full, fname))
    if pool_len[0] >= 1 << 16 or len(out_fields) >= 1 << 16:
        sys.exit('tables too large for 16-bit offsets')

    w = sys.stdout.write
    w('/* Generated by tools/gen-proto.py from the Kubernetes generated.proto\n'
      ' * files; do not edit. Layout: server/proto.h. */\n'
      '#include "server/proto.h"\n\n')
    w('const char proto__names[] =\n')
    line = ''
    for s in pool:
        piece = s + '\\0'
        if len(line) + len(piece) > 70:
            w('\t"%s"\n' % line)
            line = ''
        line += piece
    w('\t"%s";\n\n' % line)
    w('const struct proto_msg proto__msgs[] = {\n')
    for i in range(0, len(out_msgs), 6):
        w('\t' + ','.join(out_msgs[i:i + 6]) + ',\n')
    w('};\n\nconst struct proto_field proto__fields[] = {\n')
    for i in range(0, len(out_fields), 4):
        w('\t' + ','.join(out_fields[i:i + 4]) + ',\n')
    w('};\n\nconst struct proto_gv proto__gvs[] = {\n')
    for av, first, n in gvs:
        w('\t{"%s",%d,%d},\n' % (av, first, n))
    w('};\n\n')
    w('const unsigned proto__nmsgs = %d;\n' % len(out_msgs))
    w('const unsigned proto__ngvs = %d;\n' % len(gvs))


if __name__ == '__main__':
    main()
