#!/bin/sh
# test-vstate.sh: the `vstate` command as a user runs it: exit statuses,
# one-line errors, help, the demo round trip, and `print` on QEMU's bytes.
# Usage: test-vstate.sh VSTATE_BINARY [CORPUS_DIR]
set -u

vstate=$1
corpus=${2:-}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
. "$(dirname "$0")/tap-lib.sh"

one_line_error() {
    if [ "$(wc -l <"$scratch/err")" = 1 ] && grep -q "^vstate" "$scratch/err"; then
        check ok "$1: one-line error on stderr"
    else
        check fail "$1: stderr is not one line: $(cat "$scratch/err")"
    fi
}

expect_status 0 "--version" "$vstate" --version
grep -q '^vstate [0-9]' "$scratch/out" && check ok "--version prints the version" ||
    check fail "--version output: $(cat "$scratch/out")"
expect_status 0 "--help" "$vstate" --help
expect_status 2 "no command" "$vstate"
expect_status 2 "unknown command" "$vstate" frobnicate
one_line_error "unknown command"
for c in demo print types help; do
    expect_status 0 "$c --help" "$vstate" "$c" --help
    grep -qi "usage" "$scratch/out" && check ok "$c --help shows usage" ||
        check fail "$c --help: $(head -c 200 "$scratch/out")"
done
expect_status 0 "help print" "$vstate" help print
expect_status 2 "bad option" "$vstate" print --no-such-option
one_line_error "bad option"

expect_status 0 "types" "$vstate" types
grep -q '^i8259 ' "$scratch/out" && grep -q '^vsdemo ' "$scratch/out" &&
    check ok "types lists i8259 and vsdemo" || check fail "types: $(cat "$scratch/out")"

expect_status 0 "demo" "$vstate" demo --format trace --out "$scratch/demo.bin"
grep -q '^OK: 3 device states' "$scratch/out" && check ok "demo reports an identical round trip" ||
    check fail "demo: $(tail -n 3 "$scratch/out")"
grep -q '^vsdemo.vsdemo/irq.irq_mask = (uint16) 0xfffe$' "$scratch/out" &&
    check ok "demo prints trace lines" || check fail "demo trace missing"
[ "$(head -c 8 "$scratch/demo.bin" | od -An -tx1 | tr -d ' \n')" = 5145564d00000003 ] &&
    check ok "demo writes a QEMU stream (QEVM, version 3)" ||
    check fail "demo stream header: $(head -c 8 "$scratch/demo.bin" | od -An -tx1)"
grep -q 'decoded by schema' "$scratch/out" && check ok "demo decodes sections by schema" ||
    check fail "demo: no 'decoded by schema' line"

# Where a FULL section's body starts: after 04, id, len, idstr, instance, version.
body_offset() {
    python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
name, inst = sys.argv[2].encode(), int(sys.argv[3])
needle = bytes([len(name)]) + name + struct.pack(">I", inst)
i = data.index(needle)
print(i + len(needle) + 4)
PY
}
demo_off=$(body_offset "$scratch/demo.bin" vsdemo 0)
pic_off=$(body_offset "$scratch/demo.bin" i8259 0)

# The demo's third state starts at byte 32 (two 16-byte PIC states first).
expect_status 0 "print vsdemo from the demo stream" \
    "$vstate" print -t vsdemo -o "$demo_off" -l 95 -f json "$scratch/demo.bin"
grep -q '"wire_name": "vsdemo"' "$scratch/out" && check ok "print --format json" ||
    check fail "json: $(head -c 300 "$scratch/out")"
expect_status 0 "print from standard input" sh -c \
    "tail -c +$((pic_off + 1)) '$scratch/demo.bin' | head -c 16 | '$vstate' print -t i8259 -f trace -"
grep -q '^i8259.imr = (uint8) 0xb8$' "$scratch/out" && check ok "stdin trace" ||
    check fail "stdin trace: $(cat "$scratch/out")"

expect_status 2 "print a truncated state" "$vstate" print -t vsdemo -o "$demo_off" -l 55 "$scratch/demo.bin"
grep -q "^vstate print: vsdemo.chans\[1\].mask: stream ends after 1 of 4 bytes (offset $(printf '0x%x' $((demo_off + 0x36))))\$" "$scratch/err" &&
    check ok "truncation names the field path and offset" ||
    check fail "truncation error: $(cat "$scratch/err")"
grep -q '^vsdemo.chans(2)(5).\[1\].mode = (uint8) 0x2$' "$scratch/out" &&
    check ok "the part decoded before the error is printed" ||
    check fail "partial output: $(tail -n 2 "$scratch/out")"
expect_status 2 "print with trailing bytes" "$vstate" print -t i8259 -o "$pic_off" -l 20 "$scratch/demo.bin"
one_line_error "trailing bytes"
expect_status 2 "print an unknown type" "$vstate" print -t nosuch "$scratch/demo.bin"
one_line_error "unknown type"
expect_status 2 "print a missing file" "$vstate" print -t i8259 "$scratch/nosuch.bin"
one_line_error "missing file"
expect_status 2 "print past the end" "$vstate" print -t i8259 -o 100000000 "$scratch/demo.bin"
one_line_error "offset past the end"

expect_status 0 "import-vmstate --help" "$vstate" import-vmstate --help
dump="$corpus/vmstate/vmstate-pc-i440fx-7.2.json"
if [ -n "$corpus" ] && [ -r "$dump" ]; then
    expect_status 0 "import-vmstate converts QEMU's dump" \
        "$vstate" import-vmstate "$dump" -o "$scratch/imported" -q
    grep -q '^type i8259 "i8259" version 1 minimum 1 {$' "$scratch/imported/i8259.vs" &&
        check ok "import-vmstate writes i8259.vs" || check fail "import-vmstate: no i8259.vs"
else
    echo "ok $((n + 1)) - import-vmstate # SKIP corpus not found at '$corpus'"
    n=$((n + 1))
fi

stream="$corpus/streams/a-pc-bare/ran2s.bin"
if [ -n "$corpus" ] && [ -r "$stream" ]; then
    # QEMU 7.2 wrote the slave PIC's 16-byte state at offset 533197.
    expect_status 0 "print QEMU 7.2's i8259 state" \
        "$vstate" print -t i8259 -o 533197 -l 16 -f trace "$stream"
    cat >"$scratch/want" <<'TRACE'
i8259.last_irr = (uint8) 0x0
i8259.irr = (uint8) 0x0
i8259.imr = (uint8) 0x8e
i8259.isr = (uint8) 0x0
i8259.priority_add = (uint8) 0x0
i8259.irq_base = (uint8) 0x70
i8259.read_reg_select = (uint8) 0x0
i8259.poll = (uint8) 0x0
i8259.special_mask = (uint8) 0x0
i8259.init_state = (uint8) 0x0
i8259.auto_eoi = (uint8) 0x0
i8259.rotate_on_auto_eoi = (uint8) 0x0
i8259.special_fully_nested_mode = (uint8) 0x0
i8259.init4 = (uint8) 0x1
i8259.single_mode = (uint8) 0x0
i8259.elcr = (uint8) 0xc
TRACE
    cmp -s "$scratch/want" "$scratch/out" && check ok "corpus i8259 trace" ||
        check fail "corpus i8259 trace differs: $(diff "$scratch/want" "$scratch/out")"
else
    echo "ok $((n + 1)) - corpus i8259 trace # SKIP corpus not found at '$corpus'"
    n=$((n + 1))
fi

echo "1..$n"
[ "$failures" = 0 ]
