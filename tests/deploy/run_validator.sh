#!/usr/bin/env bash
# Installs the validator's pinned npm packages (npm ci, from
# validator/package-lock.json) into WORKDIR and runs it over deploy/k8s.
#   tests/deploy/run_validator.sh <repo root> <workdir> [--kubectl]
# With --kubectl it also compares its kustomize renderer with
# `kubectl kustomize`, and exits 77 (skipped) when kubectl is not installed.
set -euo pipefail
repo="$1"
work="$2"
mode="${3:-}"
src="$repo/tests/deploy/validator"

kubectl_args=()
if [[ "$mode" == "--kubectl" ]]; then
  if ! command -v kubectl >/dev/null; then
    echo "kubectl not found: skipping the comparison with kubectl kustomize"
    exit 77
  fi
  kubectl_args=(--kubectl "$(command -v kubectl)")
fi
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "$tool not found: install nodejs and npm (scripts/setup)" >&2; exit 1; }
done

mkdir -p "$work"
# npm ci only when the lock file changed; the copy beside node_modules says
# what was installed.
if ! cmp -s "$src/package-lock.json" "$work/package-lock.json" || [[ ! -d "$work/node_modules" ]]; then
  cp "$src/package.json" "$src/package-lock.json" "$work/"
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error) || {
    rm -f "$work/package-lock.json"
    echo "npm ci failed (is the npm registry or npm's cache reachable?)" >&2
    exit 1
  }
fi
cp "$src"/*.mjs "$work/"
cd "$work"
exec node validate.mjs "$repo" "${kubectl_args[@]}"
