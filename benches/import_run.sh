#!/usr/bin/env bash
# Scripted large `import` runs with release binaries against the standalone
# fake WorkOS (`--example fake-workos`). Results go to docs/performance.md
# ("Importer"). Every run is checked, not only timed: the fake's end state
# must hold every user, organization and membership exactly once, with the
# roles of the CSV (read back through the API), and the summary must agree.
#
#   bash benches/import_run.sh                 # runs a, b and c
#   RUNS="b c" USERS_B=20000 ROWS_C=200000 bash benches/import_run.sh
#
# a) documented rate limits on (500 writes / 10 s on /user_management/*),
#    USERS_A (20,000) users across ORGS_A (200) organizations with roles at
#    the default --rate-limit 50: 429s must be 0, writes/s >= 47.5. ~14 min.
# b) limits off: USERS_B (100,000) users + memberships: users/s (target
#    >= 3,000) and peak RSS (target <= 150 MB).
# c) ROWS_C (1,000,000) rows --dry-run: peak RSS (target <= 150 MB).
#
# The first build compiles the dev-dependencies too (the example needs
# them): expect several minutes on the 2-core VM.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$ROOT/bench-out/import}"
RUNS="${RUNS:-a b c}"
USERS_A="${USERS_A:-20000}"
ORGS_A="${ORGS_A:-200}"
USERS_B="${USERS_B:-100000}"
ORGS_B="${ORGS_B:-1000}"
CONC_B="${CONC_B:-64}"
ROWS_C="${ROWS_C:-1000000}"
PORT="${PORT:-18181}"
KEY="sk_test_fake"
export CARGO_TARGET_DIR="${RELEASE_TARGET_DIR:-$HOME/.cache/workos-migrate-release}"
BASE="http://127.0.0.1:$PORT"

mkdir -p "$OUT"
echo "== building release binaries into $CARGO_TARGET_DIR"
(cd "$ROOT" && cargo build --release --bins --examples)
BIN="$CARGO_TARGET_DIR/release/workos-migrate"
FAKE="$CARGO_TARGET_DIR/release/examples/fake-workos"

# gen_csv FILE USERS ORGS  (ORGS=0: user-only columns)
gen_csv() {
  python3 - "$@" <<'PY'
import sys
path, users, orgs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "w") as f:
    head = "email,first_name,last_name,email_verified,external_id"
    if orgs:
        head += ",org_external_id,org_name,role_slugs"
    f.write(head + "\n")
    for i in range(users):
        row = f"user{i}@bench.test,First{i},Last{i},{'true' if i % 2 else 'false'},ext-{i}"
        if orgs:
            roles = ('"admin,member"', "admin", "member", "member")[i % 4]
            row += f",org-{i % orgs},Org {i % orgs},{roles}"
        f.write(row + "\n")
PY
}

# check_state LABEL USERS ORGS WALL_S  — reads /__fake/state and the API back.
check_state() {
  python3 - "$BASE" "$KEY" "$@" <<'PY'
import json, sys, time, urllib.request, urllib.error
base, key, label, users, orgs, wall = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
state = json.load(urllib.request.urlopen(base + "/__fake/state"))
counts, stats = state["counts"], state["stats"]
span = (stats["first_to_last_request_ms"] or 1) / 1000.0
def get(path):
    while True:
        req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + key})
        try:
            return json.load(urllib.request.urlopen(req))
        except urllib.error.HTTPError as e:
            if e.code == 429:
                time.sleep(float(e.headers.get("Retry-After", "1")))
                continue
            raise
def scan(path):
    out, after = [], None
    while True:
        sep = "&" if "?" in path else "?"
        page = get(path + sep + "limit=100&order=asc" + (f"&after={after}" if after else ""))
        out += page["data"]
        after = page["list_metadata"]["after"]
        if not after:
            return out
ok = True
def expect(what, got, want):
    global ok
    flag = "ok" if got == want else "FAIL"
    ok &= got == want
    print(f"  {what}: {got} (want {want}) {flag}")
expect("users", counts["users"], users)
expect("organizations", counts["organizations"], orgs)
expect("memberships", counts["memberships"], users if orgs else 0)
if orgs:
    ext = {u["id"]: int(u["external_id"][4:]) for u in scan("/user_management/users")}
    expect("distinct users", len(ext), users)
    org_ext = {o["id"]: o["external_id"] for o in scan("/organizations")}
    want_roles = (["admin", "member"], ["admin"], ["member"], ["member"])
    bad, pairs = 0, set()
    for org_id in org_ext:
        for m in scan(f"/user_management/organization_memberships?organization_id={org_id}"):
            i = ext[m["user_id"]]
            pairs.add((m["user_id"], org_id))
            slugs = sorted(r["slug"] for r in (m.get("roles") or [m["role"]]))
            if slugs != want_roles[i % 4] or org_ext[org_id] != f"org-{i % orgs}":
                bad += 1
    expect("distinct memberships", len(pairs), users)
    expect("memberships with wrong org or roles", bad, 0)
writes_per_s = stats["writes"] / span
print(f"  requests {stats['total_requests']} (writes {stats['writes']}, reads {stats['reads']}), "
      f"429s {stats['rate_limited']}, max writes in any 10 s {stats['max_writes_in_any_10s_window']}")
print(f"  wall {wall:.1f} s, users/s {users / wall:.0f}, writes/s over the request span {writes_per_s:.2f}")
with open(f"{label}-result.json", "w") as f:
    json.dump({"label": label, "users": users, "orgs": orgs, "wall_s": wall,
               "users_per_s": users / wall, "writes_per_s": writes_per_s,
               "rate_limited": stats["rate_limited"],
               "max_writes_in_any_10s_window": stats["max_writes_in_any_10s_window"],
               "ok": ok}, f, indent=2)
sys.exit(0 if ok else 1)
PY
}

FAKE_PID=""
start_fake() { # start_fake LOG [fake args...]
  local log=$1
  shift
  "$FAKE" --port "$PORT" --api-key "$KEY" "$@" >"$log" 2>&1 &
  FAKE_PID=$!
  for _ in $(seq 1 100); do
    if grep -q listening "$log"; then return 0; fi
    sleep 0.1
  done
  echo "fake WorkOS did not start:"
  cat "$log"
  exit 1
}
stop_fake() {
  if [ -n "$FAKE_PID" ]; then
    kill "$FAKE_PID" 2>/dev/null || true
    wait "$FAKE_PID" 2>/dev/null || true
    FAKE_PID=""
  fi
}
trap stop_fake EXIT

peak_rss_mb() { awk -F: '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1"; }

# timed_import LABEL ARGS...  — runs the importer under /usr/bin/time -v in $OUT.
timed_import() {
  local label=$1
  shift
  rm -rf "$OUT/.workos-checkpoints" "$OUT/$label-errors.jsonl"
  local start end code
  start=$(date +%s.%N)
  set +e
  (cd "$OUT" && WORKOS_SECRET_KEY="$KEY" /usr/bin/time -v "$BIN" import --errors "$label-errors.jsonl" "$@" \
    >"$label.out" 2>"$label.time")
  code=$?
  set -e
  end=$(date +%s.%N)
  WALL=$(python3 -c "print(f'{$end - $start:.3f}')")
  RSS=$(peak_rss_mb "$OUT/$label.time")
  echo "  exit $code, wall ${WALL} s, peak RSS ${RSS} MB"
  sed -n '/Import Summary/,$p' "$OUT/$label.out" | sed 's/^/  /'
  if [ "$code" != 0 ]; then
    echo "  importer failed:"
    grep -v '^\s' "$OUT/$label.time" | head -5
    return 1
  fi
}

cd "$OUT"
status=0
for run in $RUNS; do
  case "$run" in
  a)
    echo "== (a) $USERS_A users / $ORGS_A orgs with roles, documented limits, --rate-limit 50"
    gen_csv "$OUT/a.csv" "$USERS_A" "$ORGS_A"
    start_fake "$OUT/fake-a.log"
    timed_import a --csv a.csv --endpoint "$BASE" || status=1
    check_state a "$USERS_A" "$ORGS_A" "$WALL" || status=1
    python3 - <<'PY' || status=1
import json
r = json.load(open("a-result.json"))
ok = r["rate_limited"] == 0 and r["writes_per_s"] >= 47.5
print(f"  target: 0 429s (got {r['rate_limited']}), >= 47.5 writes/s (got {r['writes_per_s']:.2f}): {'met' if ok else 'NOT met'}")
raise SystemExit(0 if ok else 1)
PY
    stop_fake
    ;;
  b)
    echo "== (b) $USERS_B users + memberships ($ORGS_B orgs), limits off, --concurrency $CONC_B"
    gen_csv "$OUT/b.csv" "$USERS_B" "$ORGS_B"
    start_fake "$OUT/fake-b.log" --no-rate-limits
    timed_import b --csv b.csv --endpoint "$BASE" --rate-limit 1000000 --concurrency "$CONC_B" || status=1
    check_state b "$USERS_B" "$ORGS_B" "$WALL" || status=1
    python3 - "$RSS" <<'PY' || status=1
import json, sys
r = json.load(open("b-result.json"))
rss = float(sys.argv[1])
ok = r["users_per_s"] >= 3000 and rss <= 150
print(f"  target: >= 3000 users/s (got {r['users_per_s']:.0f}), <= 150 MB (got {rss:.1f}): {'met' if ok else 'NOT met'}")
raise SystemExit(0 if ok else 1)
PY
    stop_fake
    ;;
  c)
    echo "== (c) $ROWS_C rows --dry-run"
    gen_csv "$OUT/c.csv" "$ROWS_C" 1000
    timed_import c --csv c.csv --dry-run || status=1
    python3 - "$RSS" "$WALL" "$ROWS_C" <<'PY' || status=1
import sys
rss, wall, rows = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
summary = open("c.out").read()
counted = f"  Users created:          {rows}\n" in summary and f"  Memberships created:    {rows}\n" in summary
print(f"  summary counts every row: {'yes' if counted else 'NO'}")
ok = rss <= 150 and counted
print(f"  {rows / wall:.0f} rows/s; target: <= 150 MB (got {rss:.1f}): {'met' if ok else 'NOT met'}")
raise SystemExit(0 if ok else 1)
PY
    ;;
  *)
    echo "unknown run '$run' (use a, b, c)"
    status=1
    ;;
  esac
done
exit "$status"
