#!/usr/bin/env bash
# The one test command (README, .ci/run): starts the services the backend tests need when
# they are not already running, exports their URLs, then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

for svc in scripts/services/*.sh; do
  # shellcheck source=/dev/null
  source "$svc"
done

cargo test --workspace --all-features --locked "$@"
