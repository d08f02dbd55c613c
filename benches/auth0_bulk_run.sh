#!/usr/bin/env bash
# Scripted large run of `export auth0 --engine bulk-job` against the local
# fake Auth0 (docs/performance.md, issue 9). Builds the release exporter and
# the release `fake-auth0` in ONE cargo command (building them separately
# rebuilds DataFusion), starts the fake with a synthetic tenant, runs the
# export once to prepare the job file (the fake keeps it, as Auth0 prepares
# a file before the job completes), then times a second export whose job
# file is ready: download + gunzip + parse + map + write. Prints wall time,
# users/s, peak RSS and machine load, and checks the package counts.
#
#   bash benches/auth0_bulk_run.sh                          # 1M users, --entities users
#   AUTH0_USERS=10000000 bash benches/auth0_bulk_run.sh      # 10M users
#   ENTITIES=all AUTH0_USERS=1000000 bash benches/auth0_bulk_run.sh   # memberships + roles joined
#   WARM_UP=0 ENTITIES=all AUTH0_USERS=10000000 bash benches/auth0_bulk_run.sh   # RSS only
#   GZIP_LEVEL=6 bash benches/auth0_bulk_run.sh              # deflate level of the job file (default 1)
#   SKIP_BUILD=1 ...                                         # use the binaries already built
#
# Targets (issue 9): >= 300k users/s at 1M (--entities users); peak RSS
# <= 300 MB at 1M and 10M, also with memberships joined.
# Output: bench-out/auth0-bulk-<users>-<entities>/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${AUTH0_USERS:-1000000}"
ORGS="${AUTH0_ORGS:-1000}"
ENTITIES="${ENTITIES:-users}"
GZIP_LEVEL="${GZIP_LEVEL:-1}"
PORT="${PORT:-18082}"
export CARGO_TARGET_DIR="${RELEASE_TARGET_DIR:-$HOME/.cache/workos-migrate-release}"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --bins --examples >&2
BIN="$CARGO_TARGET_DIR/release"
OUT="${OUT:-bench-out}/auth0-bulk-$USERS-$ENTITIES"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT/cache"

"$BIN/examples/fake-auth0" --port "$PORT" --synthetic-users "$USERS" --synthetic-orgs "$ORGS" \
  --gzip-level "$GZIP_LEVEL" --job-file-cache "$OUT/cache" > "$OUT/fake.log" 2>&1 &
FAKE=$!
trap 'kill $FAKE 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening "$OUT/fake.log" && break; sleep 0.1; done

run() { # output dir
  "$BIN/workos-migrate" export auth0 --domain "http://127.0.0.1:$PORT" \
    --client-id fake-auth0-client --client-secret fake-auth0-secret \
    --engine bulk-job --entities "$ENTITIES" --rate-limit 10000 \
    --bulk-poll-interval-ms 100 --output-dir "$1" --quiet
}

# WARM_UP=0 skips preparing the file (the fake then generates it while the
# export downloads it): enough for a memory measurement, not for speed.
if [ "${WARM_UP:-1}" != 0 ]; then
  echo "preparing the job file ($USERS users, gzip level $GZIP_LEVEL)..." >&2
  run "$OUT/warm-up" > "$OUT/warm-up.out" 2> "$OUT/warm-up.err"
  rm -rf "$OUT/warm-up"
  ls -l "$OUT/cache" >&2
fi

# Earlier writes (the warm-up, another bench) go to disk before timing: the
# package writer syncs its files and would otherwise wait behind them.
sync
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
steal_before=$(awk '/^cpu /{print $9}' /proc/stat)
"$TIME" -f "%e %M %U %S" -o "$OUT/run.time" bash -c "$(declare -f run); BIN='$BIN' PORT='$PORT' ENTITIES='$ENTITIES' run '$OUT/pkg'" \
  > "$OUT/run.out" 2> "$OUT/run.err" || { cat "$OUT/run.err" >&2; exit 1; }
steal_after=$(awk '/^cpu /{print $9}' /proc/stat)
read -r secs kb user sys < <(tail -n 1 "$OUT/run.time")
users_csv=$(( $(wc -l < "$OUT/pkg/users.csv") - 1 ))
python3 - "$OUT/pkg/manifest.json" "$USERS" "$users_csv" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["entitiesExported"]
users, rows = int(sys.argv[2]), int(sys.argv[3])
assert m["users"] + m["skippedUsers"] == users, (m, users)
assert m["users"] == rows, (m, rows)
print("manifest:", {k: v for k, v in m.items() if v})
PY
echo "export auth0 bulk-job $USERS users (--entities $ENTITIES, gzip $GZIP_LEVEL):" \
  "${secs}s wall = $(python3 -c "print(round($USERS / $secs))") users/s," \
  "peak RSS $((kb / 1024)) MB, CPU ${user}s user + ${sys}s sys," \
  "steal $(( (steal_after - steal_before) * 1000 / $(getconf CLK_TCK) )) ms," \
  "load before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)"
