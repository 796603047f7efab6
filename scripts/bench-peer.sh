#!/usr/bin/env bash
# Whole-process speed of `edgelabel label` against the Node.js peer (benchmarks/node-peer: sharp + onnxruntime-node,
# 2 intra-op threads, same YOLOv8 decode/NMS and routing rules) on 600 generated 320x320 frames (a quarter of them
# near-duplicates) with the committed tiny demo model (samples/models/parts-detector.onnx, 320 input, 3 classes).
# Runs the processes alternately ROUNDS times, checks that every run decides exactly like the first edgelabel run,
# and prints wall time, CPU time (user+sys) and images/s per variant, as medians, with ratios against the peer.
# Variants: the peer (baseline); edgelabel as `dotnet build` leaves it (JIT); edgelabel published ReadyToRun.
# Usage: scripts/bench-peer.sh [ROUNDS]   (default 5; EDGELABEL_BENCH_KEEP=1 keeps the work folder)
set -Eeuo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
rounds="${1:-5}"
log() { echo "[bench-peer $(date -u +%T)] $*" >&2; }

work="$(mktemp -d -t edgelabel-peer.XXXXXX)"
[[ "${EDGELABEL_BENCH_KEEP:-0}" == 1 ]] || trap 'rm -rf "$work"' EXIT

# --ignore-scripts: onnxruntime-node bundles its CPU binaries; its install script only fetches optional CUDA files.
log "node peer: npm ci (pinned sharp + onnxruntime-node)"
(cd benchmarks/node-peer && npm ci --ignore-scripts --no-audit --no-fund --silent >&2)
log "building edgelabel (JIT) and publishing it ReadyToRun"
dotnet build cli/EdgeLabeling.Cli/EdgeLabeling.Cli.csproj -c Release -v q -nologo >&2
dotnet publish cli/EdgeLabeling.Cli/EdgeLabeling.Cli.csproj -c Release -r linux-x64 --self-contained false \
  -p:PublishReadyToRun=true -o "$work/edgelabel-r2r" -v q -nologo >&2

log "generating 600 frames"
node benchmarks/node-peer/make-inputs.js "$work/frames" --count 600 --dup-every 4

model="$repo/samples/models/parts-detector.onnx"
labels="$repo/samples/classes.txt"
args=(--model "$model" --labels "$labels" --input "$work/frames" --json)
declare -A cmd=(
  [peer]="node $repo/benchmarks/node-peer/label.js"
  [edgelabel-jit]="dotnet $repo/cli/EdgeLabeling.Cli/bin/Release/net10.0/edgelabel.dll label"
  [edgelabel-r2r]="$work/edgelabel-r2r/edgelabel label"
)
variants=(peer edgelabel-jit edgelabel-r2r)

log "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$work/times.tsv"
for ((r = 1; r <= rounds; r++)); do
  # Rotate the order each round so a load spike does not always hit the same variant.
  for ((k = 0; k < ${#variants[@]}; k++)); do
    v="${variants[$(((k + r) % ${#variants[@]}))]}"
    out="$work/out-$v"
    rm -rf "$out"
    /usr/bin/time -f "%e %U %S" -o "$work/time" ${cmd[$v]} "${args[@]}" --output "$out" > /dev/null 2> "$work/stderr" \
      || { cat "$work/stderr" >&2; log "$v failed"; exit 1; }
    read -r wall user sys < <(tail -1 "$work/time")
    [[ -f "$work/reference.jsonl" ]] || cp "$out/decisions.jsonl" "$work/reference.jsonl"
    node benchmarks/node-peer/same-decisions.js "$work/reference.jsonl" "$out/decisions.jsonl" > "$work/same" \
      || { cat "$work/same" >&2; log "$v decided differently from the first run"; exit 1; }
    printf '%s\t%s\t%s\n' "$v" "$wall" "$(echo "$user + $sys" | bc)" >> "$work/times.tsv"
    log "round $r $v: wall ${wall}s cpu $(echo "$user + $sys" | bc)s load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
log "load after: $(cut -d' ' -f1-3 /proc/loadavg); every run decided the same 600 frames alike ($(cat "$work/same"))"

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
peer_wall="$(awk -F'\t' '$1=="peer"{print $2}' "$work/times.tsv" | median)"
peer_cpu="$(awk -F'\t' '$1=="peer"{print $3}' "$work/times.tsv" | median)"
echo
echo "| variant | wall s (median of $rounds) | images/s | CPU s (median) | speed vs peer (peer wall / wall) | CPU vs peer |"
echo "|---|---:|---:|---:|---:|---:|"
for v in "${variants[@]}"; do
  wall="$(awk -F'\t' -v v="$v" '$1==v{print $2}' "$work/times.tsv" | median)"
  cpu="$(awk -F'\t' -v v="$v" '$1==v{print $3}' "$work/times.tsv" | median)"
  awk -v v="$v" -v w="$wall" -v c="$cpu" -v pw="$peer_wall" -v pc="$peer_cpu" \
    'BEGIN {printf "| %s | %.2f | %.1f | %.2f | %.2fx | %.2f |\n", v, w, 600 / w, c, pw / w, c / pc}'
done
echo
echo "per run (variant, wall s, CPU s):"
cat "$work/times.tsv"
