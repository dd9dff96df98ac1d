#!/usr/bin/env bash
# promtool check rules on the alert rules, then their unit tests.
#   tests/deploy/promtool_rules_test.sh <repo root>
set -euo pipefail
repo="$1"
if ! command -v promtool >/dev/null; then
  echo "promtool not found: install the Debian package prometheus (scripts/setup --test)" >&2
  exit 1
fi
cd "$repo/deploy/prometheus"
promtool check rules aigw-rules.yaml
promtool test rules tests/*.test.yaml
