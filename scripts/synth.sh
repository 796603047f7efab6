#!/usr/bin/env bash
# Synthesizes the CDK app offline for each environment and checks the output.
#   scripts/synth.sh [env...]            (default: dev prod)
# Builds what the stacks deploy first: the Lambda package (scripts/publish-lambdas.sh → artifacts/lambdas) and the
# Greengrass component (scripts/package-component.sh <version> → artifacts/component/<version>/).
# Overrides (used by the tests to skip the slow publish):
#   EDGELABEL_LAMBDA_ASSETS   folder to use instead of publishing the Lambdas
#   EDGELABEL_COMPONENT_DIR   folder with recipe.json + artifacts instead of packaging the component
#   EDGELABEL_COMPONENT_VERSION  version to package (default: reuse the newest artifacts/component/<v>, else 0.1.0)
#   EDGELABEL_REVIEW_PAGE     built review page folder instead of `npm run build:review` (labeling.backend builtin only)
#   EDGELABEL_CDK_OUT         output root (default cdk.out); each environment goes to <root>/<env>
set -Eeuo pipefail
cd "$(dirname "$0")/.."
log() { echo "[synth $(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# jsii warns loudly about Node 20; the CLI's version check and notices need the internet.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 CDK_DISABLE_VERSION_CHECK=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

envs=("$@")
[ ${#envs[@]} -gt 0 ] || envs=(dev prod)
out_root="${EDGELABEL_CDK_OUT:-cdk.out}"

command -v npm >/dev/null || die "npm is required for the pinned aws-cdk CLI (package.json)"
if [ ! -x node_modules/.bin/cdk ]; then
  log "npm ci (aws-cdk CLI)"
  npm ci --no-audit --no-fund --loglevel=error
fi

lambda_dir="${EDGELABEL_LAMBDA_ASSETS:-}"
if [ -z "$lambda_dir" ]; then
  lambda_dir=artifacts/lambdas
  # One package serves every environment synthesized here, so they must share lambda.architecture.
  archs=$(python3 -c 'import json,sys; e=json.load(open("cdk.json"))["context"]["environments"]; print(" ".join(sorted({e[n]["lambda"]["architecture"] for n in sys.argv[1:]})))' "${envs[@]}") \
    || die "cannot read lambda.architecture of ${envs[*]} from cdk.json"
  [ "$(wc -w <<<"$archs")" -eq 1 ] || die "environments ${envs[*]} use different lambda.architecture ($archs): synthesize them separately"
  scripts/publish-lambdas.sh --arch "$archs" --output "$lambda_dir"
fi
[ -d "$lambda_dir" ] || die "Lambda asset folder '$lambda_dir' does not exist"

component_dir="${EDGELABEL_COMPONENT_DIR:-}"
if [ -z "$component_dir" ]; then
  version="${EDGELABEL_COMPONENT_VERSION:-}"
  if [ -z "$version" ]; then
    # Reuse the newest packaged version when there is one; packaging publishes two self-contained RIDs.
    latest=$(ls -d artifacts/component/*/recipe.json 2>/dev/null | sed 's|/recipe.json$||; s|.*/||' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n1 || true)
    if [ -n "$latest" ]; then
      log "reusing packaged component $latest (set EDGELABEL_COMPONENT_VERSION to package a new one)"
      component_dir=artifacts/component/$latest
    else
      version=0.1.0
    fi
  fi
  if [ -z "$component_dir" ]; then
    [ -x scripts/package-component.sh ] || die "scripts/package-component.sh is missing; set EDGELABEL_COMPONENT_DIR to a packaged component folder"
    log "scripts/package-component.sh $version"
    scripts/package-component.sh "$version" >/dev/null
    component_dir=artifacts/component/$version
  fi
fi
[ -d "$component_dir" ] || die "component folder '$component_dir' does not exist"

# The review page is deployed only by environments with labeling.backend builtin.
page_dir="${EDGELABEL_REVIEW_PAGE:-}"
if [ -z "$page_dir" ]; then
  page_dir=review-app/dist
  builtin=$(python3 -c 'import json,sys; e=json.load(open("cdk.json"))["context"]["environments"]; print(sum(1 for n in sys.argv[1:] if e[n].get("labeling", {}).get("backend") == "builtin"))' "${envs[@]}") \
    || die "cannot read labeling.backend of ${envs[*]} from cdk.json"
  if [ "$builtin" -gt 0 ]; then
    log "npm run build:review → $page_dir"
    npm run --silent build:review >/dev/null || die "npm run build:review failed"
  fi
fi

for env in "${envs[@]}"; do
  out="$out_root/$env"
  rm -rf "$out"
  log "cdk synth -c env=$env → $out"
  npx --no-install cdk synth -c "env=$env" -c "lambdaAssetPath=$lambda_dir" -c "componentDir=$component_dir" -c "reviewPagePath=$page_dir" \
    --quiet --no-notices --output "$out" >/dev/null \
    || die "cdk synth failed for environment '$env'"
  for stack in Storage Labeling EdgeFleet; do
    template="$out/EdgeLabeling-$env-$stack.template.json"
    [ -s "$template" ] || die "missing $template"
    node -e 'const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             if (!t.Resources || Object.keys(t.Resources).length === 0) { console.error(process.argv[1] + ": no resources"); process.exit(1); }' "$template" \
      || die "$template is not a template with resources"
  done
  log "ok: $env ($(ls "$out"/*.template.json | wc -l) templates)"
done
