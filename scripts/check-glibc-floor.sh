#!/usr/bin/env bash
# Fails when any ELF file (shared library or executable) in a component archive needs a newer glibc or
# libstdc++ than the documented device floor. The floor is what the fleet's oldest supported OS ships:
# glibc 2.28 (ONNX Runtime's own requirement; Debian 10, RHEL 8) and GLIBCXX 3.4.22 (GCC 6).
#
#   scripts/check-glibc-floor.sh ZIP... [--glibc 2.28] [--glibcxx 3.4.22]
#
# objdump -T lists the versioned symbols each file imports (e.g. "GLIBC_2.34 pthread_create"); the highest
# version is what the file needs. Reads x86-64 and AArch64 files (aarch64-linux-gnu-objdump when plain
# objdump cannot). Prints one line per ELF file and exits 1 when one exceeds the floor.
set -Eeuo pipefail
die() { echo "check-glibc-floor: $*" >&2; exit 2; }

GLIBC_FLOOR=2.28
GLIBCXX_FLOOR=3.4.22
ZIPS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --glibc) GLIBC_FLOOR=${2:?}; shift 2 ;;
    --glibcxx) GLIBCXX_FLOOR=${2:?}; shift 2 ;;
    -*) die "unknown option '$1'" ;;
    *) ZIPS+=("$1"); shift ;;
  esac
done
[ ${#ZIPS[@]} -gt 0 ] || die "usage: $0 ZIP... [--glibc 2.28] [--glibcxx 3.4.22]"

# newer A B : true when version A is above version B
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -1)" = "$1" ]; }

dump() { # dump FILE : objdump -T output, from whichever objdump understands the file's machine
  local tool
  for tool in objdump aarch64-linux-gnu-objdump; do
    if command -v "$tool" >/dev/null && out=$("$tool" -T "$1" 2>/dev/null); then printf '%s\n' "$out"; return 0; fi
  done
  return 1
}

failed=0
checked=0
for ZIP in "${ZIPS[@]}"; do
  [ -f "$ZIP" ] || die "'$ZIP' not found"
  DIR=$(mktemp -d)
  trap 'rm -rf "$DIR"' EXIT
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$ZIP" "$DIR"
  while IFS= read -r -d '' f; do
    [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    rel=${f#"$DIR"/}
    syms=$(dump "$f") || { echo "FAIL $(basename "$ZIP"):$rel: no objdump reads this file (install binutils-aarch64-linux-gnu)"; failed=1; continue; }
    glibc=$(grep -o 'GLIBC_[0-9][0-9.]*' <<<"$syms" | sed 's/GLIBC_//' | sort -uV | tail -1 || true)
    glibcxx=$(grep -o 'GLIBCXX_[0-9][0-9.]*' <<<"$syms" | sed 's/GLIBCXX_//' | sort -uV | tail -1 || true)
    checked=$((checked + 1))
    status=ok
    if [ -n "$glibc" ] && newer "$glibc" "$GLIBC_FLOOR"; then status=FAIL; fi
    if [ -n "$glibcxx" ] && newer "$glibcxx" "$GLIBCXX_FLOOR"; then status=FAIL; fi
    [ "$status" = ok ] || failed=1
    echo "$status $(basename "$ZIP"):$rel glibc=${glibc:-none} glibcxx=${glibcxx:-none}"
  done < <(find "$DIR" -type f -print0 | sort -z)
  rm -rf "$DIR"
done
[ "$checked" -gt 0 ] || die "no ELF files found in ${ZIPS[*]}"
if [ "$failed" = 1 ]; then
  echo "check-glibc-floor: a file needs more than glibc $GLIBC_FLOOR / GLIBCXX $GLIBCXX_FLOOR, the oldest the supported devices have" >&2
  exit 1
fi
echo "check-glibc-floor: $checked ELF files need at most glibc $GLIBC_FLOOR and GLIBCXX $GLIBCXX_FLOOR"
