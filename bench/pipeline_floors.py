"""The pipeline bench's floors: a plain Faust app in a process of its own, whose agent only decodes (``bare``), also
matches (``analyze``) or also sends each match through a second agent (``hop``); see bench/bench_pipeline.py.

The child process: ``python bench/pipeline_floors.py MODE BOOTSTRAP TOPIC COUNT PARTITIONS OUT``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newswatch.core.kafka import ensure_topics  # noqa: E402
from newswatch.local.processes import stop_group as stop  # noqa: E402


def run_floor(mode: str, bootstrap: str, topic: str, count: int, partitions: int, out: Path) -> None:
    """The child process of one floor: a plain Faust app whose one agent decodes (and, for ``analyze``, matches)
    every message of ``topic``; writes the first/last times and the match count to ``out`` after ``count``."""
    import faust

    matcher = None
    if mode in ("analyze", "hop"):
        from newswatch.core.settings import get_settings
        from newswatch.matcher.reload import LiveRules
        from newswatch.matcher.topics import RuleTopics

        settings = get_settings()
        matcher = LiveRules(settings.rules_path, RuleTopics.from_settings(settings)).matcher
    work = Path(tempfile.mkdtemp(prefix=f"floor-{mode}-"))
    app = faust.App(
        f"floor-{mode}-{uuid.uuid4().hex[:8]}",
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=str(work),
        web_enabled=False,
        topic_partitions=partitions,
        # the worker's consumer settings (streams/app.py), so the floor reads the way the worker does
        stream_buffer_maxsize=1024,
        broker_max_poll_records=500,
        consumer_auto_offset_reset="earliest",
    )
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    source = app.topic(topic, **raw)
    state: dict[str, Any] = {"n": 0, "first": None, "matches": 0, "hopped": 0}

    def finish() -> None:
        result = {"first": state["first"], "last": time.time(), "count": count, "matches": state["matches"],
                  "cpu_seconds": time.process_time() - state["cpu_at"]}  # fmt: skip
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result))
        tmp.rename(out)

    @app.agent(source)
    async def consume(stream: Any) -> None:
        async for value in stream:
            if state["first"] is None:
                state["first"], state["cpu_at"] = time.time(), time.process_time()
            article = json.loads(value)
            if matcher is not None:
                events = matcher.analyze(article).events
                state["matches"] += len(events)
                if mode == "hop":
                    # the worker's shape with none of its own work: one message per match, keyed by rule, as big
                    # as a real match message (2.9 kB), to a second agent that sends one alert for each
                    for event in events:
                        await matches.send(key=event.rule.id.encode(), value=value[:2900])
            state["n"] += 1
            if state["n"] == count and (mode != "hop" or state["hopped"] == state["matches"]):
                finish()

    if mode == "hop":
        matches_name, alerts_name = hop_topics(topic, out)
        matches = app.topic(matches_name, partitions=partitions, **raw)
        alerts = app.topic(alerts_name, partitions=partitions, **raw)

        @app.agent(matches)
        async def route(stream: Any) -> None:
            async for key, value in stream.items():
                await alerts.send(key=key, value=value)
                state["hopped"] += 1
                if state["n"] == count and state["hopped"] == state["matches"]:
                    finish()

    sys.argv = ["floor", "worker", "--loglevel", "warn"]
    app.main()


def hop_topics(topic: str, out: Path) -> tuple[str, str]:
    """The hop floor's matches and alerts topics (created before it starts: a topic Faust creates on first send is
    only read after the next metadata refresh)."""
    return f"{topic}-{out.stem}-matches", f"{topic}-{out.stem}-alerts"


def floor(mode: str, bootstrap: str, topic: str, count: int, partitions: int, work: Path) -> dict[str, Any]:
    """Run one floor in its own process; its figures once it has consumed ``count`` messages."""
    out = work / f"floor-{mode}-{uuid.uuid4().hex[:6]}.json"
    if mode == "hop":
        ensure_topics(bootstrap, list(hop_topics(topic, out)), partitions=partitions)
    log = out.with_suffix(".log")
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            [sys.executable, __file__, mode, bootstrap, topic, str(count), str(partitions), str(out)],
            cwd=ROOT,
            stdout=logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 900
        while not out.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"floor {mode} did not finish; see {log}:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
    finally:
        stop(proc, timeout=10)
    result = json.loads(out.read_text())
    result["seconds"] = result["last"] - result["first"]
    result["rate"] = count / result["seconds"]
    result["cpu"] = result["cpu_seconds"] / result["seconds"]
    return result


if __name__ == "__main__":
    mode, bootstrap, topic, count, partitions, out = sys.argv[1:7]
    run_floor(mode, bootstrap, topic, int(count), int(partitions), Path(out))
