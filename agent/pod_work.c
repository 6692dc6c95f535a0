/*
 * agent/pod_work.c - the blocking halves of the pod workers, run on the
 * libuv thread pool: sandbox + pod network, container create/start (root
 * filesystem, user, OCI spec), stop, remove, teardown, and the node's pod
 * network. Nothing here touches a struct pod or the API; the image store is
 * used under pm->img_mu, IPAM under pm->net_mu; netlink needs no lock (each
 * call opens its own handles). The loop never waits for either mutex.
 */
#include "agent/pod_int.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define POD_SHIM_STOP_MS 2000	/* a sandbox's grace */

static char *ctr_dir_of(const struct pod_manager *pm, const char *id)
{
	const char *us = strchr(id, '_');

	if (!us)
		return NULL;
	return xasprintf("%s/%.*s/ctr/%s", pm->pods_dir, (int)(us - id), id, us + 1);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) && errno != ENOENT && errno != EBUSY && errno != ENOTEMPTY ? -1 : 0;
	return unlink(path) && errno != ENOENT ? -1 : 0;
}

static void rm_tree(const char *path)
{
	if (access(path, F_OK) == 0)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* ---- the node's pod network ---- */

static int parse_cidrs(const char *cidrs, struct inet_prefix *out, size_t *n)
{
	char *copy = xstrdup(cidrs), *save = NULL, *tok;
	int ret = 0;

	*n = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n == 2 || inet_prefix_parse(tok, INET_PREFIX_STRICT, &out[*n])) {
			ret = -EINVAL;
			break;
		}
		(*n)++;
	}
	free(copy);
	return ret ? ret : (*n ? 0 : -EINVAL);
}

int pod__work_net_setup(struct pod_manager *pm, const char *cidrs, char *err, size_t errlen)
{
	struct inet_prefix pfx[2];
	struct net_ipam_addrs gw;
	struct net_ns node = { 0 };
	size_t n;
	bool v4 = false, v6 = false;
	int ret;

	ret = parse_cidrs(cidrs, pfx, &n);
	if (ret) {
		snprintf(err, errlen, "invalid podCIDRs '%s'", cidrs);
		return ret;
	}
	uv_mutex_lock(&pm->net_mu);
	net_ipam_close(&pm->ipam);
	ret = net_ipam_open(&pm->ipam, pm->ipam_dir, pfx, n);
	if (ret == -ESTALE) {	/* the node got other podCIDRs: start afresh */
		char *p4 = xasprintf("%s/ipam-v4", pm->ipam_dir), *p6 = xasprintf("%s/ipam-v6", pm->ipam_dir);

		log_warn("pods: podCIDRs changed to %s: IPAM state reset", cidrs);
		unlink(p4);
		unlink(p6);
		free(p4);
		free(p6);
		ret = net_ipam_open(&pm->ipam, pm->ipam_dir, pfx, n);
	}
	if (ret) {
		snprintf(err, errlen, "%s", net_ipam_error(&pm->ipam));
		goto out;
	}
	net_ipam_gateways(&pm->ipam, &gw);
	ret = net_ns_open(&node, NULL);
	if (!ret)
		ret = net_bridge_ensure(&node, POD_BRIDGE, 0, gw.addr, gw.n);
	for (size_t i = 0; i < n; i++) {
		v4 |= pfx[i].addr.family == AF_INET;
		v6 |= pfx[i].addr.family == AF_INET6;
	}
	if (!ret)
		ret = net_forwarding_enable(&node, v4, v6);
	if (ret)
		snprintf(err, errlen, "%s", net_ns_error(&node));
	else
		pm->net_ready = true;
	net_ns_release(&node);
out:
	uv_mutex_unlock(&pm->net_mu);
	return ret;
}

/* ---- sandbox ---- */

static int pod_net_attach(struct pod_manager *pm, const char *uid, const char *netns,
			  char ips[2][INET_ADDR_STRLEN], size_t *n_ips, char *err, size_t errlen)
{
	char owner[NET_IPAM_OWNER_MAX + 1];
	struct net_ns node = { 0 }, pod = { 0 };
	struct net_pod_net pn = { .owner = owner, .bridge = POD_BRIDGE, .hairpin = true };
	int ret;

	snprintf(owner, sizeof(owner), "%s/eth0", uid);
	uv_mutex_lock(&pm->net_mu);
	if (!pm->net_ready) {
		snprintf(err, errlen, "the node has no podCIDRs yet");
		ret = -EAGAIN;
	} else if ((ret = net_ipam_assign(&pm->ipam, owner, &pn.addrs))) {
		snprintf(err, errlen, "%s", net_ipam_error(&pm->ipam));
	} else {
		net_ipam_gateways(&pm->ipam, &pn.gateways);
		pn.mtu = pm->pod_mtu;
	}
	uv_mutex_unlock(&pm->net_mu);
	if (ret)
		return ret;
	ret = net_ns_open(&node, NULL);
	if (!ret)
		ret = net_ns_open(&pod, netns);
	if (!ret) {
		ret = net_pod_attach(&node, &pod, &pn);
		if (ret == -EEXIST) {	/* left over by an earlier try */
			net_pod_detach(&node, owner);
			ret = net_pod_attach(&node, &pod, &pn);
		}
	}
	if (ret)
		snprintf(err, errlen, "%s", node.err[0] ? node.err : pod.err);
	*n_ips = 0;
	for (size_t i = 0; !ret && i < pn.addrs.n; i++)
		inet_addr_format(&pn.addrs.addr[i].addr, ips[(*n_ips)++]);
	net_ns_release(&pod);
	net_ns_release(&node);
	return ret;
}

int pod__work_sandbox(struct pod_manager *pm, const char *uid, const char *hostname,
		      bool share_pid, bool host_network, char **netns, char ips[2][INET_ADDR_STRLEN],
		      size_t *n_ips, char *err, size_t errlen)
{
	struct rt_sandbox_config cfg = {
		.hostname = hostname, .share_pid = share_pid, .host_network = host_network,
		.start = true,
	};
	struct rt_status st;
	int ret;

	*netns = NULL;
	*n_ips = 0;
	if (rt_container_status(&pm->rt, uid, &st) == 0) {
		/* a sandbox from an earlier try or a dead one: start afresh */
		rt_sandbox_stop(&pm->rt, uid, 0);
		rt_sandbox_remove(&pm->rt, uid);
	}
	ret = rt_sandbox_create(&pm->rt, uid, &cfg);
	if (!ret)
		ret = rt_sandbox_ns_path(&pm->rt, uid, RT_NS_NET, netns);
	if (ret) {
		snprintf(err, errlen, "cannot start the pod sandbox: %s", strerror(-ret));
		goto fail;
	}
	if (!host_network) {
		ret = pod_net_attach(pm, uid, *netns, ips, n_ips, err, errlen);
		if (ret)
			goto fail;
	}
	return 0;
fail:
	free(*netns);
	*netns = NULL;
	rt_sandbox_stop(&pm->rt, uid, 0);
	rt_sandbox_remove(&pm->rt, uid);
	return ret;
}

/* ---- containers ---- */

/* Looks name up in a passwd/group file of the rootfs: its id (field 3) and,
 * for passwd, its group (field 4). */
static int lookup_id(const char *rootfs, const char *file, const char *name, uint32_t *id,
		     uint32_t *gid)
{
	char *path = xasprintf("%s%s", rootfs, file), *text = NULL, *line, *save = NULL;
	int ret = -ENOENT, fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	free(path);
	if (fd < 0)
		return ret;
	close(fd);
	path = xasprintf("%s%s", rootfs, file);
	if (read_file(path, 1 << 20, &text, NULL) < 0) {
		free(path);
		return ret;
	}
	free(path);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = { 0 }, *s = line;

		for (int i = 0; i < 4 && s; i++) {
			f[i] = s;
			s = strchr(s, ':');
			if (s)
				*s++ = '\0';
		}
		if (!f[2] || strcmp(f[0], name))
			continue;
		*id = (uint32_t)strtoul(f[2], NULL, 10);
		if (gid && f[3])
			*gid = (uint32_t)strtoul(f[3], NULL, 10);
		ret = 0;
		break;
	}
	free(text);
	return ret;
}

static bool numeric(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* uid/gid from the image's USER ("u", "u:g", names or numbers), then the
 * securityContext's overrides; runAsNonRoot enforced (-EPERM). */
static int resolve_user(const struct ctr_start *c, const char *rootfs, uint32_t *uid,
			uint32_t *gid, char *err, size_t errlen)
{
	char *u = c->user ? xstrdup(c->user) : NULL, *g = u ? strchr(u, ':') : NULL;
	int ret = 0;

	*uid = 0;
	*gid = 0;
	if (g)
		*g++ = '\0';
	if (u && *u) {
		if (numeric(u)) {
			*uid = (uint32_t)strtoul(u, NULL, 10);
			lookup_id(rootfs, "/etc/passwd", u, uid, gid);	/* the gid, if listed */
		} else if (c->has_uid) {
			/* runAsUser wins over a user name */
		} else if (lookup_id(rootfs, "/etc/passwd", u, uid, gid)) {
			snprintf(err, errlen, "unable to find user %s: no matching entries in passwd file", u);
			ret = -EPERM;
			goto out;
		}
	}
	if (g && *g) {
		if (numeric(g))
			*gid = (uint32_t)strtoul(g, NULL, 10);
		else if (lookup_id(rootfs, "/etc/group", g, gid, NULL)) {
			snprintf(err, errlen, "unable to find group %s: no matching entries in group file", g);
			ret = -EPERM;
			goto out;
		}
	}
	if (c->has_uid)
		*uid = c->uid;
	if (c->has_gid)
		*gid = c->gid;
	if (c->run_as_non_root && *uid == 0) {
		snprintf(err, errlen, "container has runAsNonRoot and image will run as root (pod: %s, container: %s)",
			 c->sandbox, c->name);
		ret = -EPERM;
	}
out:
	free(u);
	return ret;
}

static int touch_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);

	if (fd < 0)
		return -errno;
	fchmod(fd, 0666);
	close(fd);
	return 0;
}

static int create_start(struct pod_manager *pm, struct ctr_start *c, const char *rootfs,
			char *err, size_t errlen)
{
	struct rt_mount *mounts = xcalloc(c->n_mounts + 1, sizeof(*mounts));
	struct rt_create_opts opts = { .log_path = c->log_path, .start = true, .stdin = c->stdin,
				       .stdin_once = c->stdin_once, .tty = c->tty };
	struct rt_spec s = { 0 };
	char *ns_paths[RT_NS__COUNT] = { 0 }, *logdir;
	uint32_t uid, gid;
	size_t nm;
	int ret;

	ret = resolve_user(c, rootfs, &uid, &gid, err, errlen);
	if (ret)
		goto out;
	if (c->n_mounts)
		memcpy(mounts, c->mounts, c->n_mounts * sizeof(*mounts));
	nm = c->n_mounts;
	if (c->term_file && touch_file(c->term_file) == 0)
		mounts[nm++] = (struct rt_mount){
			.kind = RT_MOUNT_BIND, .source = c->term_file, .dest = c->term_path };
	s.rootfs = rootfs;
	s.readonly_rootfs = c->readonly;
	s.args = (const char *const *)c->args;
	s.env = (const char *const *)c->env;
	s.cwd = c->cwd;
	s.uid = uid;
	s.gid = gid;
	s.cap_add = (const char *const *)c->cap_add;
	s.cap_drop = (const char *const *)c->cap_drop;
	s.privileged = c->privileged;
	s.no_new_privileges = c->no_new_privs;
	s.mounts = mounts;
	s.nr_mounts = nm;
	s.hosts_file = c->hosts;
	s.resolv_file = c->resolv;
	s.hostname_file = c->hostname;
	s.res = c->res;
	ret = rt_sandbox_join(&pm->rt, c->sandbox, c->share_pid, &s, ns_paths);
	if (ret) {
		snprintf(err, errlen, "the pod sandbox is gone: %s", strerror(-ret));
		goto out;
	}
	if (c->pid_target &&
	    (ret = pod__eph_join_pid(pm, c->pid_target, &s, &ns_paths[RT_NS_PID], err, errlen)))
		goto out;
	logdir = xstrdup(c->log_path);
	*strrchr(logdir, '/') = '\0';
	mkdir_p(logdir, 0755);
	free(logdir);
	ret = rt_container_create(&pm->rt, c->id, &s, &opts);
	if (ret == -EEXIST) {	/* an earlier try of this attempt */
		rt_container_remove(&pm->rt, c->id);
		ret = rt_container_create(&pm->rt, c->id, &s, &opts);
	}
	if (ret)
		snprintf(err, errlen, "failed to start container \"%s\": %s", c->name, strerror(-ret));
out:
	for (int i = 0; i < RT_NS__COUNT; i++)
		free(ns_paths[i]);
	free(mounts);
	return ret;
}

int pod__work_start(struct pod_manager *pm, struct ctr_start *c, char *err, size_t errlen)
{
	struct img_rootfs r = { 0 };
	int ret;

	uv_mutex_lock(&pm->img_mu);
	ret = img_rootfs_prepare(&pm->images, c->image, c->ctr_dir, &r);
	if (ret)
		snprintf(err, errlen, "%s", img_store_error(&pm->images));
	uv_mutex_unlock(&pm->img_mu);
	if (ret)
		goto out;
	img_rootfs_unmount(&r);		/* an earlier try of this attempt */
	ret = img_rootfs_mount(&r);
	if (ret) {
		snprintf(err, errlen, "cannot mount the root filesystem: %s", strerror(-ret));
		goto out;
	}
	ret = create_start(pm, c, r.merged, err, errlen);
	if (ret) {
		img_rootfs_unmount(&r);
	} else {	/* the start time runtime.c recorded (no `runc state` for it) */
		char *p = xasprintf("%s/%s/started", pm->rt.state_dir, c->id), *text = NULL;

		if (read_file(p, 64, &text, NULL) >= 0)
			c->started_ns = strtoll(text, NULL, 10);
		free(text);
		free(p);
	}
out:
	img_rootfs_release(&r);
	return ret;
}

int pod__work_image(struct pod_manager *pm, const char *ref, char **id, cJSON **config)
{
	const struct img_image *img;
	char *path, *text = NULL;

	*id = NULL;
	*config = NULL;
	uv_mutex_lock(&pm->img_mu);
	img = pm->images_ok ? img_find(&pm->images, ref) : NULL;
	if (!img && pm->images_ok && img_store_reload(&pm->images) == 0)
		img = img_find(&pm->images, ref);	/* imported since (k1s images import) */
	if (img)
		*id = xstrdup(img->id);
	uv_mutex_unlock(&pm->img_mu);
	if (!*id)
		return -ENOENT;
	path = xasprintf("%s/blobs/sha256/%s", pm->images.root, *id + strlen("sha256:"));
	if (read_file(path, IMG_MAX_JSON_BYTES, &text, NULL) >= 0)
		*config = cJSON_Parse(text);
	free(text);
	free(path);
	if (!*config)
		*config = cJSON_CreateObject();
	return 0;
}

int pod__work_stop(struct pod_manager *pm, const char *id, unsigned grace_ms)
{
	return rt_container_stop(&pm->rt, id, grace_ms);
}

int pod__work_remove(struct pod_manager *pm, const char *id)
{
	char *dir = ctr_dir_of(pm, id), *rootfs;
	int ret = rt_container_remove(&pm->rt, id);

	if (dir) {
		rootfs = xasprintf("%s/rootfs", dir);
		umount2(rootfs, MNT_DETACH);
		free(rootfs);
		rm_tree(dir);
		free(dir);
	}
	return ret == -ENOENT ? 0 : ret;
}

int pod__work_status(struct pod_manager *pm, const char *id, struct rt_status *st)
{
	return rt_container_status(&pm->rt, id, st);
}

/* True when id is a container (not the sandbox) of uid. */
static bool of_pod(const char *id, const char *uid)
{
	size_t n = strlen(uid);

	return !strncmp(id, uid, n) && id[n] == '_';
}

int pod__work_teardown(struct pod_manager *pm, const char *uid, unsigned grace_ms, bool all)
{
	char **ids = NULL, owner[NET_IPAM_OWNER_MAX + 1], *dir;
	size_t n = 0;
	uint64_t deadline = mono_ms() + grace_ms;
	int ret;

	ret = rt_container_list(&pm->rt, &ids, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++)
		if (of_pod(ids[i], uid))
			rt_container_kill(&pm->rt, ids[i], SIGTERM);
	for (size_t i = 0; i < n; i++)
		if (of_pod(ids[i], uid)) {
			uint64_t now = mono_ms();

			rt_container_stop(&pm->rt, ids[i], now < deadline ? (unsigned)(deadline - now) : 0);
		}
	if (!all)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (of_pod(ids[i], uid))
			pod__work_remove(pm, ids[i]);
	rt_sandbox_stop(&pm->rt, uid, POD_SHIM_STOP_MS);
	rt_sandbox_remove(&pm->rt, uid);
	snprintf(owner, sizeof(owner), "%s/eth0", uid);
	{
		struct net_ns node = { 0 };

		if (!net_ns_open(&node, NULL)) {
			net_pod_detach(&node, owner);
			net_ns_release(&node);
		}
	}
	uv_mutex_lock(&pm->net_mu);
	if (pm->net_ready)
		net_ipam_unassign(&pm->ipam, owner);
	uv_mutex_unlock(&pm->net_mu);
	dir = xasprintf("%s/%s", pm->pods_dir, uid);
	{
		char *ctr = xasprintf("%s/ctr", dir), *etc[] = {
			xasprintf("%s/etc-hosts", dir), xasprintf("%s/hostname", dir),
			xasprintf("%s/resolv.conf", dir), xasprintf("%s/pod.json", dir),
		};

		rm_tree(ctr);
		free(ctr);
		ctr = xasprintf("%s/termination", dir);
		rm_tree(ctr);
		free(ctr);
		for (size_t i = 0; i < ARRAY_SIZE(etc); i++) {
			unlink(etc[i]);
			free(etc[i]);
		}
	}
	free(dir);
out:
	rt_ids_free(ids, n);
	return 0;
}
