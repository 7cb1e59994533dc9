#!/bin/sh
# Live migration over loopback between two `vstate vm` processes: a source
# with RAM of random content and a workload dirtying memory, migrated to a
# destination, with a progress bar on a terminal, the final figures, and a
# check that the destination holds the source's RAM (a digest per block)
# and device state at the switchover: each end saves its device state
# (--save-devices: the sections as sent, the states as loaded) and
# `vstate diff` of the two must show no difference.
#
# usage: scripts/demo-migrate.sh [VSTATE]      (default build/tools/vstate)
#        (./quickstart demo runs it)
#        RAM=256M DIRTY=100M scripts/demo-migrate.sh
set -eu

vstate=${1:-build/tools/vstate}
ram=${RAM:-1G}
dirty=${DIRTY:-200M}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The destination picks a free port and says which.
"$vstate" vm --ram "$ram" --incoming tcp:127.0.0.1:0 --once --describe \
    --save-devices "$tmp/dst-devices" >"$tmp/dst.out" 2>"$tmp/dst.err" &
dst=$!
for _ in $(seq 100); do
    grep -q '^listening on ' "$tmp/dst.out" 2>/dev/null && break
    sleep 0.1
done
uri=$(sed -n 's/^listening on //p' "$tmp/dst.out")
[ -n "$uri" ] || { cat "$tmp/dst.err" >&2; echo "demo-migrate: the destination did not start" >&2; exit 2; }

echo "demo-migrate: $ram of random RAM, a workload dirtying $dirty/s, migrating to $uri"
"$vstate" vm --ram "$ram" --fill random --dirty-rate "$dirty" --max-bandwidth 0 \
    --migrate "$uri" --once --describe --progress --save-devices "$tmp/src-devices" \
    >"$tmp/src.out"
wait "$dst" || { cat "$tmp/dst.err" >&2; exit 1; }

grep -v '^ram \|^devices ' "$tmp/src.out"
grep '^ram \|^devices ' "$tmp/src.out" >"$tmp/src.digests"
grep '^ram \|^devices ' "$tmp/dst.out" >"$tmp/dst.digests"
if cmp -s "$tmp/src.digests" "$tmp/dst.digests"; then
    blocks=$(grep -c '^ram ' "$tmp/src.digests")
    echo "demo-migrate: the destination equals the source at the switchover:" \
         "$blocks RAM blocks and the devices, digest for digest"
    sed 's/^/  /' "$tmp/src.digests"
else
    echo "demo-migrate: the destination differs from the source:" >&2
    diff "$tmp/src.digests" "$tmp/dst.digests" >&2 || true
    exit 1
fi

# The device state field by field: what the source sent at the switchover
# against what the destination loaded.
"$vstate" describe "$tmp/src-devices" | awk '$5 == "FULL" { print $1 }' >"$tmp/sections"
sections=$(wc -l <"$tmp/sections")
status=0
"$vstate" diff "$tmp/src-devices" "$tmp/dst-devices" >"$tmp/diff.out" 2>&1 || status=$?
if [ "$status" -eq 0 ] && [ ! -s "$tmp/diff.out" ]; then
    echo "demo-migrate: vstate diff src-devices dst-devices: no difference" \
         "($sections device sections)"
    echo "  devices: $(tr '\n' ' ' <"$tmp/sections")"
else
    echo "demo-migrate: vstate diff src-devices dst-devices: the device state differs" \
         "(exit status $status):" >&2
    cat "$tmp/diff.out" >&2
    exit 1
fi
