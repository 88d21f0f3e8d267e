#!/bin/sh
# Creates the password files the example configs name (config/examples/*/secrets/*.pass) with
# mode 600. Git stores files as 644, which `wcs check` rightly refuses for secrets, so they are
# git-ignored and made here; tests and the demo run this first. Existing files keep their
# contents and only get their mode fixed. Usage: scripts/example-secrets.sh [EXAMPLES_DIR]
set -eu
root=${1:-"$(dirname "$0")/../config/examples"}
umask 077
for site in "$root"/*/; do
    [ -f "$site/site.yaml" ] || continue
    mkdir -p "$site/secrets"
    for name in redis mqtt; do
        f="$site/secrets/$name.pass"
        if [ ! -f "$f" ]; then
            # A random demo secret; production secrets come from the operator, not from here.
            od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$f"
        fi
        chmod 600 "$f"
    done
done
