"""Child processes and ports on this machine: what `newswatch run`, the tests and the benches share."""

from __future__ import annotations

import os
import signal
import socket
import subprocess


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30.0) -> bool:
    """Send ``sig`` to the process group of ``proc`` (started with ``start_new_session``) and wait for it; SIGKILL
    it after ``timeout``. True when it exited by itself."""
    if proc.poll() is not None:
        return True
    os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return False
