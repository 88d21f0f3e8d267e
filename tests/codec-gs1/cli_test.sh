#!/bin/bash
# `wcs barcode` end to end: runs the binary on fixed inputs and compares the exact stdout,
# stderr and exit status of each case. Usage: cli_test.sh PATH/TO/wcs
set -u
WCS=${1:?usage: cli_test.sh PATH/TO/wcs}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0 ran=0
GS=$'\x1d'

# check NAME WANT_RC WANT_STDOUT WANT_STDERR [ARGS...]; stdin comes from $IN (default empty).
# Expected texts are given without their final newline; each non-empty one gets one.
check() {
    local name=$1 want_rc=$2 want_out=$3 want_err=$4 rc
    shift 4
    printf '%s' "${IN-}" | "$WCS" barcode "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ -n "$want_out" ]; then printf '%s\n' "$want_out" >"$tmp/want_out"; else : >"$tmp/want_out"; fi
    if [ -n "$want_err" ]; then printf '%s\n' "$want_err" >"$tmp/want_err"; else : >"$tmp/want_err"; fi
    ran=$((ran + 1))
    if [ "$rc" != "$want_rc" ] || ! cmp -s "$tmp/out" "$tmp/want_out" ||
        ! cmp -s "$tmp/err" "$tmp/want_err"; then
        failed=$((failed + 1))
        echo "FAIL $name: exit $rc (want $want_rc)"
        diff -u "$tmp/want_out" "$tmp/out" | sed 's/^/  stdout /'
        diff -u "$tmp/want_err" "$tmp/err" | sed 's/^/  stderr /'
    fi
}

check "design example, GS as <GS>" 0 \
    '{"aim":"]C1","gs1":true,"elements":[{"ai":"01","value":"09506000134352","title":"GTIN"},{"ai":"17","value":"261231","title":"USE BY or EXPIRY","date":"2026-12-31"},{"ai":"10","value":"ABC123","title":"BATCH/LOT"},{"ai":"21","value":"S1","title":"SERIAL"}],"symbology":"GS1-128"}' '' \
    --year 2025 ']C101095060001343521726123110ABC123<GS>21S1'

check "GS as \\x1d and literal, DataMatrix" 0 \
    '{"aim":"]d2","gs1":true,"elements":[{"ai":"10","value":"L1","title":"BATCH/LOT"},{"ai":"21","value":"S1","title":"SERIAL"},{"ai":"3103","value":"004500","title":"NET WEIGHT (kg)","decimal":"4.500","unit":"kg","weight_mg":4500000}],"symbology":"GS1 DataMatrix"}' '' \
    --year 2025 "]d210L1\\x1d21S1${GS}3103004500"

check "bracketed form, DD=00 in a leap February" 0 \
    '{"aim":null,"gs1":true,"elements":[{"ai":"01","value":"09506000134352","title":"GTIN"},{"ai":"15","value":"240200","title":"BEST BEFORE or BEST BY","date":"2024-02-29"},{"ai":"3932","value":"9781999","title":"PRICE","currency":"978","decimal":"19.99"}]}' '' \
    --year 2025 '(01)09506000134352(15)240200(3932)9781999'

check "EAN-13 and plain Code 128" 0 \
    '{"aim":"]E0","gs1":true,"elements":[{"ai":"01","value":"04006381333931","title":"GTIN"}],"symbology":"EAN-13/UPC-A"}
{"aim":"]C0","gs1":false,"data":"0109506000134352","symbology":"Code 128"}
{"aim":null,"gs1":false,"data":"TOTE-0042"}' '' \
    ']E04006381333931' ']C00109506000134352' 'TOTE-0042'

check "bad check digit" 1 '' 'wcs barcode: AI (01): check digit 2 expected, got 3' \
    ']C10109506000134353'

check "invalid date" 1 '' 'wcs barcode: AI (17): invalid date 260431: no day 31 in month 04' \
    '(17)260431'

check "too long" 1 '' 'wcs barcode: AI (10): too long: at most 20 characters, got 21' \
    ']C110ABCDEFGHIJKLMNOPQRSTU'

check "invalid character" 1 '' \
    'wcs barcode: AI (21): invalid character 0x20 at position 2 (not in GS1 character set 82)' \
    '(21)A B'

check "missing GS after 8005" 1 '' \
    "wcs barcode: AI (8005): GS expected after the 6-character value, got '1'" \
    ']C1800500012310ABC'

check "unknown AI" 1 '' 'wcs barcode: unknown AI at byte 19: "2399"' \
    ']C101095060001343522399X'

check "century of 2100: no 29 February" 1 '' \
    'wcs barcode: AI (17): invalid date 000229 for reference year 2075' \
    --year 2075 '(17)000229'

IN=$']C10109506000134352\r\n\n]C10109506000134353\n(10)X' check "stdin lines, one bad" 1 \
    '{"aim":"]C1","gs1":true,"elements":[{"ai":"01","value":"09506000134352","title":"GTIN"}],"symbology":"GS1-128"}
{"aim":null,"gs1":true,"elements":[{"ai":"10","value":"X","title":"BATCH/LOT"}]}' \
    'wcs barcode: AI (01): check digit 2 expected, got 3' \
    -

check "no argument" 2 '' "$("$WCS" barcode --help)"
check "bad --year" 2 '' "wcs barcode: --year: a year 100-9999 expected, got 'soon'" --year soon X

echo "$((ran - failed))/$ran cases passed"
[ "$failed" = 0 ]
