#!/bin/sh
# The main job's script (scripts/demo-migrate.sh) end to end with small
# RAM: it migrates, shows the final figures, compares RAM digests and
# passes only when `vstate diff` of the two ends' device states finds no
# difference; and with a `vstate diff` that reports one, it fails and
# shows that report.  TAP output.
#
# usage: test-demo-migrate.sh VSTATE SCRIPT
set -u

vstate=$1
script=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

check() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=1
        sed 's/^/# /' "$tmp/out"
    fi
}

RAM=${RAM:-64M} DIRTY=${DIRTY:-50M} "$script" "$vstate" >"$tmp/out" 2>&1
rc=$?
check "$rc" "the demo migrates and finds the two ends equal"
grep -q '^Migration status: completed' "$tmp/out" && grep -q '^downtime: ' "$tmp/out"
check $? "the final statistics are shown"
grep -q '^demo-migrate: vstate diff src-devices dst-devices: no difference ([1-9][0-9]* device sections)$' \
    "$tmp/out"
check $? "the vstate diff step is shown with its result"

# A vstate whose diff finds a difference: the demo must fail and show it.
cat >"$tmp/vstate" <<WRAP
#!/bin/sh
if [ "\$1" = diff ]; then
    echo "section mc146818rtc instance 0"
    echo "  cmos_data[0]: 0x1 -> 0x2"
    exit 1
fi
exec "$vstate" "\$@"
WRAP
chmod +x "$tmp/vstate"
RAM=64M DIRTY=0 "$script" "$tmp/vstate" >"$tmp/out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -q 'cmos_data\[0\]: 0x1 -> 0x2' "$tmp/out" &&
    grep -q 'the device state differs' "$tmp/out" && ! grep -q 'no difference' "$tmp/out"
check $? "a difference in the device state fails the demo and is shown"

echo "1..$n"
exit $failed
