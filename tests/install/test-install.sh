#!/bin/sh
# test-install.sh: install vstate into a scratch prefix and build a device
# author's program against it with pkg-config, once with make and once with
# meson, then run it.  Usage: test-install.sh BUILD_DIR SOURCE_DIR
set -eu

build=$1
src=$2
sanitize=${3:-none}
san_flags=
[ "$sanitize" = none ] || san_flags="-fsanitize=$sanitize"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

prefix="$scratch/prefix"
meson install -C "$build" --no-rebuild --quiet --destdir "$scratch/dest" >/dev/null
# meson installs under DESTDIR + the configured prefix; find the pc file.
pc=$(find "$scratch/dest" -name vstate.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: vstate.pc was not installed"; exit 1; }
# Point a copy of the installed .pc file at the staged prefix, so both the
# make and the meson build resolve vstate there and glib/talloc as usual.
prefix=$(sed -n 's/^prefix=//p' "$pc")
mkdir "$scratch/pc"
sed "s|^prefix=.*|prefix=$scratch/dest$prefix|" "$pc" >"$scratch/pc/vstate.pc"
export PKG_CONFIG_PATH="$scratch/pc"
# The library sits next to its pkgconfig directory.
libdir=$(dirname "$(dirname "$pc")")
export LD_LIBRARY_PATH="$libdir"

echo "pkg-config: $(pkg-config --cflags --libs vstate)"
for h in visitor/visitor.h visitor/visitor-impl.h visitor/registry.h \
         visitor/qemufile/qemufile.h visitor/qemufile/legacy-visitor.h \
         visitor/pretty/pretty.h vs-version.h; do
    found=$(find "$scratch/dest" -path "*/include/vstate/$h" | head -n 1)
    [ -n "$found" ] || { echo "FAIL: header $h not installed"; exit 1; }
done
ls "$libdir"/libvstate.a "$libdir"/libvstate.so >/dev/null

mkdir "$scratch/make" "$scratch/meson"
cp "$src/examples/consumer/counter.c" "$src/examples/consumer/counter.vs" \
    "$src/examples/consumer/Makefile" "$scratch/make/"
make -s -C "$scratch/make" counter CFLAGS="-O2 -Wall -Wextra -Werror $san_flags" LDFLAGS="$san_flags"
out=$("$scratch/make/counter")
echo "$out"
expected='41 bytes
counter.ticks = (uint32) 0x1020304
counter.delta = (int16) -0x2
counter.nlog = (uint8) 0x3
counter.log(3)(1).[0] = (uint8) 0x7
counter.log(3)(1).[1] = (uint8) 0x8
counter.log(3)(1).[2] = (uint8) 0x9
counter.flags = (uint32) 0x1
counter.counter/alarm.alarm = (uint64) 0x500'
[ "$out" = "$expected" ] || { echo "FAIL: make-built consumer printed something else"; exit 1; }

cp "$src/examples/consumer/counter.c" "$src/examples/consumer/counter.vs" \
    "$src/examples/consumer/meson.build" "$scratch/meson/"
meson setup "$scratch/meson/build" "$scratch/meson" -Db_sanitize="$sanitize" -Db_lundef=false >/dev/null
ninja -C "$scratch/meson/build" >/dev/null
out2=$("$scratch/meson/build/counter")
[ "$out2" = "$expected" ] || { echo "FAIL: meson-built consumer printed something else"; exit 1; }
# The installed generator is reachable through pkg-config and runs.
gen=$(pkg-config --variable=vstate_gen vstate)
case "$gen" in "$scratch"/*) ;; *) echo "FAIL: vstate_gen points outside the install: $gen"; exit 1 ;; esac
"$gen" --check "$src/examples/consumer/counter.vs" || { echo "FAIL: installed vstate-gen"; exit 1; }
echo "PASS: installed library and generator used from make and meson builds"
