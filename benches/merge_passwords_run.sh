#!/usr/bin/env bash
# Scripted large run of `merge-passwords --package` (same conventions as
# benches/large_run.sh): builds release binaries, generates a package with
# MERGE_USERS users (default 1M) plus an Auth0 password NDJSON of about as
# many lines (known matches, rejected algorithms, blocked users, duplicates,
# junk lines; generator: src/synth/auth0_passwords.rs), runs the merge under
# /usr/bin/time, prints wall time, users/s and peak RSS, checks the counts
# against the generator's truth and runs validate-package before and after.
#
#   bash benches/merge_passwords_run.sh                         # 1M users, release
#   MERGE_USERS=100000 PROFILE=debug bash benches/merge_passwords_run.sh   # smoke run
#
# Targets: peak RSS <= 300 MB and >= 300k users/s at 1M (release).
# Output: bench-out/merge-passwords-<users>/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${MERGE_USERS:-1000000}"
PROFILE="${PROFILE:-release}"
export CARGO_TARGET_DIR="${RELEASE_TARGET_DIR:-$HOME/.cache/workos-migrate-release}"
if [ "$PROFILE" = release ]; then
  FLAGS=(--release)
else
  FLAGS=()
fi
[ -n "${SKIP_BUILD:-}" ] || cargo build "${FLAGS[@]}" --bins --examples >&2
BIN="$CARGO_TARGET_DIR/$PROFILE"
OUT="${OUT:-bench-out}/merge-passwords-$USERS"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
PKG="$OUT/pkg"

"$BIN/workos-migrate" export csv --output-dir "$PKG" --quiet
# The generator is an ignored test of tests/merge_passwords.rs (the synth
# binary has no format for it).
# It runs from the dev profile's test build (what CI builds anyway), so the
# script needs no release build of the test dependencies.
MERGE_SYNTH_DIR="$PKG" MERGE_SYNTH_USERS="$USERS" \
  CARGO_TARGET_DIR="${DEV_TARGET_DIR:-$HOME/.cache/workos-migrate-target}" \
  cargo test --test merge_passwords -- --ignored --exact generate_large_merge_input >&2
python3 - "$PKG" <<'PY'
import json, sys
pkg = sys.argv[1]
def rows(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f) - 1  # generated rows hold no embedded newlines
m = json.load(open(pkg + "/manifest.json"))
m["entitiesExported"]["users"] = rows(pkg + "/users.csv")
m["entitiesExported"]["uploadUsers"] = rows(pkg + "/workos_upload/users.csv")
open(pkg + "/manifest.json", "w").write(json.dumps(m, indent=2) + "\n")
PY
"$BIN/workos-migrate" validate-package --quiet "$PKG"
echo "generated: $(wc -l < "$OUT/passwords.ndjson") password lines, $USERS users; validate-package: ok"

sync
steal_before=$(awk '/^cpu /{print $9}' /proc/stat)
# PERF=1: record a profile of the merge too (perf record -g, $OUT/perf.data).
WRAP=()
[ -n "${PERF:-}" ] && WRAP=(perf record -g -o "$OUT/perf.data" --)
"$TIME" -f "%e %M %U %S" -o "$OUT/merge.time" \
  "${WRAP[@]}" "$BIN/workos-migrate" merge-passwords --passwords "$OUT/passwords.ndjson" --package "$PKG" \
  > "$OUT/merge.out" 2> "$OUT/merge.err" || { cat "$OUT/merge.err" >&2; exit 1; }
steal_after=$(awk '/^cpu /{print $9}' /proc/stat)
read -r secs kb user sys < <(tail -n 1 "$OUT/merge.time")
cat "$OUT/merge.out"
echo "merge-passwords ($PROFILE, $USERS users): ${secs}s wall, peak RSS $((kb / 1024)) MB," \
  "CPU ${user}s user + ${sys}s sys, steal $(( (steal_after - steal_before) * 1000 / $(getconf CLK_TCK) )) ms"
python3 -c "print(f'  users/s: {$USERS / max(float($secs), 1e-9):,.0f}')"

python3 - "$PKG" "$OUT/truth.json" <<'PY'
import json, sys
pkg, truth = sys.argv[1], json.load(open(sys.argv[2]))
pm = json.load(open(pkg + "/manifest.json"))["metadata"]["passwordMerge"]
for key in ["passwordsAdded", "passwordsNotFound", "passwordsRejectedAlgorithm",
            "uploadRowsUpdated", "blockedUsersSkipped", "unparsableLines"]:
    assert pm[key] == truth[key], (key, pm[key], truth[key])
assert pm["passwordsInvalid"] == 0, pm
print("  counts match the generator's truth:", {k: truth[k] for k in sorted(truth)})
PY
"$BIN/workos-migrate" validate-package --quiet "$PKG"
echo "  validate-package after merge: ok"
