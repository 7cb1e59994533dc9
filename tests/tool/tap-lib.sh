# tap-lib.sh: TAP helpers the shell tests of the `vstate` command source.
# The sourcing script sets $scratch (a scratch directory) first; it ends
# with `echo "1..$n"` and a status from $failures.
failures=0
n=0

# check ok|fail DESCRIPTION: one TAP line (descriptions are one line).
check() {
    n=$((n + 1))
    set -- "$1" "$(printf '%s' "$2" | tr '\n' ' ' | head -c 600)"
    if [ "$1" = ok ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failures=$((failures + 1))
    fi
}

skip() {
    n=$((n + 1))
    echo "ok $n - $1 # SKIP $2"
}

# expect_status WANT DESCRIPTION COMMAND...: output in $scratch/out, $scratch/err.
expect_status() {
    want=$1
    what=$2
    shift 2
    "$@" >"$scratch/out" 2>"$scratch/err"
    got=$?
    if [ "$got" = "$want" ]; then
        check ok "$what"
    else
        check fail "$what (exit $got, wanted $want; stderr: $(head -c 300 "$scratch/err"))"
    fi
}

# expect_grep DESCRIPTION PATTERN FILE
expect_grep() {
    if grep -q -- "$2" "$3"; then
        check ok "$1"
    else
        check fail "$1: '$2' not in $(head -c 300 "$3")"
    fi
}
