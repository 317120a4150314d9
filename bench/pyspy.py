"""py-spy on a worker, and its raw stacks summarised by function (bench/bench_pipeline.py ``--profile``)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path


def spy(pid: int, out: Path) -> subprocess.Popen:
    """py-spy recording ``pid`` into ``out`` (raw collapsed stacks) until sent SIGINT."""
    spy_cmd = [
        str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
        "--rate", "100", "--format", "raw", "--nonblocking", "--gil", "--output", str(out),
    ]  # fmt: skip
    return subprocess.Popen(spy_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarise_profile(raw: Path, top: int = 15) -> str:
    """py-spy's raw (collapsed) stacks as two markdown tables: functions by own time and by total time."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [_frame(f) for f in stack.split(";") if f]
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            if not any(skip in frame for skip in _PLUMBING):
                total[frame] += n
    lines = [f"{samples:,} samples (100/s)", "", "| own % | function |", "|---:|---|"]
    lines += [f"| {100 * n / samples:.1f} | `{name}` |" for name, n in own.most_common(top)]
    lines += ["", "| total % | function |", "|---:|---|"]
    lines += [f"| {100 * n / samples:.1f} | `{name}` |" for name, n in total.most_common(top * 2)]
    return "\n".join(lines)


# frames every sample of the worker passes through (the CLI, Faust's worker start, the event loop itself)
_PLUMBING = (
    "typer/", "click/", "runpy", "faust/cli/", "mode/worker.py", "__main__", "asyncio/base_events.py",
    "asyncio/events.py", "newswatch/cli.py", "faust/app/base.py", "mode/threads.py", "threading.py",
)  # fmt: skip


def _frame(frame: str) -> str:
    """``name (path:line)`` -> ``name (short path)``, so the lines of one function add up."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"
