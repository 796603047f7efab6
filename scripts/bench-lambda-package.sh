#!/usr/bin/env bash
# Lambda package size and the handler's time to first response in a fresh process, today's publish
# (plain `dotnet publish`, every platform's runtimes) against scripts/publish-lambdas.sh (one RID,
# ReadyToRun, no SQLite). Prints a markdown table.
#   scripts/bench-lambda-package.sh [--samples 10]
# The cold start is measured on this machine's architecture (linux-x64): an arm64 package cannot run
# here, so the configured arm64 package is reported for size only.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
log() { echo "[bench-lambda $(date +%T)] $*" >&2; }

samples=10
[ "${1:-}" = "--samples" ] && samples="$2"
work="$(mktemp -d -t edgelabel-lambda-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
log "publishing: baseline (plain dotnet publish), linux-x64 R2R, linux-arm64 R2R"
# Baseline = how scripts/synth.sh published before: no RID, so runtimes/ for every platform. Publish="false"
# on SQLite is switched off to reproduce it.
dotnet publish lambdas/EdgeLabeling.Lambdas -c Release -o "$work/baseline" -p:EdgeLabelingPublishSqlite=true --verbosity quiet -nologo
scripts/publish-lambdas.sh --arch x86_64 --output "$work/x64" >&2
scripts/publish-lambdas.sh --arch x86_64 --no-r2r --output "$work/x64-jit" >&2
scripts/publish-lambdas.sh --arch arm64 --output "$work/arm64" >&2
dotnet build benchmarks/EdgeLabeling.Benchmarks -c Release --verbosity quiet -nologo >&2
host=benchmarks/EdgeLabeling.Benchmarks/bin/Release/net10.0/EdgeLabeling.Benchmarks.dll

# An S3 configuration test event through SQS: the ingest handler answers without touching S3 or DynamoDB.
cat > "$work/event.json" <<'JSON'
{"Records":[{"messageId":"m-1","receiptHandle":"r","body":"{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\",\"Time\":\"2026-12-03T10:00:00.000Z\",\"Bucket\":\"incoming\",\"RequestId\":\"1\",\"HostId\":\"h\"}","attributes":{},"messageAttributes":{},"md5OfBody":"x","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:eu-west-1:111111111111:q","awsRegion":"eu-west-1"}]}
JSON
# What the deployed ingest function sees (dummy credentials: nothing is called).
export AWS_LAMBDA_FUNCTION_NAME=EdgeLabeling-bench-IngestFunction AWS_EXECUTION_ENV=AWS_Lambda_dotnet10 AWS_REGION=eu-west-1 \
  TABLE_NAME=pending DATA_BUCKET=data INCOMING_BUCKET=incoming AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench
handler=EdgeLabeling.Lambdas::EdgeLabeling.Lambdas.IngestFunction::HandleAsync

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
measure() { # <package-dir> → "median-total-ms median-process-ms"
  local dir="$1" i start end line totals="" procs=""
  for i in $(seq "$samples"); do
    start=$(date +%s%N)
    line=$(dotnet "$host" lambda-first-response "$dir" "$handler" "$work/event.json" 2>/dev/null | grep '^first-response-ms')
    end=$(date +%s%N)
    totals+="$(sed 's/.*total=//' <<<"$line")"$'\n'
    procs+="$(( (end - start) / 1000000 ))"$'\n'
  done
  echo "$(printf '%s' "$totals" | median) $(printf '%s' "$procs" | median)"
}
size() { echo "$(du -sb "$1" | cut -f1) $(find "$1" -type f | wc -l) $(cd "$1" && zip -qr "$work/$(basename "$1").zip" . && stat -c %s "$work/$(basename "$1").zip")"; }

read -r b_bytes b_files b_zip < <(size "$work/baseline")
read -r x_bytes x_files x_zip < <(size "$work/x64")
read -r j_bytes j_files j_zip < <(size "$work/x64-jit")
read -r a_bytes a_files a_zip < <(size "$work/arm64")
log "cold starts: $samples fresh processes per package"
read -r b_first b_proc < <(measure "$work/baseline")
read -r j_first j_proc < <(measure "$work/x64-jit")
read -r x_first x_proc < <(measure "$work/x64")

mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f %%", 100 * a / b}'; }
echo "| package | files | unpacked MiB | zip MiB | zip vs baseline | first response ms (median) | vs baseline | process wall ms (median) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
echo "| baseline: \`dotnet publish\` (all RIDs, SQLite) | $b_files | $(mb "$b_bytes") | $(mb "$b_zip") | 100 % | $b_first | 100 % | $b_proc |"
echo "| linux-x64, no SQLite, JIT | $j_files | $(mb "$j_bytes") | $(mb "$j_zip") | $(pct "$j_zip" "$b_zip") | $j_first | $(pct "$j_first" "$b_first") | $j_proc |"
echo "| linux-x64, no SQLite, ReadyToRun | $x_files | $(mb "$x_bytes") | $(mb "$x_zip") | $(pct "$x_zip" "$b_zip") | $x_first | $(pct "$x_first" "$b_first") | $x_proc |"
echo "| linux-arm64, no SQLite, ReadyToRun (deployed; size only) | $a_files | $(mb "$a_bytes") | $(mb "$a_zip") | $(pct "$a_zip" "$b_zip") | n/a | n/a | n/a |"
log "done; load: $(cut -d' ' -f1-3 /proc/loadavg)"
