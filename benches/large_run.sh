#!/usr/bin/env bash
# Scripted large-input run (docs/performance.md). Builds release binaries,
# generates synthetic inputs, and measures wall time and peak RSS with
# /usr/bin/time. Checks results against the generator's truth file.
#
#   bash benches/large_run.sh            # 1M rows (validate, query, Firebase and Clerk exports)
#   ROWS_10M=1 bash benches/large_run.sh # also the 10M-row validate and export runs
#
# Output: bench-out/ (ignored by git). Needs ~6 GB of free disk for 10M.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${RELEASE_TARGET_DIR:-$HOME/.cache/workos-migrate-release}"
cargo build --release --bins --examples >&2
BIN="$CARGO_TARGET_DIR/release"
OUT="${OUT:-bench-out}"
mkdir -p "$OUT"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }

measure() { # label, command...
  local label=$1; shift
  local load_before steal_before steal_after
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  # CPU time the hypervisor gave to other guests during the run (field 9 of
  # the "cpu" line, in clock ticks): a noisy neighbour shows up here.
  steal_before=$(awk '/^cpu /{print $9}' /proc/stat)
  "$TIME" -f "%e %M %U %S" -o "$OUT/$label.time" "$@" > "$OUT/$label.out" 2> "$OUT/$label.err" || true
  steal_after=$(awk '/^cpu /{print $9}' /proc/stat)
  read -r secs kb user sys < <(tail -n 1 "$OUT/$label.time")
  echo "$label: ${secs}s wall, peak RSS $((kb / 1024)) MB, CPU ${user}s user + ${sys}s sys," \
    "steal $(( (steal_after - steal_before) * 1000 / $(getconf CLK_TCK) )) ms," \
    "load before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)"
}

check_counts() { # report.json truth.json
  python3 - "$1" "$2" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))["summary"]
truth = json.load(open(sys.argv[2]))
planted = {k: v for k, v in truth["rules"].items() if v}
assert report["byRule"] == planted, (report["byRule"], planted)
print(f"  counts match the planted defects: {planted}")
print(f"  rows {report['totalRows']}, rows/s {report['totalRows'] / max(report['durationMs'], 1) * 1000:,.0f} (self-reported)")
PY
}

run_validate() { # rows label
  local rows=$1 label=$2
  local csv="$OUT/users-$label.csv"
  [ -f "$csv" ] || "$BIN/workos-migrate-synth" --format workos-csv --users "$rows" --dirty 0.04 --seed 42 --output "$csv" >&2
  measure "validate-$label" "$BIN/workos-migrate" validate --csv "$csv" --json
  check_counts "$OUT/validate-$label.out" "$csv.truth.json"
}

run_validate 1000000 1m

# A 1M-user package: the synthetic users.csv has the package's users header.
PKG="$OUT/pkg-1m"
rm -rf "$PKG"
"$BIN/workos-migrate" export csv --output-dir "$PKG" --quiet
cp "$OUT/users-1m.csv" "$PKG/users.csv"
measure query-1m "$BIN/workos-migrate" query \
  "SELECT org_external_id, count(*) AS n FROM users GROUP BY 1 ORDER BY 2 DESC LIMIT 5" \
  --package "$PKG" --format csv
cat "$OUT/query-1m.out"
python3 - "$OUT/users-1m.csv" "$OUT/query-1m.out" <<'PY'
import csv, collections, sys
counts = collections.Counter(r["org_external_id"] for r in csv.DictReader(open(sys.argv[1], newline="")))
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
assert len(rows) == 5, rows
expected = sorted(counts.values(), reverse=True)[:5]
assert [int(r["n"]) for r in rows] == expected, (rows, expected)
for r in rows:  # an empty org_external_id is NULL in SQL and empty in CSV output
    assert counts[r["org_external_id"]] == int(r["n"]), r
print("  query answer matches a Python recount:", [(r["org_external_id"], r["n"]) for r in rows])
PY

# File sources: generate, export, check conservation against the truth file
# and the package against its contract.
SIGNER_KEY="jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="
check_export() { # pkg truth
  python3 - "$1" "$2" <<'PY'
import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
t = json.load(open(sys.argv[2]))
users, skipped = m["entitiesExported"]["users"], m["entitiesExported"]["skippedUsers"]
assert users + skipped == t["users"], (users, skipped, t["users"])
assert users == t["expected"]["exported"], (users, t["expected"])
print(f"  conservation: {t['users']} in = {users} users.csv rows + {skipped} skipped")
PY
}
run_export() { # source rows label extra-args...
  local source=$1 rows=$2 label=$3; shift 3
  local fmt ext
  case $source in firebase) fmt=firebase-json ext=json ;; clerk) fmt=clerk-csv ext=csv ;; esac
  local input="$OUT/$source-$label.$ext"
  [ -f "$input" ] || "$BIN/workos-migrate-synth" --format "$fmt" --users "$rows" --dirty 0.04 --seed 42 --output "$input" >&2
  rm -rf "$OUT/pkg-$source-$label"
  # Let the delete of the previous package (and any other pending writes)
  # reach the disk first: it is not part of this run's I/O.
  sync
  measure "export-$source-$label" "$BIN/workos-migrate" export "$source" --from-file "$input" \
    --output-dir "$OUT/pkg-$source-$label" --quiet "$@"
  echo "  users/s: $(python3 -c "print(f'{$rows / float(open(\"$OUT/export-$source-$label.time\").read().split()[0]):,.0f}')")"
  check_export "$OUT/pkg-$source-$label" "$input.truth.json"
  # The package's files agree with its manifest (counts, headers, rows).
  "$BIN/workos-migrate" validate-package --quiet "$OUT/pkg-$source-$label"
  echo "  validate-package: ok"
}

run_export firebase 1000000 1m --signer-key "$SIGNER_KEY"
run_export clerk 1000000 1m

if [ "${ROWS_10M:-0}" = 1 ]; then
  run_validate 10000000 10m
  run_export firebase 10000000 10m --signer-key "$SIGNER_KEY"
  run_export clerk 10000000 10m
fi
