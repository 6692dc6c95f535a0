#!/usr/bin/env bash
# Installs every build, run-time and test dependency of k1s with apt-get.
# Idempotent and non-interactive; run as root (make install-deps).
set -eu
export DEBIAN_FRONTEND=noninteractive
pkgs=(
	# build
	build-essential pkg-config file git
	libuv1-dev libmbedtls-dev libsqlite3-dev libcjson-dev libnftnl-dev libmnl-dev
	libhttp-parser-dev libyaml-dev zlib1g-dev libzstd-dev libarchive-dev libldns-dev
	# fuzzing and sanitizers
	clang libclang-rt-14-dev
	# static build: Debian source packages of libraries shipped without .a,
	# and the .a files libarchive's static link names
	dpkg-dev libacl1-dev liblz4-dev
	# run time
	runc nftables iproute2 btrfs-progs
	# tests and benchmarks
	busybox-static etcd-server etcd-client python3-kubernetes curl procps psmisc util-linux openssl dnsmasq-base
	# grpc probe test (a grpc.health.v1 server in python)
	python3-grpcio
	iperf3
	# registry pull test: a local registry, pushes, bcrypt htpasswd
	docker-registry skopeo apache2-utils
	# bench/dns: the load generator and a resolver to compare with (run in
	# the foreground by the bench; no system service is used)
	dnsperf unbound
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# make static builds cJSON and libmnl (no .a in Debian) from their Debian
# source packages: mirror each Debian 'deb' entry as a 'deb-src' entry.
enable_deb_src() {
	local d=/etc/apt/sources.list.d f
	apt-cache showsrc libmnl 2>/dev/null | grep -q '^Package:' && return 0
	for f in "$d"/*.sources; do
		[ -e "$f" ] && [ "$f" != "$d/k1s-deb-src.sources" ] && cat "$f" && echo
	done | awk -v RS= -v ORS='\n\n' '
		/(^|\n)Types:[^\n]*[[:space:]]deb([[:space:]]|$)/ && /(^|\n)URIs:[^\n]*debian/ &&
		!/(^|\n)Enabled:[[:space:]]*no/ {
			sub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, ""); print }' \
		> "$d/k1s-deb-src.sources"
	cat /etc/apt/sources.list "$d"/*.list 2>/dev/null |
		sed -n 's/^[[:space:]]*deb[[:space:]]\(.*debian.*\)/deb-src \1/p' > "$d/k1s-deb-src.list"
	[ -s "$d/k1s-deb-src.sources" ] || rm -f "$d/k1s-deb-src.sources"
	[ -s "$d/k1s-deb-src.list" ] || rm -f "$d/k1s-deb-src.list"
	apt-get update -qq
}
enable_deb_src
# unbound's package may start a system resolver: the bench runs its own
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled unbound >/dev/null 2>&1; then
	systemctl disable --now unbound >/dev/null 2>&1 || true
fi
if ! command -v kubectl >/dev/null 2>&1; then
	# Debian's kubernetes-client is an old kubectl (1.20) but a real one;
	# machines here normally have a current kubectl on the PATH already.
	apt-get install -y -qq kubernetes-client 2>/dev/null || {
		echo "install-deps: no kubectl on PATH and none installable here" >&2
		exit 1
	}
fi
echo "install-deps: all dependencies present"
