#!/bin/sh
# test-dump.sh: `vstate dump` and `vstate describe` as a developer runs them:
# help, exit statuses, refusals, standard input, qemu-json against QEMU's own
# analyze-migration.py output for every corpus stream (also from BER, with
# commands, without a trailer), golden outputs, partial output and clean
# errors for cut streams, RAM digests of a generated large stream.
# Usage: test-dump.sh VSTATE_BINARY CORPUS_DIR SOURCE_ROOT
# VSTATE_LARGE_MIB (default 64) sizes the generated RAM stream; the time of
# `dump --ram=none` on it is printed as a TAP comment.
set -u

vstate=$1
corpus=${2:-}
srcdir=$3
golden="$srcdir/tests/tool/golden"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
. "$(dirname "$0")/tap-lib.sh"

one_line_error() {
    if [ "$(wc -l <"$scratch/err")" = 1 ] && grep -q "^vstate $1: " "$scratch/err"; then
        check ok "$2: one-line error on stderr"
    else
        check fail "$2: stderr is not one line: $(cat "$scratch/err")"
    fi
}

# ---- help and usage ----------------------------------------------------------------

for c in dump describe; do
    expect_status 0 "$c --help" "$vstate" "$c" --help
    for word in Usage "Exit status" Examples --format --color; do
        expect_grep "$c --help has $word" "$word" "$scratch/out"
    done
    expect_status 0 "help $c" "$vstate" help "$c"
    expect_status 2 "$c without FILE" "$vstate" "$c"
    one_line_error "$c" "$c without FILE"
    expect_status 2 "$c with a bad format" "$vstate" "$c" --format=xml "$scratch/none"
    one_line_error "$c" "$c --format=xml"
    expect_status 2 "$c with a bad --color" "$vstate" "$c" --color=sometimes "$scratch/none"
    one_line_error "$c" "$c --color=sometimes"
    expect_status 2 "$c of a missing file" "$vstate" "$c" "$scratch/nosuch.bin"
    one_line_error "$c" "$c of a missing file"
    expect_grep "$c names the missing file" "nosuch.bin" "$scratch/err"
done
for word in --section --ram; do
    "$vstate" dump --help >"$scratch/out"
    expect_grep "dump --help has $word" "$word" "$scratch/out"
done
expect_status 2 "dump with a bad --ram" "$vstate" dump --ram=some "$scratch/none"
one_line_error dump "dump --ram=some"

# ---- refusals ------------------------------------------------------------------------

: >"$scratch/empty"
printf 'hello, world\n' >"$scratch/text"
expect_status 2 "dump of an empty file" "$vstate" dump "$scratch/empty"
expect_grep "empty input is named" "empty input" "$scratch/err"
expect_status 2 "dump of a text file" "$vstate" dump "$scratch/text"
expect_grep "the first bytes are shown" "68 65 6c 6c 6f" "$scratch/err"
expect_status 2 "dump of a directory" "$vstate" dump "$scratch"
one_line_error dump "dump of a directory"
expect_status 2 "describe of a path below a file" "$vstate" describe "$scratch/text/x"
one_line_error describe "describe of a path below a file"
expect_status 2 "dump of text on standard input" sh -c "'$vstate' dump - <'$scratch/text'"
expect_grep "standard input is named" "standard input" "$scratch/err"
if [ "$(id -u)" != 0 ]; then
    cp "$scratch/text" "$scratch/unreadable"
    chmod 000 "$scratch/unreadable"
    expect_status 2 "dump of an unreadable file" "$vstate" dump "$scratch/unreadable"
    expect_grep "unreadable: the reason" "Permission denied" "$scratch/err"
else
    skip "dump of an unreadable file" "running as root, which reads any file"
fi

# ---- a stream vstate writes: failures part-way ----------------------------------------

"$vstate" demo --out "$scratch/demo.bin" >/dev/null 2>&1
if [ -s "$scratch/demo.bin" ]; then
    expect_status 0 "dump of the demo stream" "$vstate" dump "$scratch/demo.bin"
    expect_grep "default format off a terminal is trace" "^i8259.imr = (uint8) 0xb8$" "$scratch/out"
    if grep -q $(printf '\033') "$scratch/out"; then
        check fail "no colour in a pipe by default"
    else
        check ok "no colour in a pipe by default"
    fi
    "$vstate" dump --format=tree --color=always "$scratch/demo.bin" >"$scratch/color"
    if grep -q "$(printf '\033')\[" "$scratch/color"; then
        check ok "--color=always colours"
    else
        check fail "--color=always: no escape sequence"
    fi
    expect_status 0 "describe of the demo stream (json)" "$vstate" describe --format=json "$scratch/demo.bin"
    cp "$scratch/out" "$scratch/demo.describe.json"
    python3 - "$scratch/demo.describe.json" >"$scratch/py" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "legacy" and d["machine"] == "pc-i440fx-7.2", d
secs = [s for s in d["sections"] if "idstr" in s]
for s in secs:
    for k in ("idstr", "instance", "version", "offset", "size", "decoded_by"):
        assert k in s, (k, s)
by = {(s["idstr"], s["instance"], s["type"]): s["decoded_by"] for s in secs}
assert by[("i8259", 1, "FULL")] == "schema", by
assert by[("vsdemo", 0, "FULL")] == "schema", by
assert by[("ram", 0, "START")] == "ram", by
# offsets and sizes tile the stream from the first section to the EOF byte
ends = [s["offset"] + s["size"] for s in secs]
assert all(a == b["offset"] for a, b in zip(ends, secs[1:])), secs
print("ok")
PY
    expect_grep "describe json: fields, decoded_by, offsets tile the stream" "^ok$" "$scratch/py"

    # Cut inside vsdemo's body: the sections before it, then its fields up to the cut.
    vsdemo_at=$(python3 -c "import json,sys; print([s['offset'] for s in json.load(open(sys.argv[1]))['sections'] if s.get('idstr') == 'vsdemo'][0])" "$scratch/demo.describe.json")
    head -c $((vsdemo_at + 60)) "$scratch/demo.bin" >"$scratch/demo-cut.bin"
    expect_status 2 "dump of a cut stream exits 2" "$vstate" dump --format=trace "$scratch/demo-cut.bin"
    expect_grep "the sections before the cut are printed" "^i8259.elcr = (uint8) 0xc$" "$scratch/out"
    expect_grep "the failing section's fields before the cut are printed" "^vsdemo.fifo(4)(1).\[2\] = (uint8) 0xa2$" "$scratch/out"
    expect_grep "the failing section is marked incomplete" "^# section vsdemo instance 0 version 2 FULL (decoded by schema, incomplete" "$scratch/out"
    one_line_error dump "cut stream"
    expect_grep "the error names section, field path, offset, read vs expected" \
        "device 'vsdemo': vsdemo.fifo\[3\]: stream ends after 0 of 1 bytes (offset 0x" "$scratch/err"
    expect_status 2 "describe of a cut stream exits 2" "$vstate" describe "$scratch/demo-cut.bin"
    expect_grep "describe marks the failing section" "vsdemo .* schema (failed here)" "$scratch/out"
    expect_status 2 "dump --format=json of a cut stream" "$vstate" dump --format=json "$scratch/demo-cut.bin"
    python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['error'] and 'vsdemo.fifo[3]' in d['error']['message'], d['error']
assert d['records'][-1]['complete'] is False and d['records'][-1]['idstr'] == 'vsdemo'
print('ok')" "$scratch/out" >"$scratch/py" 2>&1
    expect_grep "json of a cut stream is valid JSON with the error" "^ok$" "$scratch/py"

    # Every cut before the EOF item: exit 2 with an error, never a crash.  A cut
    # inside the trailer leaves a stream QEMU loads (it warns about what follows
    # EOF): exit 0 with a warning.
    size=$(wc -c <"$scratch/demo.bin")
    trailer=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['trailer_bytes'])" "$scratch/demo.describe.json")
    eof_end=$((size - trailer - 5))
    bad=""
    cut=1
    for cut in $(seq 1 3571 "$size") $((eof_end - 1)) $((vsdemo_at + 1)) $((vsdemo_at + 20)) \
               $((size - 1)) $((size - 3000)); do
        head -c "$cut" "$scratch/demo.bin" >"$scratch/cut.bin"
        for c in dump describe; do
            "$vstate" "$c" "$scratch/cut.bin" >/dev/null 2>"$scratch/err"
            st=$?
            if [ "$cut" -lt "$eof_end" ]; then
                [ "$st" = 2 ] && [ -s "$scratch/err" ] || bad="$bad $c:$cut:$st"
            else
                [ "$st" = 0 ] && grep -q "warning: .*not a description trailer" "$scratch/err" ||
                    bad="$bad $c:$cut:$st"
            fi
        done
    done
    [ -z "$bad" ] && check ok "cut streams: exit 2 with an error, or 0 with a warning in the trailer" ||
        check fail "cut streams with the wrong status:$bad"

    # Corrupted bytes anywhere: exit 0 or 2, never a crash, and an error line with 2.
    python3 - "$scratch/demo.bin" "$scratch/mut" <<'PY'
import random, sys
data = open(sys.argv[1], "rb").read()
rng = random.Random(6)
for i in range(60):
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        # Mostly the small records after RAM (devices, EOF, trailer), where decoding happens.
        at = rng.randrange(len(b) - 4000, len(b)) if rng.random() < 0.8 else rng.randrange(len(b))
        b[at] = rng.randrange(256)
    open("%s.%d" % (sys.argv[2], i), "wb").write(bytes(b))
PY
    bad=""
    for f in "$scratch"/mut.*; do
        for c in "dump --ram=none" "dump --format=qemu-json" "describe --format=json"; do
            $vstate $c "$f" >/dev/null 2>"$scratch/err"
            st=$?
            if [ "$st" != 0 ] && { [ "$st" != 2 ] || [ ! -s "$scratch/err" ]; }; then
                bad="$bad $(basename "$f"):$c:$st"
            fi
        done
    done
    [ -z "$bad" ] && check ok "corrupted streams: exit 0 or 2 with an error, never a crash" ||
        check fail "corrupted streams:$bad"

    # Without its trailer the demo stream is decoded by the compiled schemas,
    # and qemu-json prints the same as from the description.
    head -c $((size - trailer - 5)) "$scratch/demo.bin" >"$scratch/demo-notrailer.bin"
    expect_status 0 "dump of a stream without a trailer" "$vstate" dump --format=qemu-json "$scratch/demo-notrailer.bin"
    cp "$scratch/out" "$scratch/notrailer.json"
    "$vstate" describe "$scratch/demo-notrailer.bin" >"$scratch/out"
    expect_grep "describe: no trailer" "^trailer: *none" "$scratch/out"
    "$vstate" dump --format=qemu-json --no-schemas "$scratch/demo.bin" >"$scratch/bydesc.json"
    cmp -s "$scratch/notrailer.json" "$scratch/bydesc.json" &&
        check ok "qemu-json: compiled schemas (no trailer) and the description agree" ||
        check fail "qemu-json differs: $(diff "$scratch/bydesc.json" "$scratch/notrailer.json" | head -c 400)"
    grep -Eq '^    "i8259 \([0-9]+\)": \{$' "$scratch/notrailer.json" && check ok "qemu-json key of a schema-decoded section" ||
        check fail "qemu-json: no i8259 key: $(head -c 300 "$scratch/notrailer.json")"
else
    check fail "vstate demo --out wrote no stream"
fi

# ---- the corpus -----------------------------------------------------------------------

if [ -z "$corpus" ] || [ ! -d "$corpus/streams" ]; then
    skip "corpus tests" "corpus not found at '$corpus' (meson's corpus_dir option)"
    echo "1..$n"
    [ "$failures" = 0 ]
    exit
fi

"$vstate" convert --help >/dev/null 2>&1 && have_convert=1 || have_convert=""
for bin in "$corpus"/streams/*/*.bin; do
    ref=${bin%.bin}.state.json
    name=$(basename "$(dirname "$bin")")/$(basename "$bin")
    "$vstate" dump --format=qemu-json "$bin" >"$scratch/qj" 2>"$scratch/err"
    cmp -s "$scratch/qj" "$ref" && check ok "qemu-json = analyze-migration.py: $name" ||
        check fail "qemu-json differs from $ref: $(diff "$ref" "$scratch/qj" | head -c 300)"
    "$vstate" dump --format=qemu-json --no-schemas "$bin" >"$scratch/qj" 2>"$scratch/err"
    cmp -s "$scratch/qj" "$ref" && check ok "qemu-json from the description only: $name" ||
        check fail "qemu-json --no-schemas differs from $ref"
    if [ -n "$have_convert" ]; then
        "$vstate" convert --to=ber "$bin" "$scratch/s.ber" >/dev/null 2>&1
        "$vstate" dump --format=qemu-json - <"$scratch/s.ber" >"$scratch/qj" 2>"$scratch/err"
        cmp -s "$scratch/qj" "$ref" && check ok "qemu-json of the BER form (stdin): $name" ||
            check fail "qemu-json of BER differs from $ref: $(head -c 200 "$scratch/err")"
    fi
    "$vstate" dump --format=json --ram=pages "$bin" >"$scratch/j" 2>"$scratch/err"
    python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['error'] is None and d['format'] == 'legacy'
secs = [r for r in d['records'] if r['kind'] == 'section']
assert secs and all('decoded_by' in r for r in secs)
assert sum(len(r.get('pages', [])) for r in secs) == sum(b['pages_sent'] for b in d['ram_blocks'])
print('ok')" "$scratch/j" >"$scratch/py" 2>&1
    expect_grep "dump --format=json --ram=pages is valid and lists every page: $name" "^ok$" "$scratch/py"
done
[ -n "$have_convert" ] || skip "qemu-json of BER forms" "vstate convert is not built"

a0="$corpus/streams/a0-pc-bare-det/paused.bin"
c0="$corpus/streams/c0-q35-bare-det/paused.bin"
pattern="$corpus/streams/d-pc-pattern/paused.bin"

# Golden outputs (made once, reviewed, never rewritten by this test).  The
# description decodes every section, so they do not change with the
# schemas a build registers; standard input keeps paths out of them.
golden_check() {
    g=$1
    shift
    "$@" >"$scratch/g" 2>"$scratch/err"
    if cmp -s "$scratch/g" "$golden/$g"; then
        check ok "golden $g"
    else
        check fail "golden $g differs: $(diff "$golden/$g" "$scratch/g" | head -c 400)"
    fi
}
sections="-s ram -s i8259 -s mc146818rtc -s fw_cfg -s 0000:00:01.0/PIIX3"
golden_check a0-paused.tree.txt sh -c "'$vstate' dump --no-schemas --format=tree $sections - <'$a0'"
golden_check a0-paused.trace.txt sh -c "'$vstate' dump --no-schemas --format=trace $sections - <'$a0'"
golden_check a0-paused.json sh -c "'$vstate' dump --no-schemas --format=json $sections - <'$a0'"
golden_check a0-paused.qemu.json sh -c "'$vstate' dump --format=qemu-json $sections - <'$a0'"
golden_check a0-paused.describe.txt sh -c "'$vstate' describe --no-schemas - <'$a0'"
golden_check a0-paused.describe.json sh -c "'$vstate' describe --no-schemas --format=json - <'$a0'"
golden_check c0-paused.describe.txt sh -c "'$vstate' describe --no-schemas - <'$c0'"
golden_check d-pattern.ram-none.trace.txt sh -c "'$vstate' dump --ram=none -s ram - <'$pattern'"

# RAM digests equal the SHA-256 of the memory QEMU's analyzer extracted.
"$vstate" dump --format=trace -s ram "$pattern" >"$scratch/out"
while read -r block bytes sum; do
    case $block in '#'*) continue ;; esac
    grep -q "^ram\[\"/\{0,1\}$block\"\].sha256 = (string) \"$sum\"$" "$scratch/out" &&
        check ok "RAM digest of $block equals the corpus's" ||
        check fail "RAM digest of $block: $(grep "$block\"\].sha256" "$scratch/out")"
done <"${pattern%.bin}.ramblocks.txt"

# --ram=pages lists every page as QEMU's analyzer extracted it (-m): zero
# pages as zero fills, data pages by the SHA-256 of their bytes.
"$vstate" dump --format=json --ram=pages -s ram "$pattern" >"$scratch/pages.json"
python3 - "$scratch/pages.json" "${pattern%.bin}.memory.json.gz" >"$scratch/py" 2>&1 <<'PY'
import gzip, hashlib, json, sys
mine = {}
for r in json.load(open(sys.argv[1]))["records"]:
    for p in r.get("pages", []):
        mine["%s (0x%016x)" % (p["block"], p["offset"])] = p["content"]
ref = json.load(gzip.open(sys.argv[2]))["ram (2)"]["memory"]
assert set(mine) == set(ref), (len(mine), len(ref))
for key, want in ref.items():
    if want == "Filled with 0x00":
        assert mine[key] == "zero fill 0x00", (key, mine[key])
    else:
        digest = hashlib.sha256(bytes.fromhex(want.replace(" ", ""))).hexdigest()
        assert mine[key] == "page sha256 " + digest, (key, mine[key])
print("ok", len(ref))
PY
expect_grep "--ram=pages equals the pages analyze-migration.py -m extracted" "^ok " "$scratch/py"

# A stream with commands (a return path and a PING after the configuration):
# QEMU's script stops at them; qemu-json goes on.
python3 - "$corpus/streams/a-pc-bare/paused.bin" "$scratch/cmds.bin" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack(">I", data[9:13])[0]          # configuration: 07 be32 len machine
at = 13 + n
cmds = struct.pack(">BHH", 8, 1, 0) + struct.pack(">BHHI", 8, 2, 4, 0x12345678)
open(sys.argv[2], "wb").write(data[:at] + cmds + data[at:])
PY
expect_status 0 "dump of a stream with commands" "$vstate" dump --format=qemu-json "$scratch/cmds.bin"
cmp -s "$scratch/out" "$corpus/streams/a-pc-bare/paused.state.json" &&
    check ok "qemu-json of a stream with commands = the reference without them" ||
    check fail "qemu-json with commands differs"
expect_status 0 "describe of a stream with commands" "$vstate" describe "$scratch/cmds.bin"
expect_grep "describe lists the PING" "^command PING, 4 payload bytes at offset 0x" "$scratch/out"
expect_grep "describe lists OPEN_RETURN_PATH" "^command OPEN_RETURN_PATH" "$scratch/out"

# A postcopy-shaped stream: ADVISE, the RAM START and PART, LISTEN, then the
# device sections inside a PACKAGED command that ends with POSTCOPY_RUN,
# then the RAM END, EOF and the trailer.
src="$corpus/streams/a-pc-bare/paused.bin"
"$vstate" describe --format=json "$src" >"$scratch/src.json"
python3 - "$src" "$scratch/src.json" "$scratch/postcopy.bin" <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
secs = json.load(open(sys.argv[2]))["sections"]
def cut(s):
    return data[s["offset"]:s["offset"] + s["size"]]
ram = [s for s in secs if s["idstr"] == "ram"]
devices = [s for s in secs if s["idstr"] != "ram"]
eof = devices[-1]["offset"] + devices[-1]["size"]
cmd = lambda n, payload=b"": struct.pack(">BHH", 8, n, len(payload)) + payload
package = b"".join(cut(s) for s in devices) + cmd(5)
out = (data[:ram[0]["offset"]] + cmd(3) + b"".join(cut(s) for s in ram[:-1]) + cmd(4) +
       cmd(7, struct.pack(">I", len(package))) + package + cut(ram[-1]) + data[eof:])
open(sys.argv[3], "wb").write(out)
PY
expect_status 0 "dump of a postcopy stream (package)" "$vstate" dump --format=qemu-json "$scratch/postcopy.bin"
cmp -s "$scratch/out" "${src%.bin}.state.json" &&
    check ok "qemu-json of a postcopy stream = the reference of its precopy form" ||
    check fail "qemu-json of the postcopy stream differs: $(diff "${src%.bin}.state.json" "$scratch/out" | head -c 300)"
expect_status 0 "describe of a postcopy stream" "$vstate" describe --format=json "$scratch/postcopy.bin"
python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
cmds = [s['command'] for s in d['sections'] if 'command' in s]
assert cmds == ['POSTCOPY_ADVISE', 'POSTCOPY_LISTEN', 'PACKAGED', 'POSTCOPY_RUN'], cmds
inside = [s['idstr'] for s in d['sections'] if s.get('in_package') and 'idstr' in s]
assert 'i8259' in inside and 'ram' not in inside, inside
print('ok')" "$scratch/out" >"$scratch/py" 2>&1
expect_grep "describe: commands in order, device sections inside the package" "^ok$" "$scratch/py"

# A cut corpus stream loses its trailer: RAM is printed, then a clean error with a hint.
head -c 535000 "$corpus/streams/a-pc-bare/ran2s.bin" >"$scratch/cut.bin"
expect_status 2 "dump of a cut corpus stream" "$vstate" dump --format=tree "$scratch/cut.bin"
expect_grep "the RAM before the cut is printed" "block pc.ram: 0x2000000 bytes" "$scratch/out"
expect_grep "the error says where the stream ends" "offset 0x" "$scratch/err"
"$vstate" dump --format=tree "$corpus/streams/a-pc-bare/ran2s.bin" >"$scratch/full" 2>/dev/null
# All but the header and the incomplete section's line at the end.
lines=$(($(wc -l <"$scratch/out") - 1))
head -n "$lines" "$scratch/full" | tail -n +2 >"$scratch/full-head"
head -n "$lines" "$scratch/out" | tail -n +2 >"$scratch/cut-body"
expect_grep "the section the load stopped at is named" "^section timer .*INCOMPLETE" "$scratch/out"
expect_grep "the missing trailer is explained" "has no description trailer (a stream cut short loses it)" "$scratch/err"
cmp -s "$scratch/full-head" "$scratch/cut-body" &&
    check ok "partial output is the start of the full output" ||
    check fail "partial output differs from the full one: $(diff "$scratch/full-head" "$scratch/cut-body" | head -c 300)"

# ---- a large generated stream ------------------------------------------------------------

mib=${VSTATE_LARGE_MIB:-64}
python3 "$srcdir/tests/tool/make-large-stream.py" "$mib" "$scratch/large.bin" >"$scratch/large.txt"
want_sum=$(awk '$1 == "sha256" {print $2}' "$scratch/large.txt")
want_pages=$(awk '$1 == "pages_sent" {print $2}' "$scratch/large.txt")
want_zero=$(awk '$1 == "zero_pages" {print $2}' "$scratch/large.txt")
start=$(date +%s%N)
expect_status 0 "dump --ram=none of a $mib MiB stream" "$vstate" dump --ram=none "$scratch/large.bin"
end=$(date +%s%N)
echo "# dump --ram=none of $(wc -c <"$scratch/large.bin") bytes ($mib MiB of RAM): $(((end - start) / 1000000)) ms"
expect_grep "page count" "^ram\[\"pc.ram\"\].pages_sent = (uint64) $(printf '0x%x' "$want_pages")$" "$scratch/out"
expect_grep "zero page count" "^ram\[\"pc.ram\"\].zero_pages = (uint64) $(printf '0x%x' "$want_zero")$" "$scratch/out"
expect_status 0 "dump --ram=summary of the large stream from a pipe" sh -c "cat '$scratch/large.bin' | '$vstate' dump -"
expect_grep "digest of the large block" "^ram\[\"pc.ram\"\].sha256 = (string) \"$want_sum\"$" "$scratch/out"

# A block whose MEM_SIZE length is huge (2^50 bytes) with no page sent: the
# summary must not hash a petabyte of zeros; it says the digest was skipped.
python3 - "$scratch/huge.bin" <<'PY'
import struct, sys
length = 1 << 50
b = b"QEVM" + struct.pack(">I", 3)
b += b"\x07" + struct.pack(">I", 13) + b"pc-i440fx-7.2"
b += b"\x01" + struct.pack(">I", 2) + b"\x03ram" + struct.pack(">II", 0, 4)
b += struct.pack(">Q", length | 0x04) + b"\x06pc.ram" + struct.pack(">Q", length)
b += struct.pack(">Q", 0x10) + b"\x7e" + struct.pack(">I", 2) + b"\x00"
open(sys.argv[1], "wb").write(b)
PY
expect_status 0 "dump --ram=summary of a 2^50-byte block ends at once" \
    timeout 60 "$vstate" dump --ram=summary --format=tree "$scratch/huge.bin"
expect_grep "the skipped digest is explained" "sha256 not computed (block over 64 GiB)" "$scratch/out"

# The progress line: on a terminal only (script(1) gives the command one),
# rewritten in place and cleared before the output ends; never in a file.
if ! command -v script >/dev/null 2>&1; then
    skip "progress line on a terminal" "script(1) is not installed (bsdutils)"
elif ! script -qec true /dev/null >/dev/null 2>&1; then
    skip "progress line on a terminal" "script(1) cannot open a pseudo-terminal here"
else
    script -qec "'$vstate' dump --ram=summary --color=never '$scratch/large.bin' >'$scratch/tty-out'" \
        /dev/null >"$scratch/tty" 2>&1
    st=$?
    [ "$st" = 0 ] && check ok "dump on a terminal: exit 0" || check fail "dump on a terminal: exit $st"
    expect_grep "progress line names the work and its size" "digest of pc.ram: [0-9]* of $mib MiB" "$scratch/tty"
    # Each report starts by going back to the line's start and erasing it.
    cr=$(printf '\r')
    esc=$(printf '\033')
    if grep -q "${cr}${esc}\[Kvstate dump: digest of pc.ram" "$scratch/tty"; then
        check ok "progress line is rewritten in place"
    else
        check fail "progress line is rewritten in place: $(od -c "$scratch/tty" | head -5)"
    fi
    last=$(tr '\r' '\n' <"$scratch/tty" | tail -n 1)
    [ "$last" = "${esc}[K" ] && check ok "progress line is cleared at the end" ||
        check fail "progress line is cleared at the end: last is '$(printf '%s' "$last" | od -c | head -2)'"
    expect_grep "the output itself goes to stdout" "^ram\[\"pc.ram\"\].sha256 = (string) \"$want_sum\"$" "$scratch/tty-out"
    "$vstate" dump --ram=summary "$scratch/large.bin" >/dev/null 2>"$scratch/notty-err"
    [ ! -s "$scratch/notty-err" ] && check ok "no progress line when stderr is a file" ||
        check fail "no progress line when stderr is a file: $(head -c 200 "$scratch/notty-err")"
fi

echo "1..$n"
[ "$failures" = 0 ]
