#!/bin/sh
# Every example site under config/examples/ must pass `wcs check` (exit 0, one "ok:" line on
# stdout, nothing on stderr). Creates the example secrets first. Usage: check_examples.sh WCS ROOT
set -u
wcs=$1
root=$2
sh "$root/scripts/example-secrets.sh" "$root/config/examples" || exit 1
fail=0
n=0
for site in "$root"/config/examples/*/site.yaml; do
    n=$((n + 1))
    out=$("$wcs" check "$site" 2>&1)
    rc=$?
    case "$rc:$out" in
    0:ok:*) echo "$out" ;;
    *) echo "FAIL $site (exit $rc):"; echo "$out"; fail=1 ;;
    esac
done
[ "$n" -ge 2 ] && [ "$fail" -eq 0 ]
