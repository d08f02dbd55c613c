#!/usr/bin/env bash
# Scripted large run of `diff OLD NEW --output-dir DELTA` (issue 12,
# docs/cutover-runbook.md, docs/performance.md). Builds the release binaries
# in ONE cargo command (`--release --bins --examples`, the target set the
# other benches use, so the build cache is shared), generates a synthetic
# package pair with `workos-migrate-synth --format package-pair` (NEW = OLD
# with 1 % new, 0.5 % changed, 0.2 % removed users and membership changes),
# times `diff` under GNU time, prints users/s and peak RSS, and checks the
# report's counts against the generator's truth.
#
#   bash benches/diff_run.sh                              # 1M users
#   DIFF_USERS=3000000 bash benches/diff_run.sh           # 3M users
#   SKIP_BUILD=1 ...                                      # use the binaries already built
#   BIN_DIR=$HOME/.cache/target-diff/debug DIFF_USERS=20000 bash benches/diff_run.sh
#                                                         # a debug binary (no build)
#
# Targets (issue 12): >= 500k users/s at 1M users, peak RSS <= 300 MB.
# Output: bench-out/diff-<users>/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${DIFF_USERS:-1000000}"
ORGS="${DIFF_ORGS:-1000}"
SEED="${DIFF_SEED:-42}"
if [ -n "${BIN_DIR:-}" ]; then
  BIN="$BIN_DIR"
else
  export CARGO_TARGET_DIR="${RELEASE_TARGET_DIR:-$HOME/.cache/workos-migrate-release}"
  [ -n "${SKIP_BUILD:-}" ] || cargo build --release --bins --examples >&2
  BIN="$CARGO_TARGET_DIR/release"
fi
OUT="${OUT:-bench-out}/diff-$USERS"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"

echo "generating the package pair ($USERS users, $ORGS organizations)..." >&2
"$BIN/workos-migrate-synth" --format package-pair --users "$USERS" --orgs "$ORGS" \
  --seed "$SEED" --output "$OUT/pair"
du -sh "$OUT/pair/old" "$OUT/pair/new" >&2
# Write the generated pair back before timing: the delta writer syncs its
# files, and would otherwise wait behind the pair's 250 MB of dirty pages.
sync

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$TIME" -f "%e %M %U %S" -o "$OUT/run.time" \
  "$BIN/workos-migrate" diff "$OUT/pair/old" "$OUT/pair/new" --output-dir "$OUT/delta" --json \
  > "$OUT/report.json" 2> "$OUT/run.err" || { cat "$OUT/run.err" >&2; exit 1; }
read -r secs kb user sys < <(tail -n 1 "$OUT/run.time")
python3 - "$OUT/report.json" "$OUT/pair/truth.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = json.load(open(sys.argv[2]))
u, m, f = r["users"], r["memberships"], r["users"]["changedFields"]
checks = {
    "old users": (u["old"], t["oldUsers"]),
    "new users": (u["new"], t["newUsers"]),
    "added": (u["added"], t["usersAdded"]),
    "changed": (u["changed"], t["usersChanged"]),
    "gone": (u["gone"], t["usersGone"]),
    "email": (f["email"], t["changedEmail"]),
    "first_name": (f["first_name"], t["changedFirstName"]),
    "last_name": (f["last_name"], t["changedLastName"]),
    "email_verified": (f["email_verified"], t["changedEmailVerified"]),
    "password_hash": (f["password_hash"], t["changedPasswordHash"]),
    "metadata": (f["metadata"], t["changedMetadata"]),
    "memberships added": (m["added"], t["membershipsAdded"]),
    "memberships removed": (m["removed"], t["membershipsRemoved"]),
    "membership roles added": (m["rolesAdded"], t["membershipsRolesAdded"]),
    "membership roles removed": (m["rolesRemoved"], t["membershipRolesRemoved"]),
    "organizations added": (r["organizations"]["added"], t["organizationsAdded"]),
}
bad = {k: v for k, v in checks.items() if v[0] != v[1]}
assert not bad, f"report != truth: {bad}"
print(f"counts match the truth: added {u['added']}, changed {u['changed']}, gone {u['gone']},"
      f" memberships +{m['added']} -{m['removed']}")
PY
"$BIN/workos-migrate" validate-package "$OUT/delta" > "$OUT/validate.out" 2>&1 \
  || { cat "$OUT/validate.out" >&2; exit 1; }
echo "diff $USERS users: ${secs}s wall = $(python3 -c "print(round($USERS / $secs))") users/s," \
  "peak RSS $((kb / 1024)) MB, CPU ${user}s user + ${sys}s sys," \
  "load before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)"
