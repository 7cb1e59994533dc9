#!/bin/sh
# make-golden.sh: write the golden streams that tests/compat/golden/ lacks.
#
# usage: tests/compat/make-golden.sh BUILD_DIR
#
# Each released schema (schema/history/<device>-v<N>.vs and each current
# schema/<device>.vs) gets one stream per form, drawn from a seed fixed by
# the stream's name, and the trace of loading it with the current schema.
# Existing files are kept: a released stream is never rewritten, and the
# test suite only reads them.  Run it after adding a schema version (or a
# device), check what it wrote, and commit the new files.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
exec "$1/tools/vstate" compat --write-golden "$here/golden"
