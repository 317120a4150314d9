"""The files operators deploy with: Prometheus config and alert rules, the Grafana dashboard, docker-compose."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from prometheus_client import CollectorRegistry
from ruamel.yaml import YAML

from tests.conftest import ROOT

PROM = ROOT / "config" / "prometheus"
DASHBOARD = ROOT / "config" / "grafana" / "dashboards" / "newswatch.json"


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: `make install` runs scripts/install-system-deps, which installs it"
    return path


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.compose.yml", "prometheus.cluster.yml"])
def test_promtool_accepts_the_scrape_configs(promtool: str, config: str) -> None:
    done = subprocess.run([promtool, "check", "config", str(PROM / config)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_accepts_the_alerting_rules(promtool: str) -> None:
    rules = PROM / "rules" / "newswatch.rules.yml"
    done = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_alerting_rules_pass_their_promtool_unit_tests(promtool: str) -> None:
    """Series-driven checks of the rules (config/prometheus/rules/*.test.yml): e.g. a fresh start never alerts."""
    tests = sorted((PROM / "rules").glob("*.test.yml"))
    assert tests
    done = subprocess.run([promtool, "test", "rules", *map(str, tests)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dashboard_is_a_valid_grafana_import_payload() -> None:
    """What docs/operations.md tells people to POST to /api/dashboards/db, or upload in the UI."""
    dashboard = json.loads(DASHBOARD.read_text())
    payload = {"dashboard": {**dashboard, "id": None}, "overwrite": True}
    assert json.loads(json.dumps(payload)) == payload
    assert dashboard.get("id") is None and dashboard["uid"] == "newswatch" and dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["panels"]
    provisioned = YAML(typ="safe").load(
        (ROOT / "config" / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    uids = {d["uid"] for d in provisioned["datasources"]}
    assert uids == {"newswatch-prometheus"}  # the uid docs/operations.md names
    ids = set()
    for panel in dashboard["panels"]:
        assert panel.get("datasource") in (None, {"type": "prometheus", "uid": "newswatch-prometheus"}), panel["title"]
        assert isinstance(panel["id"], int) and panel["id"] not in ids
        ids.add(panel["id"])
        for target in panel.get("targets", []):
            assert target["expr"] and target.get("refId")


def test_committed_dashboard_is_what_the_generator_builds() -> None:
    assert DASHBOARD.read_text() == load_script("build_dashboard").render(), (
        "config/grafana/dashboards/newswatch.json is stale: run .venv/bin/python scripts/build_dashboard.py"
    )


def exported_metric_names() -> set[str]:
    """Every metric family name the worker's registry (ours + Faust's sensor), the full-text stage, the notifier and
    the console export."""
    from faust.sensors.prometheus import FaustMetrics

    from newswatch.console.metrics import ConsoleMetrics
    from newswatch.fulltext.metrics import FulltextMetrics
    from newswatch.notify.metrics import NotifyMetrics
    from newswatch.streams.metrics import WorkerMetrics

    registry = CollectorRegistry()
    WorkerMetrics(registry)
    FulltextMetrics(registry)
    ConsoleMetrics(registry, list)  # no verdicts: its triage gauges are still declared
    NotifyMetrics(registry)
    FaustMetrics.create(registry, "newswatch_faust")
    names = set()
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "info": ["_info"], "gauge": [""]}
    for family in registry.collect():
        names.update(family.name + suffix for suffix in suffixes.get(family.type, [""]))
    return names


def referenced_metrics(expr: str) -> set[str]:
    return set(re.findall(r"\bnewswatch_[a-z0-9_]+", expr))


def test_every_worker_fulltext_and_console_metric_the_dashboard_and_rules_use_is_exported() -> None:
    """Poller metrics are checked by the end-to-end test that scrapes a running poller."""
    exported = exported_metric_names()
    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p.get("targets", [])]
    rules = YAML(typ="safe").load((PROM / "rules" / "newswatch.rules.yml").read_text())
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    used = {name for expr in exprs for name in referenced_metrics(expr) if not name.startswith("newswatch_poller_")}
    assert used - exported == set()


def test_docker_compose_matches_the_compose_specification() -> None:
    schema_path = ROOT / ".cache" / "compose-spec.json"
    assert schema_path.exists(), "run `make install` (scripts/fetch-compose-schema) first"
    schema = json.loads(schema_path.read_text())
    compose = YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())
    jsonschema.validate(compose, schema)
    assert set(compose["services"]) >= {"kafka", "topics", "poller", "worker", "prometheus", "grafana"}


def test_compose_kafka_is_the_same_version_as_the_local_broker() -> None:
    from newswatch.local.kafka import LocalKafka

    compose = YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{LocalKafka().kafka_version()}"


def test_compose_mounts_the_files_the_services_read() -> None:
    compose = YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())
    for volume in compose["services"]["grafana"]["volumes"] + compose["services"]["prometheus"]["volumes"]:
        host = volume.split(":")[0]
        assert (ROOT / host).exists(), volume
    assert Path(ROOT / "Dockerfile").exists()


def load_cluster_compose() -> dict:
    return YAML(typ="safe").load((ROOT / "docker-compose.cluster.yml").read_text())


def test_cluster_compose_matches_the_compose_specification() -> None:
    schema_path = ROOT / ".cache" / "compose-spec.json"
    assert schema_path.exists(), "run `make install` (scripts/fetch-compose-schema) first"
    jsonschema.validate(load_cluster_compose(), json.loads(schema_path.read_text()))


def test_cluster_compose_runs_three_kraft_brokers_of_the_local_version() -> None:
    from newswatch.local.kafka import LocalKafka

    services = load_cluster_compose()["services"]
    brokers = {name: s for name, s in services.items() if name.startswith("kafka-")}
    assert len(brokers) == 3
    voters = {s["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"] for s in brokers.values()}
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    assert {s["environment"]["KAFKA_NODE_ID"] for s in brokers.values()} == {1, 2, 3}
    assert len({s["environment"]["CLUSTER_ID"] for s in brokers.values()}) == 1
    for broker in brokers.values():
        env = broker["environment"]
        assert broker["image"] == f"apache/kafka:{LocalKafka().kafka_version()}"
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert (env["KAFKA_DEFAULT_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == (3, 2)


def test_cluster_compose_creates_and_uses_replicated_topics() -> None:
    from newswatch.core.settings import Settings

    services = load_cluster_compose()["services"]
    command = services["topics"]["command"]
    assert command[command.index("--replication-factor") + 1] == "3"
    assert command[command.index("--min-insync-replicas") + 1] == "2"
    for name in ("poller-0", "poller-1", "worker"):
        settings = Settings(
            **{k.removeprefix("NEWSWATCH_").lower(): v for k, v in services[name]["environment"].items()}
        )
        assert settings.kafka_bootstrap.count(",") == 2, name
        assert (settings.topic_replication_factor, settings.topic_min_insync_replicas) == (3, 2), name
        assert settings.topic_partitions == 8, name
    assert {services[p]["command"][-1] for p in ("poller-0", "poller-1")} == {"0/2", "1/2"}


def test_cluster_compose_monitors_every_poller_and_worker_replica() -> None:
    """Prometheus scrapes both pollers and each worker replica (DNS per replica); Grafana reads that Prometheus."""
    compose = load_cluster_compose()
    services = compose["services"]
    command = services["prometheus"]["command"]
    config_file = next(c for c in command if c.startswith("--config.file=")).split("/")[-1]
    config = YAML(typ="safe").load((PROM / config_file).read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    pollers = {t.split(":")[0] for t in jobs["newswatch-poller"]["static_configs"][0]["targets"]}
    assert pollers == {name for name in services if name.startswith("poller-")}
    (dns,) = jobs["newswatch-worker"]["dns_sd_configs"]
    assert dns["names"] == ["worker"] and dns["port"] == int(
        services["worker"]["environment"]["NEWSWATCH_WORKER_WEB_PORT"]
    )
    assert services["worker"]["deploy"]["replicas"] > 1
    for volume in services["grafana"]["volumes"] + services["prometheus"]["volumes"]:
        host = volume.split(":")[0]
        assert not host.startswith(".") or (ROOT / host).exists(), volume


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.cluster.yml"])
def test_compose_publishes_nothing_beyond_localhost_and_has_no_default_password(name: str) -> None:
    compose = YAML(typ="safe").load((ROOT / name).read_text())
    for service, spec in compose["services"].items():
        for port in spec.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {service} publishes {port} on every interface"
    grafana = compose["services"]["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GF_ADMIN_PASSWORD:?")  # compose refuses without it


def test_the_compose_console_binds_every_interface_only_with_a_token_that_has_no_default() -> None:
    compose = YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())
    env = compose["services"]["console"]["environment"]
    assert env["NEWSWATCH_CONSOLE_HOST"] == "0.0.0.0"  # inside its container; published on 127.0.0.1 only
    assert env["NEWSWATCH_CONSOLE_TOKEN"].startswith("${NEWSWATCH_CONSOLE_TOKEN:?")
    assert compose["services"]["console"]["ports"] == [f"127.0.0.1:{env['NEWSWATCH_CONSOLE_PORT']}:8088"]


def test_the_image_copies_every_folder_the_package_is_built_from() -> None:
    """pyproject maps each card folder into the package; one the Dockerfile leaves out fails `pip install /src`
    (the full-text stage's folder once was)."""
    import tomllib

    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    copied = set(re.findall(r"^COPY (\S+) /src/", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    assert set(mapping.values()) - copied == set()
