#!/usr/bin/env python3
"""Print one line of test counts from meson test logs (testlog.json).

A test that speaks TAP (the cmocka suites) counts each of its cases; any
other test counts once.  A missing log counts as a failure: the build or
the test run did not happen.

usage: test-summary.py LABEL TESTLOG.json...
"""
import json
import os
import re
import sys

TAP = re.compile(r"^(not ok|ok)\b(.*)$")


def count(path, totals):
    if not os.path.exists(path):
        totals["failed"] += 1
        return
    with open(path, encoding="utf-8") as log:
        for line in log:
            if not line.strip():
                continue
            record = json.loads(line)
            cases = [TAP.match(l) for l in record.get("stdout", "").splitlines()]
            cases = [m for m in cases if m]
            if not cases:
                result = record["result"]
                key = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}
                totals[key.get(result, "failed")] += 1
                continue
            for m in cases:
                if "# SKIP" in m.group(2) or "# skip" in m.group(2):
                    totals["skipped"] += 1
                elif m.group(1) == "ok":
                    totals["passed"] += 1
                else:
                    totals["failed"] += 1
            if record["result"] not in ("OK", "EXPECTEDFAIL", "SKIP"):
                # A crash after the last TAP line still fails the run.
                if all(m.group(1) == "ok" for m in cases):
                    totals["failed"] += 1


def main():
    label, paths = sys.argv[1], sys.argv[2:]
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for path in paths:
        count(path, totals)
    print(f"{label}: {totals['passed']} passed, {totals['failed']} failed, "
          f"{totals['skipped']} skipped")
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
