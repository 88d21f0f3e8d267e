#!/bin/sh
# The bad-config corpus: runs `wcs check NN-name.yaml` in tests/config/bad/ for every
# NN-name.expect there and requires exit status 1 and a stderr equal to the .expect file, line
# for line. Side files (includes, CSVs) live in NN-name.d/. Usage: run_bad.sh WCS BAD_DIR
set -u
wcs=$1
cd "$2" || exit 2
# Git stores this secret as 644 anyway; make sure, since the case is about that mode.
chmod 644 secrets/world.pass
fail=0
count=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for expect in [0-9]*.expect; do
    name=${expect%.expect}
    count=$((count + 1))
    "$wcs" check "$name.yaml" >/dev/null 2>"$out"
    rc=$?
    if [ "$rc" -ne 1 ]; then
        echo "FAIL $name: exit status $rc, expected 1"
        fail=$((fail + 1))
    elif ! diff -u "$expect" "$out" >/dev/null; then
        echo "FAIL $name: stderr differs from $expect:"
        diff -u "$expect" "$out"
        fail=$((fail + 1))
    fi
done
echo "$count cases, $fail failed"
[ "$count" -ge 40 ] && [ "$fail" -eq 0 ]
