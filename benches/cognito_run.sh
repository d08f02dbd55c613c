#!/usr/bin/env bash
# Scripted large runs of `export cognito` against the local fake Cognito
# (docs/performance.md, issue 10). Builds the release exporter and the
# release `fake-cognito` in ONE cargo command (separate builds rebuild
# DataFusion), starts the fake with synthetic pools, runs the export under
# /usr/bin/time and prints wall time, users/s, request counts, peak RSS and
# machine load, and checks the package counts against the pools.
#
#   bash benches/cognito_run.sh                      # 1M users in 1 pool, limits off
#   COGNITO_USERS=10000000 bash benches/cognito_run.sh     # 10M users (RSS)
#   RATE=30 POOLS=3 COGNITO_USERS=33334 COGNITO_GROUPS=3 ENTITIES=all bash benches/cognito_run.sh
#                                                    # 100k users in 3 pools at 30 UserList req/s
#   SKIP_BUILD=1 ...                                 # use the binaries already built
#
# Targets (issue 10): >= 100k users/s at 1M with limits off; peak RSS
# <= 300 MB at 1M and 10M; at 30 req/s within 1.15 x (requests / 30) s.
# Output: bench-out/cognito-<pools>x<users>/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${COGNITO_USERS:-1000000}"   # per pool
POOLS="${POOLS:-1}"
COGNITO_GROUPS="${COGNITO_GROUPS:-0}"   # (not GROUPS: a bash builtin)
ENTITIES="${ENTITIES:-users,organizations,memberships}"
RATE="${RATE:-off}"
PORT="${PORT:-18083}"
export CARGO_TARGET_DIR="${RELEASE_TARGET_DIR:-$HOME/.cache/workos-migrate-release}"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --bins --examples >&2
BIN="$CARGO_TARGET_DIR/release"
OUT="${OUT:-bench-out}/cognito-${POOLS}x$USERS"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"

FAKE_ARGS=(--port "$PORT" --synthetic-pools "$POOLS" --synthetic-users "$USERS" --synthetic-groups "$COGNITO_GROUPS")
[ "$RATE" != off ] && FAKE_ARGS+=(--user-list-rps "$RATE")
"$BIN/examples/fake-cognito" "${FAKE_ARGS[@]}" > "$OUT/fake.log" 2>&1 &
FAKE=$!
trap 'kill $FAKE 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$OUT/fake.log" && break; sleep 0.1; done
REGION=us-east-1
IDS=$(python3 -c "print(','.join('${REGION}_SYNTH%04d' % i for i in range($POOLS)))")

# Earlier writes (the warm-up, another bench) go to disk before timing: the
# package writer syncs its files and would otherwise wait behind them.
sync
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
steal_before=$(awk '/^cpu /{print $9}' /proc/stat)
start=$(date +%s.%N)
"$TIME" -f "%e %M %U %S" -o "$OUT/run.time" \
  env AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret AWS_EC2_METADATA_DISABLED=true \
  "$BIN/workos-migrate" export cognito --region "$REGION" --user-pool-ids "$IDS" \
    --endpoint-url "http://127.0.0.1:$PORT" --entities "$ENTITIES" --rate-limit "$RATE" \
    --output-dir "$OUT/pkg" > "$OUT/run.out" 2> "$OUT/run.err" \
  || { cat "$OUT/run.err" >&2; exit 1; }
steal_after=$(awk '/^cpu /{print $9}' /proc/stat)
read -r secs kb user sys < <(tail -n 1 "$OUT/run.time")
TOTAL=$((USERS * POOLS))
python3 - "$OUT/pkg/manifest.json" "$TOTAL" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["entitiesExported"]
total = int(sys.argv[2])
assert m["users"] + m["skippedUsers"] == total, (m, total)
print("manifest:", {k: v for k, v in m.items() if v})
PY
echo "export cognito $POOLS pool(s) x $USERS users (--entities $ENTITIES, rate $RATE):" \
  "${secs}s wall = $(python3 -c "print(round($TOTAL / $secs))") users/s," \
  "peak RSS $((kb / 1024)) MB, CPU ${user}s user + ${sys}s sys," \
  "steal $(( (steal_after - steal_before) * 1000 / $(getconf CLK_TCK) )) ms," \
  "load before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)"
requests=$(grep -o "Cognito requests: .*" "$OUT/run.out" || true)
echo "  $requests"
if [ "$RATE" != off ]; then
  user_list=$(echo "$requests" | grep -o "[0-9]* UserList" | grep -o "[0-9]*")
  python3 -c "b = $user_list / $RATE; print(f'  UserList budget: {$user_list} requests / $RATE per s = {b:.1f} s; run {$secs} s = {$secs / b:.3f} x (target <= 1.15 x)')"
fi
