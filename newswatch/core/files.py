"""What the hot reloaders (feeds, notify) watch of a config file."""

from __future__ import annotations

from pathlib import Path


def file_stamp(path: Path) -> tuple[int, int] | None:
    """The file's modification time (ns) and size, None when it is missing: a change means the file was edited."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size
