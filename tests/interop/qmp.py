"""A minimal QMP client for the interop tests (standard library only).

QMP is QEMU's JSON monitor protocol: the server greets, the client sends
qmp_capabilities, then commands; replies carry "return" or "error", and
asynchronous "event" messages may arrive in between.
"""

import json
import socket
import time
from typing import Any, Dict, Optional


class QMPError(Exception):
    pass


class QMP:
    def __init__(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise QMPError(f"cannot connect to {path}")
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError(f"unexpected greeting {greeting}")
        self.command("qmp_capabilities")

    def _read(self) -> Dict[str, Any]:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise QMPError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def command(self, name: str, **args: Any) -> Any:
        msg: Dict[str, Any] = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise QMPError(f"{name}: {reply['error'].get('desc', reply['error'])}")
            return reply.get("return")

    def wait_migration(self, timeout: float = 60.0, want: str = "completed") -> Dict[str, Any]:
        """Poll query-migrate until @want (or failed); returns the last reply."""
        deadline = time.monotonic() + timeout
        info: Optional[Dict[str, Any]] = None
        while time.monotonic() < deadline:
            info = self.command("query-migrate")
            status = (info or {}).get("status")
            if status == want:
                return info or {}
            if status in ("failed", "cancelled"):
                raise QMPError(f"migration {status}: {info}")
            time.sleep(0.05)
        raise QMPError(f"migration did not reach {want}: {info}")

    def close(self) -> None:
        self.sock.close()
