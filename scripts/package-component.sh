#!/usr/bin/env bash
# Builds the Greengrass V2 component: one ZIP artifact per runtime identifier (a self-contained publish
# of edgelabeling-component with the ONNX model inside, under model/) and the recipe that uses them.
#
#   scripts/package-component.sh VERSION [--rid linux-x64] [--rid linux-arm64] [--framework-dependent]
#                                [--model PATH] [--artifact-base s3://bucket/prefix] [--bucket NAME]
#                                [--component-name NAME] [--out DIR]
#
# Default: both linux-x64 (Greengrass "amd64") and linux-arm64 ("aarch64"), self-contained (no .NET on
# the device). --framework-dependent makes a small ZIP that needs the .NET 10 runtime on the device; it is
# faster to build, and the Run step then starts it with 'dotnet'.
# Output: artifacts/component/VERSION/{recipe.json, edgelabeling-component-<rid>.zip}. Upload the ZIPs to
# --artifact-base (default s3://edgelabeling-artifacts/components/<name>/VERSION) before creating the
# component version from recipe.json.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
log() { echo "[package $(date +%T)] $*" >&2; }
die() { echo "package-component: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: $0 VERSION [--rid RID]... [--framework-dependent] [--model PATH] [--artifact-base URI] [--bucket NAME] [--out DIR]"
VERSION=$1; shift
[[ $VERSION =~ ^[0-9]{1,6}\.[0-9]{1,6}\.[0-9]{1,6}$ ]] || die "version '$VERSION' must be major.minor.patch (each 0-999999)"

RIDS=()
SELF_CONTAINED=true
MODEL=samples/models/parts-detector.onnx
NAME=com.edgelabeling.Component
BUCKET=edgelabeling-incoming
ARTIFACT_BASE=""
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rid) RIDS+=("${2:?--rid needs a value}"); shift 2 ;;
    --framework-dependent) SELF_CONTAINED=false; shift ;;
    --model) MODEL=${2:?--model needs a path}; shift 2 ;;
    --artifact-base) ARTIFACT_BASE=${2:?}; shift 2 ;;
    --bucket) BUCKET=${2:?}; shift 2 ;;
    --component-name) NAME=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[ ${#RIDS[@]} -gt 0 ] || RIDS=(linux-x64 linux-arm64)
[[ $NAME =~ ^[a-zA-Z0-9._-]{1,128}$ ]] || die "component name '$NAME' must match [a-zA-Z0-9._-], at most 128 characters"
[ -f "$MODEL" ] || die "model '$MODEL' not found (generate samples first or pass --model)"
ARTIFACT_BASE=${ARTIFACT_BASE:-s3://edgelabeling-artifacts/components/$NAME/$VERSION}
OUT=${OUT:-artifacts/component/$VERSION}
# One packaging at a time per checkout: concurrent publishes of the same projects share obj/ and corrupt each other.
mkdir -p artifacts
exec 9>artifacts/.package-component.lock
flock 9
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT

zip_dir() { # zip_dir DIR ZIPFILE : the files of DIR at the root of the archive, the same bytes for the same files
  # Greengrass extracts an Unarchive: ZIP artifact into {artifacts:decompressedPath}/<zip name>/ itself,
  # so the archive must not add another folder level. Sorted entries, fixed timestamps and modes: a version's
  # artifact is immutable once uploaded (devices verify its digest), so repackaging must reproduce it exactly.
  python3 scripts/deterministic-zip.py "$1" "$2"
}

# keep_or_refuse NEW FINAL : moves NEW to FINAL, unless FINAL exists with other bytes. A component version is
# immutable: its artifacts stay under components/<name>/<version>/ for every device that may still install it,
# and each device checks the digest recorded when the version was created.
keep_or_refuse() {
  if [ -e "$2" ] && ! cmp -s "$1" "$2"; then
    die "version $VERSION is already packaged in $OUT with different content ($(basename "$2")); a released version never changes: bump the version (or delete $OUT if $VERSION was never uploaded)"
  fi
  mv -f "$1" "$2"
}

MANIFESTS=""
for RID in "${RIDS[@]}"; do
  case "$RID" in
    linux-x64) ARCH=amd64 ;;
    linux-arm64) ARCH=aarch64 ;;
    *) die "runtime identifier '$RID' is not supported (linux-x64, linux-arm64)" ;;
  esac
  ARCHIVE=edgelabeling-component-$RID
  DEST=$STAGE/$ARCHIVE
  log "publishing $RID (self-contained=$SELF_CONTAINED)"
  dotnet publish edge-component/EdgeLabeling.Edge.Component/EdgeLabeling.Edge.Component.csproj \
    -c Release -r "$RID" --self-contained "$SELF_CONTAINED" -o "$DEST" -nologo -v quiet
  # Symbols are dropped here rather than with -p:DebugType=none: that property leaves the shared obj/ state
  # expecting .pdb files, and the next plain Release build of the solution fails to copy them.
  find "$DEST" -name '*.pdb' -delete
  mkdir -p "$DEST/model"
  cp "$MODEL" "$DEST/model/"
  zip_dir "$DEST" "$STAGE/$ARCHIVE.zip"
  keep_or_refuse "$STAGE/$ARCHIVE.zip" "$OUT/$ARCHIVE.zip"
  log "wrote $OUT/$ARCHIVE.zip ($(du -h "$OUT/$ARCHIVE.zip" | cut -f1))"
  if [ "$SELF_CONTAINED" = true ]; then ENTRY=edgelabeling-component; PREFIX="exec "; else ENTRY=edgelabeling-component.dll; PREFIX="exec dotnet "; fi
  M=$(sed -e "s|{{ARCH}}|$ARCH|g" -e "s|{{ARCHIVE}}|$ARCHIVE|g" -e "s|{{ENTRY}}|$ENTRY|g" -e "s|{{RUN_PREFIX}}|$PREFIX|g" \
          -e "s|{{MODEL_FILE}}|$(basename "$MODEL")|g" -e "s|{{ARTIFACT_BASE}}|$ARTIFACT_BASE|g" edge-component/greengrass/manifest.template.json)
  MANIFESTS=${MANIFESTS:+$MANIFESTS, }$M
done

# A 32-bit OS reports architecture "arm": no ONNX Runtime or .NET build exists for it, so that manifest has no
# artifacts and an Install step that fails the deployment with a message saying so (instead of "no manifest matches").
M=$(sed -e "s|{{COMPONENT_NAME}}|$NAME|g" -e "s|{{VERSION}}|$VERSION|g" edge-component/greengrass/manifest-unsupported-arm.template.json)
MANIFESTS="$MANIFESTS, $M"

# exec: the nucleus sends SIGTERM to the sh -c wrapper's children; with exec the component is that process.
RECIPE=$OUT/recipe.json
{
  while IFS= read -r line; do
    case "$line" in
      *'{{MANIFESTS}}'*) printf '%s\n' "${line%%\{\{MANIFESTS\}\}*}[$MANIFESTS]${line##*\{\{MANIFESTS\}\}}" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done < edge-component/greengrass/recipe.template.json
} | sed -e "s|{{VERSION}}|$VERSION|g" -e "s|{{COMPONENT_NAME}}|$NAME|g" -e "s|{{BUCKET}}|$BUCKET|g" > "$STAGE/recipe.json"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$STAGE/recipe.json" || die "generated recipe is not valid JSON"
keep_or_refuse "$STAGE/recipe.json" "$RECIPE"
log "wrote $RECIPE"
echo "$OUT"
