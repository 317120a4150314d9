"""The local cluster's nodes are configured as one KRaft quorum whose topics keep three copies (the compose file's
settings); the single broker keeps its one-copy settings."""

from __future__ import annotations

from pathlib import Path

from newswatch.core.settings import Settings
from newswatch.local.cluster import LocalCluster
from newswatch.local.kafka import LocalKafka


def config_of(node: LocalKafka) -> dict[str, str]:
    node.home.mkdir(parents=True, exist_ok=True)
    lines = node._write_config().read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_three_nodes_form_one_quorum_and_keep_three_copies_of_every_topic(tmp_path: Path) -> None:
    cluster = LocalCluster(home=tmp_path, ports=(19092, 19094, 19096))
    nodes = cluster.nodes()
    assert cluster.bootstrap == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    configs = [config_of(node) for node in nodes]
    assert [c["node.id"] for c in configs] == ["1", "2", "3"]
    voters = "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    assert all(c["controller.quorum.voters"] == voters for c in configs)
    for c in configs:
        assert c["default.replication.factor"] == "3" and c["min.insync.replicas"] == "2"
        assert c["offsets.topic.replication.factor"] == "3" and c["transaction.state.log.min.isr"] == "2"
        assert c["unclean.leader.election.enable"] == "false"
    assert len({node.home for node in nodes}) == 3  # each node its own data


def test_the_single_broker_keeps_one_copy(tmp_path: Path) -> None:
    config = config_of(LocalKafka(home=tmp_path))
    assert config["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert config["default.replication.factor"] == "1" and config["min.insync.replicas"] == "1"


def test_kafka_up_brokers_3_puts_the_cluster_beside_the_single_broker_and_shares_its_jars(tmp_path: Path) -> None:
    settings = Settings(local_kafka_dir=tmp_path / "kafka", kafka_bootstrap="127.0.0.1:9092")
    cluster = LocalCluster.for_settings(settings, 3)
    assert cluster.ports == (9092, 9094, 9096)
    assert cluster.home == tmp_path / "kafka-cluster"
    assert {node.libs for node in cluster.nodes()} == {tmp_path / "kafka" / "libs"}
