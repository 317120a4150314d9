"""Bad input gets a clear message and exit code 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def newswatch(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newswatch", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )


def test_kafka_not_reachable_names_the_address_and_the_fix() -> None:
    done = newswatch("poll", "--once", NEWSWATCH_KAFKA_BOOTSTRAP="127.0.0.1:1")
    assert done.returncode == 2
    assert "Kafka is not reachable at 127.0.0.1:1" in done.stderr
    assert "newswatch kafka up" in done.stderr
    assert "Traceback" not in done.stderr


def test_malformed_feeds_file_is_reported_with_its_line(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: x.xml\n    : broken\n  -\n")
    done = newswatch("poll", "--once", "--feeds", str(feeds))
    assert done.returncode == 2
    assert f"{feeds}:" in done.stderr and "Traceback" not in done.stderr


def test_missing_feeds_file_is_named(tmp_path: Path) -> None:
    done = newswatch("poll", "--once", NEWSWATCH_FEEDS_FILE=str(tmp_path / "absent.yaml"))
    assert done.returncode == 2
    assert f"{tmp_path / 'absent.yaml'}: file not found" in done.stderr


def test_missing_feed_path_is_named(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - {id: gone, url: gone.xml}\n")
    done = newswatch("poll", "--once", "--feeds", str(feeds))
    assert done.returncode == 2
    assert "feed 'gone': file" in done.stderr and "does not exist" in done.stderr
