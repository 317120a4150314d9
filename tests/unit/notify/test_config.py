"""config/notify.yaml: what a person editing it sees when it is wrong, and what a valid one gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from newswatch.core.yamlconf import ConfigError
from newswatch.notify.config import SEVERITIES, AlertmanagerSink, WebhookSink, load_notify
from newswatch.notify.reload import LiveNotify
from tests.conftest import ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(text)
    return path


def problems(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as err:
        load_notify(path, environ or {})
    return str(err.value)


@pytest.mark.parametrize("name", ["notify.yaml", "notify.compose.yaml"])
def test_the_shipped_files_load(name: str) -> None:
    config = load_notify(ROOT / "config" / name, {})
    assert isinstance(config.sinks["alertmanager"], AlertmanagerSink)
    assert config.routes[0].sinks == ["alertmanager"]


def test_compose_runs_a_notifier_that_reaches_the_stacks_alertmanager_and_is_scraped() -> None:
    compose = YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())
    notify = compose["services"]["notify"]
    shipped = notify["environment"]["NEWSWATCH_NOTIFY_FILE"]
    assert shipped.startswith("/app/config/")  # the mounted ./config
    config = load_notify(ROOT / "config" / shipped.removeprefix("/app/config/"), {})
    sink = config.sinks["alertmanager"]
    assert isinstance(sink, AlertmanagerSink) and str(sink.url).startswith("http://alertmanager:9093")
    assert "alertmanager" in compose["services"]
    prometheus = YAML(typ="safe").load((ROOT / "config" / "prometheus" / "prometheus.compose.yml").read_text())
    targets = {t for job in prometheus["scrape_configs"] for c in job.get("static_configs", []) for t in c["targets"]}
    assert f"notify:{notify['environment']['NEWSWATCH_NOTIFY_METRICS_PORT']}" in targets


def test_severities_are_the_alert_contracts() -> None:
    schema = json.loads((ROOT / "config" / "schemas" / "alert.v1.json").read_text())
    assert list(SEVERITIES) == schema["properties"]["rule"]["properties"]["severity"]["enum"]


def test_unknown_key_and_wrong_type_are_reported_at_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sinks:\n"
        "  am:\n"
        "    type: alertmanager\n"
        "    url: http://127.0.0.1:9093\n"
        "    resolve_afterr: 60\n"
        "routes:\n"
        "  - match: {min_severity: huge}\n"
        "    sinks: [am]\n",
    )
    text = problems(path)
    assert f"{path}:5: sinks.am.resolve_afterr: unknown key 'resolve_afterr'" in text
    assert f"{path}:7: routes.0.match.min_severity:" in text


def test_a_route_to_an_undefined_sink_names_its_line_and_the_defined_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sinks:\n  am: {type: alertmanager, url: 'http://127.0.0.1:9093'}\n"
        "routes:\n  - sinks:\n      - am\n      - pager\n",
    )
    assert problems(path) == f"{path}:6: routes.0.sinks: no sink named 'pager' (defined: am)"


def test_an_unknown_sink_type_and_a_bad_url_are_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sinks:\n  a: {type: pager, url: 'http://x'}\n  b: {type: alertmanager, url: 'ftp://x'}\n"
        "routes:\n  - sinks: [a, b]\n",
    )
    text = problems(path)
    assert f"{path}:2: sinks.a" in text and "pager" in text
    assert f"{path}:3: sinks.b" in text and "not an http(s):// URL" in text


WEBHOOK = "sinks:\n  hook:\n    type: webhook\n    url: https://hooks.example.org/x\n{extra}routes:\n  - sinks: hook\n"


def test_a_webhook_without_a_secret_is_refused_unless_unsigned(tmp_path: Path) -> None:
    path = write(tmp_path, WEBHOOK.format(extra=""))
    assert "a webhook is signed with a secret" in problems(path)
    unsigned = load_notify(write(tmp_path, WEBHOOK.format(extra="    sign: false\n")), {})
    assert isinstance(unsigned.sinks["hook"], WebhookSink) and unsigned.sinks["hook"].secret is None


def test_the_secret_comes_from_the_environment_and_is_never_shown(tmp_path: Path) -> None:
    path = write(tmp_path, WEBHOOK.format(extra="    secret_env: HOOK_SECRET\n"))
    assert f"{path}:5: sinks.hook.secret_env: the environment variable HOOK_SECRET is not set" in problems(path)
    config = load_notify(path, {"HOOK_SECRET": "s3cret-value"})
    sink = config.sinks["hook"]
    assert isinstance(sink, WebhookSink) and sink.secret is not None
    assert sink.secret.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(config) and "s3cret-value" not in str(config.model_dump())


def test_a_newswatch_variable_cannot_hold_a_secret(tmp_path: Path) -> None:
    """Every NEWSWATCH_* variable must be a setting: one holding a secret would stop every command as a typo."""
    path = write(tmp_path, WEBHOOK.format(extra="    secret_env: NEWSWATCH_HOOK_SECRET\n"))
    assert f"{path}:5: sinks.hook.secret_env: 'NEWSWATCH_HOOK_SECRET': a NEWSWATCH_* name is taken" in problems(path)


def test_the_secret_file_is_read_relative_to_the_notify_file(tmp_path: Path) -> None:
    (tmp_path / "hook.secret").write_text("from-a-file\n")
    config = load_notify(write(tmp_path, WEBHOOK.format(extra="    secret_file: hook.secret\n")), {})
    sink = config.sinks["hook"]
    assert isinstance(sink, WebhookSink) and sink.secret is not None
    assert sink.secret.get_secret_value() == "from-a-file"
    missing = write(tmp_path, WEBHOOK.format(extra="    secret_file: nope.secret\n"))
    assert "sinks.hook.secret_file: cannot read" in problems(missing)


def test_a_template_that_does_not_compile_is_reported_at_start(tmp_path: Path) -> None:
    path = write(tmp_path, WEBHOOK.format(extra="    sign: false\n    template: '{{ alert.rule.id '\n"))
    text = problems(path)
    assert f"{path}:6: sinks.hook.template:" in text and "template line 1" in text


def test_the_shipped_slack_template_compiles_through_a_relative_path(tmp_path: Path) -> None:
    shipped = ROOT / "config" / "notify" / "slack.json.j2"
    extra = f"    sign: false\n    template_file: {shipped}\n"
    sink = load_notify(write(tmp_path, WEBHOOK.format(extra=extra)), {}).sinks["hook"]
    assert isinstance(sink, WebhookSink) and sink.template_text == shipped.read_text()


def test_an_invalid_edit_keeps_the_last_good_config(tmp_path: Path) -> None:
    path = write(tmp_path, "sinks:\n  am: {type: alertmanager, url: 'http://127.0.0.1:9093'}\nroutes:\n  - sinks: am\n")
    live = LiveNotify(path, {})
    assert live.check() is None
    path.write_text("sinks:\n  am: {type: alertmanager}\nroutes:\n  - sinks: am\n  # longer\n")
    assert live.check() is None and live.error and "url" in live.error
    assert live.config.sinks["am"].url == "http://127.0.0.1:9093"
    path.write_text("sinks:\n  am2: {type: alertmanager, url: 'http://127.0.0.1:9094'}\nroutes:\n  - sinks: am2\n")
    reloaded = live.check()
    assert reloaded is not None and set(reloaded.sinks) == {"am2"} and live.error is None
