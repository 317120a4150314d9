"""What the Kafka benches share: real `newswatch worker` processes, their memory and errors, and the group's lag."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newswatch.local.processes import free_port  # noqa: E402


def start_workers(
    count: int, env: dict[str, str], logs_dir: Path, tag: str
) -> tuple[list[subprocess.Popen], list[Path]]:
    """``count`` workers with ``env`` (on top of this process's), each logging to its own file; returns both."""
    procs, logs = [], [logs_dir / f"{tag}-{i}.log" for i in range(count)]
    for log in logs:
        with open(log, "wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "newswatch", "worker", "--web-port", str(free_port())],
                    env={**os.environ, **env},
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    return procs, logs


def wait_ready(logs: list[Path], timeout: float = 120) -> None:
    """Until every worker has logged "Worker ready" (its partitions assigned, its table recovered)."""
    deadline = time.monotonic() + timeout
    while not all("Worker ready" in log.read_text(errors="replace") for log in logs):
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers not ready after {timeout:.0f} s; see {logs}")
        time.sleep(1)


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    """A memory figure of a process from /proc (VmRSS now, VmHWM its peak), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_lag(admin: KafkaAdminClient, consumer: KafkaConsumer, group: str, partitions: list[TopicPartition]) -> int:
    """End offsets minus the group's committed offsets, summed over the topic's partitions."""
    committed = admin.list_group_offsets({group: partitions}).get(group, {})
    ends = consumer.end_offsets(partitions)
    # a partition the group has not committed yet reports -1: all of it is lag
    return sum(ends[tp] - max(0, committed[tp].offset if tp in committed else 0) for tp in partitions)


def error_lines(logs: list[Path]) -> int:
    """ERROR lines in the workers' logs; each is printed with the lines after it (what failed, and where)."""
    errors = 0
    for log in logs:
        lines = log.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if "[ERROR]" in line:
                errors += 1
                print(f"{log.name}: " + "\n    ".join(lines[i : i + 8]), file=sys.stderr)
    return errors
