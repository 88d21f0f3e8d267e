#!/bin/sh
# Every example site under config/examples/, every scenario site under scenarios/sites/ and
# every test site under tests/config/good/ must
# pass `wcs check` (exit 0, one "ok:" line on stdout, nothing on stderr); a good site with an
# `expect` file must print exactly that line (so its counts are checked too). Creates the
# example secrets first. Usage: check_examples.sh WCS ROOT
set -u
wcs=$1
root=$2
sh "$root/scripts/example-secrets.sh" "$root/config/examples" || exit 1
fail=0
n=0
for site in "$root"/config/examples/*/site.yaml "$root"/scenarios/sites/*/site.yaml \
    "$root"/tests/config/good/*/site.yaml; do
    n=$((n + 1))
    out=$("$wcs" check "$site" 2>&1)
    rc=$?
    want=$(dirname "$site")/expect
    case "$rc:$out" in
    0:ok:*)
        if [ -f "$want" ] && [ "$out" != "$(cat "$want")" ]; then
            echo "FAIL $site: expected:"; cat "$want"; echo "got:"; echo "$out"; fail=1
        else
            echo "$out"
        fi
        ;;
    *) echo "FAIL $site (exit $rc):"; echo "$out"; fail=1 ;;
    esac
done
[ "$n" -ge 3 ] && [ "$fail" -eq 0 ]
