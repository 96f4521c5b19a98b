#!/usr/bin/env bash
# The run command: prepares the machine if needed, then starts the whole system (demo mode
# against the bundled Cal.com sandbox when no CALCOM_API_KEY is configured).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec node packages/demo/src/dev.ts "$@"
