#!/usr/bin/env bash
# The test command: prepares the machine if needed, then runs every test against real
# PostgreSQL and Redis and the Cal.com sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
pnpm test
