"""``newswatch notify`` and ``notify check``: a bad file is named with its lines and stops the command before it
reaches Kafka or any sink; never a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_cli_errors import newswatch


def test_check_passes_the_shipped_file() -> None:
    done = newswatch("notify", "check")
    assert done.returncode == 0, done.stderr
    assert "notify.yaml: 1 sinks, 1 routes: ok" in done.stdout


def test_check_names_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(
        "sinks:\n  hook: {type: webhook, url: 'https://x.org/h', secret_env: HOOK}\nroutes:\n  - sinks: [h]\n"
    )
    done = newswatch("notify", "check", "--file", str(path))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{path}:4: routes.0.sinks: no sink named 'h' (defined: hook)" in done.stderr


def test_the_service_refuses_to_start_on_a_missing_secret_before_contacting_kafka(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(
        "sinks:\n  hook: {type: webhook, url: 'https://x.org/h', secret_env: HOOK}\nroutes:\n  - sinks: hook\n"
    )
    done = newswatch("notify", "--file", str(path), NEWSWATCH_KAFKA_BOOTSTRAP="127.0.0.1:1")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the environment variable HOOK is not set" in done.stderr and "Kafka" not in done.stderr
