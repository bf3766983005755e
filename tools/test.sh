#!/usr/bin/env bash
# The test suite: installs what the library tests need (PostgreSQL, an S3-compatible server;
# once), then runs every test of the workspace. Arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-test-services.sh
exec cargo test --workspace "$@"
