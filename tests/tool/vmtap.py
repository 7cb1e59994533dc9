"""What the `vstate vm` process tests share: TAP lines, a free TCP port,
and waiting for a migration status over QMP.

Import with `from vmtap import ...` from a script in this folder; every
test appends to the one `results` list, and `finish()` prints the plan.
"""

import socket
import time

results = []


def ok(cond, name, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}", flush=True)
    if not cond and detail:
        for line in str(detail).splitlines():
            print(f"# {line}")


def skip(name, why):
    results.append(True)
    print(f"ok {len(results)} - {name} # SKIP {why}", flush=True)


def finish():
    """Prints the plan; the exit status of the script."""
    print(f"1..{len(results)}")
    return 0 if all(results) else 1


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_status(q, want, timeout=60):
    """Polls query-migrate on QMP client @q until its status is in @want;
    the last reply (also on timeout)."""
    deadline = time.monotonic() + timeout
    info = {}
    while time.monotonic() < deadline:
        info = q.command("query-migrate")
        if info.get("status") in want:
            return info
        time.sleep(0.02)
    return info
