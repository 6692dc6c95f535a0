#!/bin/sh
# install.sh - install k1s as a server or an agent.
#
#   curl -sfL https://get.k1s.io | sh -                          # a server
#   curl -sfL https://get.k1s.io | K1S_URL=https://srv:6443 K1S_TOKEN=K10... sh -   # an agent
#   sh install.sh                                                # from a checkout
#
# Environment (as k3s's installer, with K1S names):
#   K1S_URL, K1S_TOKEN, K1S_TOKEN_FILE  join a server: installs an agent
#   INSTALL_K1S_EXEC          "server"/"agent" and/or extra flags ("server --tls-san x")
#   INSTALL_K1S_VERSION       release to download (default: latest)
#   INSTALL_K1S_BIN_DIR       where the binary goes (default /usr/local/bin)
#   INSTALL_K1S_SKIP_DOWNLOAD use the binary already in BIN_DIR, or this checkout's build
#   INSTALL_K1S_SKIP_START    install but don't start
#   INSTALL_K1S_SKIP_ENABLE   don't enable the service at boot (and don't start it)
#   INSTALL_K1S_SYMLINK       "skip" or "force" the kubectl symlink (default: only if none)
#   INSTALL_K1S_DOWNLOAD_URL  base URL of release files (default GitHub releases)
#   INSTALL_K1S_DATA_DIR      data dir the uninstaller removes (default /var/lib/k1s)
# Re-running upgrades in place; the service restarts only when the binary or
# its configuration changed.
set -e

info() { echo "[INFO]  $*"; }
warn() { echo "[WARN]  $*" >&2; }
fatal() { echo "[ERROR] $*" >&2; exit 1; }

BIN_DIR=${INSTALL_K1S_BIN_DIR:-/usr/local/bin}
DATA_DIR=${INSTALL_K1S_DATA_DIR:-/var/lib/k1s}
DOWNLOAD_URL=${INSTALL_K1S_DOWNLOAD_URL:-https://github.com/k1s-io/k1s/releases/download}
SYSTEMD_DIR=/etc/systemd/system
CHANGED=

[ "$(id -u)" -eq 0 ] || fatal "run as root (sudo sh install.sh)"

# ---- what to install ----
setup_exec() {
	CMD=server
	set -- ${INSTALL_K1S_EXEC:-}
	case "${1:-}" in
	server|agent) CMD=$1; shift ;;
	esac
	EXTRA="$*"
	if [ -n "${K1S_URL:-}" ] && [ -z "${INSTALL_K1S_EXEC:-}" ]; then
		CMD=agent
	fi
	if [ "$CMD" = agent ]; then
		[ -n "${K1S_URL:-}" ] || fatal "an agent needs K1S_URL (https://SERVER:6443)"
		case "$K1S_URL" in https://*) ;; *) fatal "K1S_URL must start with https://";; esac
		[ -n "${K1S_TOKEN:-}${K1S_TOKEN_FILE:-}" ] || fatal "an agent needs K1S_TOKEN or K1S_TOKEN_FILE"
		SERVICE=k1s-agent
	else
		SERVICE=k1s
	fi
}

# ---- the binary ----
arch() {
	case "$(uname -m)" in
	x86_64|amd64) echo amd64 ;;
	aarch64|arm64) echo arm64 ;;
	armv7l|armhf) echo arm ;;
	*) fatal "unsupported architecture $(uname -m)" ;;
	esac
}

fetch() { # URL FILE
	if command -v curl >/dev/null 2>&1; then
		curl -sfL -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -O "$2" "$1"
	else
		fatal "neither curl nor wget found: install one, or set INSTALL_K1S_SKIP_DOWNLOAD=true"
	fi
}

download() {
	a=$(arch)
	version=${INSTALL_K1S_VERSION:-latest}
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	base=$DOWNLOAD_URL/$version
	info "downloading k1s $version for $a from $base"
	fetch "$base/sha256sum-$a.txt" "$tmp/sums" || fatal "cannot download $base/sha256sum-$a.txt"
	fetch "$base/k1s-$a" "$tmp/k1s" || fatal "cannot download $base/k1s-$a"
	want=$(awk -v f="k1s-$a" '$2 == f || $2 == "*"f {print $1}' "$tmp/sums")
	got=$(sha256sum "$tmp/k1s" | awk '{print $1}')
	[ -n "$want" ] || fatal "no checksum for k1s-$a in sha256sum-$a.txt"
	[ "$want" = "$got" ] || fatal "checksum mismatch for k1s-$a: expected $want, got $got"
	chmod 755 "$tmp/k1s"
	put_binary "$tmp/k1s"
}

put_binary() { # FILE
	mkdir -p "$BIN_DIR"
	if [ -f "$BIN_DIR/k1s" ] && cmp -s "$1" "$BIN_DIR/k1s"; then
		info "$BIN_DIR/k1s is up to date"
		return
	fi
	cp "$1" "$BIN_DIR/k1s.new"
	chmod 755 "$BIN_DIR/k1s.new"
	mv -f "$BIN_DIR/k1s.new" "$BIN_DIR/k1s"
	CHANGED=1
	info "installed $BIN_DIR/k1s"
}

install_binary() {
	case "${INSTALL_K1S_SKIP_DOWNLOAD:-}" in
	true|1|yes)
		here=$(dirname "$0")
		if [ -f "$here/install.sh" ]; then
			# this checkout's build: the static binary, unless the plain one is newer
			f=
			[ -x "$here/build/k1s-static" ] && f=$here/build/k1s-static
			if [ -x "$here/build/k1s" ] && { [ -z "$f" ] || [ -n "$(find "$here/build/k1s" -newer "$f")" ]; }; then
				f=$here/build/k1s
			fi
			if [ -n "$f" ]; then
				put_binary "$f"
				return
			fi
		fi
		[ -x "$BIN_DIR/k1s" ] || fatal "INSTALL_K1S_SKIP_DOWNLOAD is set but $BIN_DIR/k1s does not exist"
		info "using $BIN_DIR/k1s"
		;;
	*) download ;;
	esac
}

# ---- runtime dependencies ----
install_deps() {
	missing=
	command -v runc >/dev/null 2>&1 || missing="$missing runc"
	# nftables: k1s talks netlink itself, the package brings the kernel modules' loader and nft for debugging
	command -v nft >/dev/null 2>&1 || missing="$missing nftables"
	[ -z "$missing" ] && return
	info "installing$missing"
	if command -v apt-get >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y $missing >/dev/null
	elif command -v dnf >/dev/null 2>&1; then
		dnf install -y $missing >/dev/null
	elif command -v yum >/dev/null 2>&1; then
		yum install -y $missing >/dev/null
	elif command -v apk >/dev/null 2>&1; then
		apk add --no-cache $missing >/dev/null
	elif command -v zypper >/dev/null 2>&1; then
		zypper --non-interactive install $missing >/dev/null
	else
		fatal "please install$missing with your package manager, then re-run"
	fi || fatal "could not install$missing; install it by hand and re-run"
}

symlinks() {
	case "${INSTALL_K1S_SYMLINK:-}" in
	skip) return ;;
	force) ln -sf k1s "$BIN_DIR/kubectl"; info "symlinked $BIN_DIR/kubectl -> k1s" ;;
	*)
		if ! command -v kubectl >/dev/null 2>&1; then
			ln -sf k1s "$BIN_DIR/kubectl"
			info "symlinked $BIN_DIR/kubectl -> k1s (no kubectl found)"
		fi ;;
	esac
}

# ---- scripts ----
write_file() { # PATH MODE: stdin -> PATH when different; sets CHANGED
	tmpf=$1.tmp.$$
	cat > "$tmpf"
	chmod "$2" "$tmpf"
	if [ -f "$1" ] && cmp -s "$tmpf" "$1"; then
		rm -f "$tmpf"
		return 1
	fi
	mv -f "$tmpf" "$1"
	return 0
}

write_killall() {
	write_file "$BIN_DIR/k1s-killall.sh" 755 <<EOF || true
#!/bin/sh
# k1s-killall.sh - stop k1s, its shims and containers; remove its links,
# nftables tables, mounts and cgroups. Data stays (see k1s-uninstall.sh).
[ "\$(id -u)" -eq 0 ] || exec sudo "\$0" "\$@"
BIN_DIR=$BIN_DIR
DATA_DIR=$DATA_DIR
for s in k1s k1s-agent; do
	if [ -d /run/systemd/system ]; then systemctl stop "\$s" 2>/dev/null; fi
	if command -v rc-service >/dev/null 2>&1; then rc-service "\$s" stop 2>/dev/null; fi
	# the supervisor loop runs while its pid file exists: remove it first
	if [ -f "/run/\$s.pid" ]; then p=\$(cat "/run/\$s.pid"); rm -f "/run/\$s.pid"; kill "\$p" 2>/dev/null; fi
done
pkill -f "^\$BIN_DIR/k1s (server|agent|supervise)" 2>/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do pgrep -f "^\$BIN_DIR/k1s (server|agent)" >/dev/null || break; sleep 0.5; done
pkill -9 -f "^\$BIN_DIR/k1s (server|agent|supervise)" 2>/dev/null
# containers: runc's state, then every shim (and with it the container)
for root in /run/k1s/runc; do
	[ -d "\$root" ] || continue
	for id in \$(runc --root "\$root" list -q 2>/dev/null); do runc --root "\$root" delete -f "\$id" 2>/dev/null; done
done
pkill -9 -f "k1s shim \$DATA_DIR/" 2>/dev/null
# mounts under the data dir and /run/k1s, deepest first
for m in \$(awk '{print \$2}' /proc/self/mounts | grep -E "^(\$DATA_DIR|/run/k1s)(/|\$)" | sort -r); do umount -l "\$m" 2>/dev/null; done
# links named k1s*, nftables tables named k1s*
for l in \$(ip -o link show 2>/dev/null | awk -F': ' '{print \$2}' | cut -d@ -f1 | grep '^k1s'); do ip link del "\$l" 2>/dev/null; done
if command -v nft >/dev/null 2>&1; then
	nft list tables 2>/dev/null | while read -r _ fam name; do
		case "\$name" in k1s*) nft delete table "\$fam" "\$name" ;; esac
	done
fi
# cgroups made for pods
for c in /sys/fs/cgroup/*/k1s /sys/fs/cgroup/k1s; do
	[ -d "\$c" ] && find "\$c" -depth -type d -exec rmdir {} \\; 2>/dev/null
done
rm -rf /run/k1s
exit 0
EOF
}

write_uninstall() { # NAME SERVICE
	write_file "$BIN_DIR/$1" 755 <<EOF || true
#!/bin/sh
# $1 - remove k1s: stop everything, then the binary, services, /etc/k1s and the data.
[ "\$(id -u)" -eq 0 ] || exec sudo "\$0" "\$@"

"$BIN_DIR/k1s-killall.sh"
if [ -d /run/systemd/system ]; then
	systemctl disable "$2" 2>/dev/null
	rm -f "$SYSTEMD_DIR/$2.service" "$SYSTEMD_DIR/$2.service.env"
	systemctl daemon-reload
fi
if command -v rc-update >/dev/null 2>&1; then rc-update delete "$2" default 2>/dev/null; fi
rm -f "/etc/init.d/$2" "/etc/k1s/$2.env" "/var/log/$2.log" "/run/$2.pid"
[ "\$(readlink "$BIN_DIR/kubectl" 2>/dev/null)" = k1s ] && rm -f "$BIN_DIR/kubectl"
rm -rf /etc/k1s "$DATA_DIR" /run/k1s
rm -f "$BIN_DIR/k1s" "$BIN_DIR/k1s-killall.sh" "$BIN_DIR/k1s-uninstall.sh" "$BIN_DIR/k1s-agent-uninstall.sh"
EOF
}

# ---- the service ----
write_env() {
	mkdir -p /etc/k1s
	{
		echo "# written by install.sh; edit and restart $SERVICE"
		[ -n "${K1S_URL:-}" ] && echo "K1S_URL=$K1S_URL"
		[ -n "${K1S_TOKEN:-}" ] && echo "K1S_TOKEN=$K1S_TOKEN"
		[ -n "${K1S_TOKEN_FILE:-}" ] && echo "K1S_TOKEN_FILE=$K1S_TOKEN_FILE"
		true
	} | write_file "/etc/k1s/$SERVICE.env" 600 && CHANGED=1 || true
}

systemd_unit() {
	write_file "$SYSTEMD_DIR/$SERVICE.service" 644 <<EOF && CHANGED=1 || true
[Unit]
Description=k1s - a small Kubernetes ($CMD)
Documentation=https://k1s.io
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
EnvironmentFile=-/etc/k1s/$SERVICE.env
ExecStart=$BIN_DIR/k1s $CMD $EXTRA
KillMode=process
Delegate=yes
LimitNOFILE=1048576
LimitNPROC=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s

[Install]
WantedBy=multi-user.target
EOF
	systemctl daemon-reload
	case "${INSTALL_K1S_SKIP_ENABLE:-}" in true|1|yes) return ;; esac
	systemctl enable "$SERVICE" >/dev/null 2>&1
	case "${INSTALL_K1S_SKIP_START:-}" in true|1|yes) return ;; esac
	if [ -n "$CHANGED" ] || ! systemctl is-active --quiet "$SERVICE"; then
		info "starting $SERVICE"
		systemctl restart "$SERVICE"
	else
		info "$SERVICE is running and nothing changed"
	fi
}

openrc_service() {
	write_file "/etc/init.d/$SERVICE" 755 <<EOF && CHANGED=1 || true
#!/sbin/openrc-run
description="k1s - a small Kubernetes ($CMD)"
command="$BIN_DIR/k1s"
command_args="$CMD $EXTRA"
command_background=true
pidfile="/run/$SERVICE.pid"
output_log="/var/log/$SERVICE.log"
error_log="/var/log/$SERVICE.log"
supervisor=supervise-daemon
respawn_delay=5
depend() { need net; after firewall; }
start_pre() { [ -f /etc/k1s/$SERVICE.env ] && set -a && . /etc/k1s/$SERVICE.env && set +a; return 0; }
EOF
	case "${INSTALL_K1S_SKIP_ENABLE:-}" in true|1|yes) return ;; esac
	rc-update add "$SERVICE" default >/dev/null
	case "${INSTALL_K1S_SKIP_START:-}" in true|1|yes) return ;; esac
	if [ -n "$CHANGED" ]; then rc-service "$SERVICE" restart; else rc-service "$SERVICE" start; fi
}

# No init system: run k1s under a small restart loop, with a pid file and a log.
background() {
	case "${INSTALL_K1S_SKIP_START:-}${INSTALL_K1S_SKIP_ENABLE:-}" in *true*|*1*|*yes*) return ;; esac
	pidf=/run/$SERVICE.pid
	if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
		[ -z "$CHANGED" ] && { info "$SERVICE is running and nothing changed"; return; }
		info "restarting $SERVICE"
		kill "$(cat "$pidf")" 2>/dev/null || true
		i=0; while kill -0 "$(cat "$pidf")" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
	fi
	log=/var/log/$SERVICE.log
	mkdir -p /var/log
	# the loop restarts k1s like Restart=always would, while the pid file
	# exists; TERM to the loop stops both
	: > "$pidf"
	(
		trap 'kill "$child" 2>/dev/null; wait "$child"; exit 0' TERM INT
		while [ -f "$pidf" ]; do	# k1s-killall.sh removes it: no restart after that
			set -a; [ -f "/etc/k1s/$SERVICE.env" ] && . "/etc/k1s/$SERVICE.env"; set +a
			"$BIN_DIR/k1s" $CMD $EXTRA >> "$log" 2>&1 &
			child=$!
			wait "$child" || true
			sleep 5
		done
	) < /dev/null > /dev/null 2>&1 &
	echo $! > "$pidf.new" && mv -f "$pidf.new" "$pidf"
	info "no systemd or OpenRC found: started $SERVICE in the background (pid $(cat "$pidf"), log $log)"
}

main() {
	setup_exec
	install_deps
	install_binary
	symlinks
	write_killall
	if [ "$CMD" = agent ]; then
		write_uninstall k1s-agent-uninstall.sh "$SERVICE"
	else
		write_uninstall k1s-uninstall.sh "$SERVICE"
	fi
	write_env
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		systemd_unit
	elif command -v openrc-run >/dev/null 2>&1 || [ -x /sbin/openrc-run ]; then
		openrc_service
	else
		background
	fi
	info "done: k1s $CMD${EXTRA:+ $EXTRA}"
}

main "$@"
