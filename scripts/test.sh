#!/usr/bin/env bash
# Runs every test of the solution, unit and integration, against a real radosgw on 127.0.0.1.
# Starts the S3 server when none answers and stops it again afterwards.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
log() { echo "[test $(date +%T)] $*" >&2; }

scripts/setup.sh

# Pin the shared server's folder before TMPDIR changes below, so start, stop and the fault tests agree.
export RGW_DIR=${RGW_DIR:-${TMPDIR:-/tmp}/rgw-s3}
# The tests' temporary files (and the 64 MB the jsii runtime unpacks per CDK test process) go to one
# scratch folder that is removed afterwards, so repeated runs do not fill the machine's /tmp.
started_rgw=0
started_dynamodb=0
scratch=$(mktemp -d "${TMPDIR:-/tmp}/edgelabel-tests.XXXXXX")
# Like /tmp itself: the Greengrass harness runs the component as an unprivileged user, which must reach its
# folders under this one (mktemp makes it 0700, root only).
chmod 1777 "$scratch"
cleanup() {
  if [ "$started_rgw" = 1 ]; then scripts/rgw.sh stop || true; fi
  if [ "$started_dynamodb" = 1 ]; then scripts/dynamodb.sh stop || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
if ! curl -s "http://127.0.0.1:${RGW_PORT:-7480}/" | grep -q ListAllMyBucketsResult; then
  scripts/rgw.sh start >/dev/null
  started_rgw=1
fi
eval "$(scripts/rgw.sh env)"
if ! scripts/dynamodb.sh up; then
  scripts/dynamodb.sh start >/dev/null
  started_dynamodb=1
fi
eval "$(scripts/dynamodb.sh env)"
export EDGELABEL_RGW_SCRIPT="$PWD/scripts/rgw.sh"

log "dotnet build"
dotnet build EdgeLabelingStack.sln -c Release --verbosity quiet -nologo
log "dotnet test"
results=$(mktemp)
set +e
TMPDIR="$scratch" dotnet test EdgeLabelingStack.sln -c Release --no-build --verbosity quiet -nologo "$@" 2>&1 | tee "$results"
rc=${PIPESTATUS[0]}
set -e
# One closing line over all test assemblies (vstest prints one summary per assembly).
awk '/(Passed|Failed)!  - Failed:/ {
       for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     } END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$results"
rm -f "$results"
exit "$rc"
