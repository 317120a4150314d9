"""A real Prometheus (Debian package ``prometheus``) scraping newswatch on this machine, for runs and tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from newswatch.core.settings import STATE_DIR, shipped

CONFIG = shipped("prometheus", "prometheus.yml")


def start_prometheus(
    config: Path = CONFIG,
    data_dir: Path = STATE_DIR / "prometheus",
    port: int = 9090,
    log: Path | None = None,
) -> subprocess.Popen[bytes] | None:
    """Start Prometheus in its own process group; None when it is not installed (``make install`` installs it)."""
    binary = shutil.which("prometheus")
    if binary is None:
        return None
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    out = open(log or data_dir / "prometheus.log", "wb")  # noqa: SIM115 - handed to the child for its lifetime
    return subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={data_dir}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=2d"],
        stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def wait_ready(base_url: str, timeout: float = 30.0) -> bool:
    """True once Prometheus answers ``/-/ready``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def query(base_url: str, expr: str) -> list[dict[str, Any]]:
    """Evaluate an instant PromQL query through the HTTP API; the result vector (raises on a query error)."""
    url = f"{base_url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise ValueError(f"query {expr!r} failed: {body}")
    result = body["data"]["result"]
    return result if isinstance(result, list) else [result]
