#!/bin/sh
# Live migration over loopback between two `vstate vm` processes: a source
# with RAM of random content and a workload dirtying memory, migrated to a
# destination, with a progress bar on a terminal, the final figures, and a
# check that the destination holds the source's RAM (a digest per block)
# and device state at the switchover.
#
# usage: scripts/demo-migrate.sh [VSTATE]      (default build/tools/vstate)
#        RAM=256M DIRTY=100M scripts/demo-migrate.sh
set -eu

vstate=${1:-build/tools/vstate}
ram=${RAM:-1G}
dirty=${DIRTY:-200M}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The destination picks a free port and says which.
"$vstate" vm --ram "$ram" --incoming tcp:127.0.0.1:0 --once --describe \
    >"$tmp/dst.out" 2>"$tmp/dst.err" &
dst=$!
for _ in $(seq 100); do
    grep -q '^listening on ' "$tmp/dst.out" 2>/dev/null && break
    sleep 0.1
done
uri=$(sed -n 's/^listening on //p' "$tmp/dst.out")
[ -n "$uri" ] || { cat "$tmp/dst.err" >&2; echo "demo-migrate: the destination did not start" >&2; exit 2; }

echo "demo-migrate: $ram of random RAM, a workload dirtying $dirty/s, migrating to $uri"
"$vstate" vm --ram "$ram" --fill random --dirty-rate "$dirty" --max-bandwidth 0 \
    --migrate "$uri" --once --describe --progress >"$tmp/src.out"
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
