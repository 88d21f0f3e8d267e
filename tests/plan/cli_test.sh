#!/bin/bash
# `wcs plan` end to end on the demo site: exact output of a full plan and of --what subsets
# against tests/plan/expected/, two runs byte-identical, --out written via a rename, and error
# cases (exact stderr, exit status, no output file or .tmp left, an old output kept).
# Usage: cli_test.sh PATH/TO/wcs REPO_ROOT. To refresh the expected files after an intended
# change: WCS_PLAN_UPDATE=1 cli_test.sh ...
set -u
WCS=${1:?usage: cli_test.sh PATH/TO/wcs REPO_ROOT}
ROOT=${2:?usage: cli_test.sh PATH/TO/wcs REPO_ROOT}
WCS=$(cd "$(dirname "$WCS")" && pwd)/$(basename "$WCS")
ROOT=$(cd "$ROOT" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
sh "$ROOT/scripts/example-secrets.sh" "$ROOT/config/examples" || exit 1
SITE=$ROOT/config/examples/demo/site.yaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$HERE/data" || exit 1
failed=0 ran=0
NOW=(--now 2026-11-26T08:00Z)

fail() {
    failed=$((failed + 1))
    echo "FAIL $1"
}

# golden NAME EXPECTED_FILE ARGS...: exit 0, empty stderr, stdout equal to the file.
golden() {
    local name=$1 want=$2 rc
    shift 2
    ran=$((ran + 1))
    "$WCS" plan "$SITE" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "${WCS_PLAN_UPDATE-}" = 1 ]; then cp "$tmp/out" "$HERE/expected/$want"; fi
    if [ "$rc" != 0 ] || [ -s "$tmp/err" ] || ! cmp -s "$tmp/out" "$HERE/expected/$want"; then
        fail "$name: exit $rc"
        sed 's/^/  stderr /' "$tmp/err"
        diff -u "$HERE/expected/$want" "$tmp/out" | head -40 | sed 's/^/  /'
    fi
}

# check NAME WANT_RC WANT_STDERR ARGS...: stdout empty, exact stderr (given without its last
# newline), exit status.
check() {
    local name=$1 want_rc=$2 want_err=$3 rc
    shift 3
    ran=$((ran + 1))
    "$WCS" plan "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    printf '%s\n' "$want_err" >"$tmp/want_err"
    if [ "$rc" != "$want_rc" ] || [ -s "$tmp/out" ] || ! cmp -s "$tmp/err" "$tmp/want_err"; then
        fail "$name: exit $rc (want $want_rc)"
        diff -u "$tmp/want_err" "$tmp/err" | sed 's/^/  stderr /'
    fi
}

IN=(--stock stock.jsonl --orders orders.jsonl)
golden "full plan" full.jsonl "${IN[@]}" --receipts receipts.jsonl "${NOW[@]}"
golden "reserve only" reserve.jsonl "${IN[@]}" "${NOW[@]}" --what reserve
golden "batch and replenish" batch.jsonl "${IN[@]}" --what batch,replenish "${NOW[@]}"
# Purchase suggestions by the demo's purchase_rules, dated by lead time (a product rule and two
# category rules); only the purchase records are written though reserve runs too.
golden "purchase" purchase.jsonl "${IN[@]}" --what purchase "${NOW[@]}"
# 17:00 in Berlin: both DHL cutoffs are past, so SO-1002 (shipping today) is late and the
# orders without a ship date move to tomorrow's 11:00.
golden "evening: late orders" evening.jsonl "${IN[@]}" --now 2026-11-26T16:00Z --what wave

# --out: the same bytes as stdout, through a rename (no .tmp left); a second run is identical.
ran=$((ran + 1))
if ! "$WCS" plan "$SITE" "${IN[@]}" --receipts receipts.jsonl "${NOW[@]}" --out "$tmp/a.jsonl" ||
    ! "$WCS" plan "$SITE" "${IN[@]}" --receipts receipts.jsonl "${NOW[@]}" --out "$tmp/b.jsonl" ||
    ! cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl" || ! cmp -s "$tmp/a.jsonl" "$HERE/expected/full.jsonl" ||
    [ -e "$tmp/a.jsonl.tmp" ]; then
    fail "--out twice: byte-identical files equal to stdout, no .tmp"
fi

# Without --now the header names the clock.
ran=$((ran + 1))
if ! "$WCS" plan "$SITE" "${IN[@]}" --what reserve | head -1 | grep -q '"now_from":"clock"'; then
    fail "no --now: header says now_from clock"
fi

check "bad stock lines" 1 "stock-bad.jsonl:2: sku: unknown SKU \"FD-9999\"
stock-bad.jsonl:3: location: WH1/Stock/A is a view location and holds no stock
stock-bad.jsonl:4: location: unknown location \"WH1/Stock/C/01/1\"
stock-bad.jsonl:6: qty: must be a positive integer, got 0
stock-bad.jsonl:7: qty: must be a positive integer, got -4
stock-bad.jsonl:8: lot: product HH-3001 is not tracked by lot or serial
stock-bad.jsonl:9: expiry: required: product FD-1002 has expiry dates
stock-bad.jsonl:10: expiry: must be a date YYYY-MM-DD, got \"2027-02-30\"
stock-bad.jsonl:11: json: column 89: string or '}' expected near '}'" \
    "$SITE" --stock stock-bad.jsonl --orders orders.jsonl "${NOW[@]}" --out "$tmp/bad.jsonl"
ran=$((ran + 1))
if [ -e "$tmp/bad.jsonl" ] || [ -e "$tmp/bad.jsonl.tmp" ]; then
    fail "bad input left an output file"
fi

check "bad order lines, with the stock's errors in the same run" 1 \
    "stock-bad.jsonl:2: sku: unknown SKU \"FD-9999\"
stock-bad.jsonl:3: location: WH1/Stock/A is a view location and holds no stock
stock-bad.jsonl:4: location: unknown location \"WH1/Stock/C/01/1\"
stock-bad.jsonl:6: qty: must be a positive integer, got 0
stock-bad.jsonl:7: qty: must be a positive integer, got -4
stock-bad.jsonl:8: lot: product HH-3001 is not tracked by lot or serial
stock-bad.jsonl:9: expiry: required: product FD-1002 has expiry dates
stock-bad.jsonl:10: expiry: must be a date YYYY-MM-DD, got \"2027-02-30\"
stock-bad.jsonl:11: json: column 89: string or '}' expected near '}'
orders-bad.jsonl:2: order: duplicate order id \"SO-1\" (first on line 1)
orders-bad.jsonl:3: carrier: unknown carrier \"UPS\"
orders-bad.jsonl:4: lines[1].qty: must be a positive integer, got 0
orders-bad.jsonl:5: ship_date: must be a date YYYY-MM-DD, got \"2026-11-31\"
orders-bad.jsonl:6: lines[0].lot: product HH-3001 is not tracked by lot or serial
orders-bad.jsonl:7: lines[0].sku: unknown SKU \"XX-1\"
orders-bad.jsonl:8: priority: unknown priority \"asap\"" \
    "$SITE" --stock stock-bad.jsonl --orders orders-bad.jsonl "${NOW[@]}"

# A failed run keeps the previous plan untouched.
printf 'old plan\n' >"$tmp/keep.jsonl"
check "bad orders keep an old output" 1 \
    "orders-bad.jsonl:2: order: duplicate order id \"SO-1\" (first on line 1)
orders-bad.jsonl:3: carrier: unknown carrier \"UPS\"
orders-bad.jsonl:4: lines[1].qty: must be a positive integer, got 0
orders-bad.jsonl:5: ship_date: must be a date YYYY-MM-DD, got \"2026-11-31\"
orders-bad.jsonl:6: lines[0].lot: product HH-3001 is not tracked by lot or serial
orders-bad.jsonl:7: lines[0].sku: unknown SKU \"XX-1\"
orders-bad.jsonl:8: priority: unknown priority \"asap\"" \
    "$SITE" --stock stock.jsonl --orders orders-bad.jsonl "${NOW[@]}" --out "$tmp/keep.jsonl"
ran=$((ran + 1))
if [ "$(cat "$tmp/keep.jsonl")" != "old plan" ] || [ -e "$tmp/keep.jsonl.tmp" ]; then
    fail "the old output was changed"
fi

check "config missing" 1 \
    "/nonexistent/site.yaml:1:1: (top): cannot read the config: No such file or directory" \
    /nonexistent/site.yaml "${IN[@]}" "${NOW[@]}"
check "missing file" 1 "nothere.jsonl: cannot open: No such file or directory" \
    "$SITE" --stock stock.jsonl --orders nothere.jsonl "${NOW[@]}"
check "unwritable --out" 1 \
    "wcs plan: /nonexistent/plan.jsonl.tmp: No such file or directory" \
    "$SITE" "${IN[@]}" "${NOW[@]}" --out /nonexistent/plan.jsonl
check "no --orders" 2 \
    "wcs plan: CONFIG, --stock and --orders are required ('wcs plan --help')" \
    "$SITE" --stock stock.jsonl
check "unknown stage" 2 \
    "wcs plan: --what: unknown stage 'purchases' (stages: reserve, wave, batch, putaway, replenish, purchase)" \
    "$SITE" "${IN[@]}" --what reserve,purchases
check "putaway without receipts" 2 "wcs plan: --what putaway needs --receipts" \
    "$SITE" "${IN[@]}" --what putaway
check "bad --now" 2 \
    "wcs plan: --now: an ISO-8601 time like 2026-11-26T08:00Z expected, got '8am'" \
    "$SITE" "${IN[@]}" --now 8am
check "unknown option" 2 "wcs plan: unknown option '--fast'" "$SITE" "${IN[@]}" --fast

echo "$((ran - failed))/$ran cases passed"
[ "$failed" = 0 ]
