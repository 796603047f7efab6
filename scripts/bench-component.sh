#!/usr/bin/env bash
# Component throughput: frames/s through the packaged edge component (scripts/package-component.sh, framework-dependent
# linux-x64 ZIP, unzipped and started as Greengrass would, with its packaged demo model), from the moment COUNT frames
# land in its inbox until the last one has been decided and committed to its outbox (the inbox is empty), next to
# session.Run alone on the same model and cores (benchmarks inference-paired, same ONNX Runtime options), one paired
# round right after each component round, so both see the same load. The frames are distinct 320x320 scenes (no near-duplicates, so every frame pays for inference).
# The component's S3 endpoint is a closed local port: uploads are not part of "decided" and fail fast here. The frames
# are renamed into the inbox (whole at once), so the component is told not to wait for files to settle.
# Usage: scripts/bench-component.sh [ROUNDS] [COUNT]   (defaults 3 and 400)
set -Eeuo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
rounds="${1:-3}"
count="${2:-400}"
log() { echo "[bench-component $(date -u +%T)] $*" >&2; }

work="$(mktemp -d -t edgelabel-component-bench.XXXXXX)"
pid=""
cleanup() { [[ -z "$pid" ]] || kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

log "packaging the component (framework-dependent, linux-x64)"
scripts/package-component.sh 0.0.1 --rid linux-x64 --framework-dependent --out "$work/pkg" >&2
mkdir -p "$work/component"
(cd "$work/component" && unzip -q "$work/pkg/edgelabeling-component-linux-x64.zip")
model="$(ls "$work/component/model/"*.onnx | head -1)"
(cd benchmarks/node-peer && npm ci --ignore-scripts --no-audit --no-fund --silent >&2)
node benchmarks/node-peer/make-inputs.js "$work/frames" --count "$count" --dup-every 0

log "building the session-only baseline (benchmarks)"
dotnet build benchmarks/EdgeLabeling.Benchmarks -c Release -v q -nologo >&2
: > "$work/session.tsv"

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick="$(getconf CLK_TCK)"
log "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$work/rounds.tsv"
for ((r = 1; r <= rounds; r++)); do
  inbox="$work/inbox-$r"; state="$work/state-$r"
  mkdir -p "$inbox" "$state"
  mkdir -p "$work/staged-$r"
  cp -p "$work/frames/"*.jpg "$work/staged-$r/"
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench dotnet "$work/component/edgelabeling-component.dll" \
    --ThingName bench-device --InputDirectory "$inbox" --WorkDirectory "$state" --ModelPath "$model" \
    --Bucket edgelabel-bench --S3Endpoint http://127.0.0.1:9 --Region us-east-1 --PollMilliseconds 50 \
    --HeartbeatIntervalSeconds 0 --FileStableMilliseconds 0 > "$work/component-$r.log" 2>&1 &
  pid=$!
  # Ready when it has written its first status file (model loaded, workers started).
  for _ in $(seq 600); do [[ -f "$state/status.json" ]] && break; kill -0 "$pid" 2>/dev/null || { tail -20 "$work/component-$r.log" >&2; exit 1; }; sleep 0.1; done
  [[ -f "$state/status.json" ]] || { log "component did not start"; exit 1; }
  cpu0="$(cpu_ticks "$pid")"
  t0="$(date +%s.%N)"
  # A rename within one file system: every frame appears whole, at once.
  mv "$work/staged-$r/"*.jpg "$inbox/"
  while compgen -G "$inbox/*.jpg" > /dev/null; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$work/component-$r.log" >&2; log "component exited"; exit 1; }
    sleep 0.02
  done
  t1="$(date +%s.%N)"
  cpu1="$(cpu_ticks "$pid")"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  # The component logs JSON lines; each decided frame logs one "Frame <name> -> ..." or "... is a duplicate" message.
  decided="$(grep -c '"Message":"Frame frame-' "$work/component-$r.log" || true)"
  awk -v t0="$t0" -v t1="$t1" -v c0="$cpu0" -v c1="$cpu1" -v hz="$tick" -v n="$count" -v d="$decided" \
    'BEGIN {printf "%d\t%.3f\t%.3f\t%d\n", n, t1 - t0, (c1 - c0) / hz, d}' >> "$work/rounds.tsv"
  # The baseline right after, under the same load: one paired round of session.Run alone on the same model.
  dotnet run -c Release --no-build --project benchmarks/EdgeLabeling.Benchmarks -- inference-paired 1 > "$work/paired-$r.txt"
  awk -F'|' -v m="$(basename "$model")" 'index($2, m) {gsub(/ /, "", $3); split($8, c, "/"); gsub(/ /, "", c[1]); print $3 "\t" c[1]}' "$work/paired-$r.txt" | head -1 >> "$work/session.tsv"
  log "round $r: $(tail -1 "$work/rounds.tsv" | awk '{printf "%.2f s wall, %.2f s CPU, %d frames logged as decided", $2, $3, $4}'); load $(cut -d' ' -f1 /proc/loadavg)"
done

[[ -s "$work/session.tsv" ]] || { cat "$work/paired-1.txt" >&2; log "no session-only figure for $(basename "$model")"; exit 1; }
session="$(cut -f1 "$work/session.tsv" | median)"
session_cpu="$(cut -f2 "$work/session.tsv" | median)"
log "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

wall="$(cut -f2 "$work/rounds.tsv" | median)"
cpu="$(cut -f3 "$work/rounds.tsv" | median)"
echo
echo "| what ($(basename "$model"), $(nproc) cores) | frames/s | CPU ms/frame | vs session.Run alone |"
echo "|---|---:|---:|---:|"
awk -v s="$session" -v c="$session_cpu" -v r="$rounds" 'BEGIN {printf "| session.Run alone (baseline, median of %d rounds, each right after a component round) | %.1f | %.1f | 1.00 |\n", r, s, c}'
awk -v w="$wall" -v c="$cpu" -v n="$count" -v s="$session" -v r="$rounds" \
  'BEGIN {printf "| packaged component, inbox -> decided (%d frames, median of %d) | %.1f | %.1f | %.2f |\n", n, r, n / w, 1000 * c / n, (n / w) / s}'
echo
echo "rounds (frames, wall s, CPU s, frames logged as decided):"
cat "$work/rounds.tsv"
echo "session.Run alone per round (img/s, CPU ms/img):"
cat "$work/session.tsv"
