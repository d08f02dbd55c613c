#!/usr/bin/env bash
# Full-size `snapshot` run: 100,000 users in 1,000 organizations from the
# fake WorkOS with its documented read limits (1,000 / 10 s on
# /user_management/*, 6,000 / 60 s overall). Runs the acceptance test of
# tests/snapshot.rs at that size: zero 429s, >= 90 % of the read budget,
# SIGKILL + --resume gives Parquet files equal to an uninterrupted run's.
# The measured figures are printed (look for "snapshot of").
#
#   bash benches/snapshot_run.sh
#   SNAPSHOT_USERS=200000 SNAPSHOT_ORGS=2000 bash benches/snapshot_run.sh
#   PROFILE=--release bash benches/snapshot_run.sh   # release binaries
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export SNAPSHOT_USERS="${SNAPSHOT_USERS:-100000}"
export SNAPSHOT_ORGS="${SNAPSHOT_ORGS:-1000}"
cd "$ROOT"
cargo test ${PROFILE:-} --test snapshot \
  snapshot_uses_the_read_budget_without_429_and_resumes_after_sigkill -- --nocapture
