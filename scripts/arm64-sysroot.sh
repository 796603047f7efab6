#!/usr/bin/env bash
# Builds an arm64 root of Debian 11 (bullseye) libraries for running the linux-arm64 component under
# qemu-user on an x86-64 machine: glibc 2.31, libstdc++ 10, OpenSSL 1.1, ICU 67 and SQLite 3.34.1 — the
# libraries of the oldest OS generation the component supports (Debian 11, Raspberry Pi OS bullseye;
# Ubuntu 20.04 is the same glibc). The packages come from the Debian archive through apt with a private
# configuration, so the machine's own apt sources and dpkg state are left alone.
#
#   scripts/arm64-sysroot.sh [DIR]     (default: ${XDG_CACHE_HOME:-~/.cache}/edgelabeling/arm64-bullseye)
#
# Prints DIR. DIR/sysroot is the -L root for qemu-aarch64-static; DIR/cpuinfo is an arm64 /proc/cpuinfo to
# bind-mount over the host's (ONNX Runtime's CPU probe crashes on the host's x86 one); DIR/amd64-sqlite holds
# Debian 11's x86-64 libsqlite3.so.0 (3.34.1), for running the queue's tests natively against that SQLite
# through LD_LIBRARY_PATH. Idempotent.
set -Eeuo pipefail
log() { echo "[arm64-sysroot $(date +%T)] $*" >&2; }

DIR=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/edgelabeling/arm64-bullseye}
PACKAGES=(libc6 libstdc++6 libgcc-s1 libssl1.1 libicu67 libsqlite3-0 zlib1g)
STAMP="$DIR/.complete-$(printf '%s\n' "${PACKAGES[@]}" amd64-sqlite | sha256sum | cut -c1-12)"
if [ -f "$STAMP" ]; then echo "$DIR"; exit 0; fi

rm -rf "$DIR"
mkdir -p "$DIR"/apt/{lists/partial,cache/archives/partial,etc} "$DIR/debs" "$DIR/sysroot"
cat > "$DIR/apt/etc/sources.list" <<SRC
deb [arch=arm64,amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main
SRC
cat > "$DIR/apt/apt.conf" <<CONF
Dir::Etc::sourcelist "$DIR/apt/etc/sources.list";
Dir::Etc::sourceparts "-";
Dir::State::Lists "$DIR/apt/lists";
Dir::State::status "/dev/null";
Dir::Cache "$DIR/apt/cache";
APT::Architecture "arm64";
APT::Architectures { "arm64"; "amd64"; };
APT::Sandbox::User "root";
CONF
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || { log "needs the debian-archive-keyring package"; exit 1; }
log "apt-get update (Debian 11 bullseye, arm64, private state in $DIR/apt)"
APT_CONFIG="$DIR/apt/apt.conf" apt-get update -qq
log "apt-get download ${PACKAGES[*]}"
(cd "$DIR/debs" && APT_CONFIG="$DIR/apt/apt.conf" apt-get download -qq "${PACKAGES[@]/%/:arm64}")
for deb in "$DIR"/debs/*.deb; do dpkg-deb -x "$deb" "$DIR/sysroot"; done
mkdir -p "$DIR/debs-amd64" "$DIR/amd64-root" "$DIR/amd64-sqlite"
(cd "$DIR/debs-amd64" && APT_CONFIG="$DIR/apt/apt.conf" apt-get download -qq libsqlite3-0:amd64)
dpkg-deb -x "$DIR"/debs-amd64/*.deb "$DIR/amd64-root"
cp -a "$DIR"/amd64-root/usr/lib/x86_64-linux-gnu/libsqlite3.so.0* "$DIR/amd64-sqlite/"
rm -rf "$DIR/debs-amd64" "$DIR/amd64-root"
rm -rf "$DIR/apt" "$DIR/debs"

# What an arm64 kernel shows (one Cortex-A72 core, as on a Raspberry Pi 4).
cat > "$DIR/cpuinfo" <<'CPU'
processor	: 0
BogoMIPS	: 108.00
Features	: fp asimd evtstrm crc32 cpuid
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x0
CPU part	: 0xd08
CPU revision	: 3

CPU
touch "$STAMP"
log "done: $DIR/sysroot"
echo "$DIR"
