#!/usr/bin/env bash
# The test command: prepares the machine if needed, then runs every test against real
# PostgreSQL and Redis and the Cal.com sandbox: the suite, then the reliability scenarios
# (crash storm, fault storm, races, webhook flood, outages, hostile input, tenants, secrets).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --with-browser
pnpm test
pnpm test:reliability
