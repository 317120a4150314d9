"""A real multi-broker Kafka cluster on 127.0.0.1, without Docker: ``newswatch kafka up --brokers 3``.

Each node is a combined KRaft broker + controller (``LocalKafka``) with its own ports and folder under one home,
all formatted with one cluster id and voting in one controller quorum. Topics get as many copies as there are
nodes (at most 3) and need all but one in sync, like ``docker-compose.cluster.yml``: one node may crash or restart
without losing a write or stopping the pipeline. Nodes share the jars of the first, so only one download happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from newswatch.core.settings import Settings
from newswatch.local.kafka import LocalKafka, LocalKafkaError, new_cluster_id


@dataclass(frozen=True)
class LocalCluster:
    """``size`` nodes under ``home``; node ``i`` (from 1) listens on ``ports[i-1]`` and its controller on the
    port after it unless ``controller_ports`` says otherwise."""

    home: Path
    ports: tuple[int, ...] = (9092, 9094, 9096)
    controller_ports: tuple[int, ...] | None = None
    host: str = "127.0.0.1"
    heap: str = "512m"
    libs: Path | None = None

    @classmethod
    def for_settings(cls, settings: Settings, size: int) -> LocalCluster:
        """The cluster ``kafka up --brokers N`` starts: ports from the bootstrap's port on, two per node (broker,
        controller), so the default bootstrap (127.0.0.1:9092) reaches node 1 and through it the others."""
        host, port = settings.bootstrap_address
        home = settings.local_kafka_dir.with_name(settings.local_kafka_dir.name + "-cluster")
        # the single broker's jars: a cluster next to it downloads nothing more
        libs = settings.local_kafka_dir / "libs"
        return cls(home=home, host=host, ports=tuple(port + 2 * i for i in range(size)), libs=libs)

    @property
    def size(self) -> int:
        return len(self.ports)

    @property
    def cluster_id_file(self) -> Path:
        return self.home / "cluster.id"

    @property
    def bootstrap(self) -> str:
        """Every node, as a client's bootstrap list."""
        return ",".join(f"{self.host}:{port}" for port in self.ports)

    def nodes(self) -> list[LocalKafka]:
        """One ``LocalKafka`` per node, in node-id order."""
        controllers = self.controller_ports or tuple(port + 1 for port in self.ports)
        voters = ",".join(f"{i}@{self.host}:{port}" for i, port in enumerate(controllers, start=1))
        cluster_id = self.cluster_id_file.read_text().strip() if self.cluster_id_file.exists() else None
        libs = self.libs or self.home / "libs"
        return [
            LocalKafka(
                home=self.home / f"node-{i}",
                host=self.host,
                port=port,
                controller_port=controller,
                heap=self.heap,
                libs=libs,
                node_id=i,
                voters=voters,
                cluster_id=cluster_id,
                replicas=min(3, self.size),
            )
            for i, (port, controller) in enumerate(zip(self.ports, controllers, strict=True), start=1)
        ]

    def node(self, node_id: int) -> LocalKafka:
        """The node with this id (from 1)."""
        return self.nodes()[node_id - 1]

    def up(self, timeout: float = 120.0, *, fresh: bool = False) -> bool:
        """Start every node that is not running and wait until all answer; False if all already ran.

        ``fresh`` formats every node's storage with a new cluster id (stop the cluster first)."""
        if self.size < 2:
            raise LocalKafkaError("a cluster needs at least 2 nodes; `newswatch kafka up` starts a single broker")
        self.home.mkdir(parents=True, exist_ok=True)
        if fresh or not self.cluster_id_file.exists():
            self.cluster_id_file.write_text(new_cluster_id())
            fresh = True
        nodes = self.nodes()
        nodes[0].fetch()
        # Launch all before waiting on any: a node answers only once a majority of the controllers runs.
        launched = [(node, node.start(fresh=fresh)) for node in nodes]
        started = [(node, proc) for node, proc in launched if proc is not None]
        try:
            for node, proc in started:
                node.wait(proc, timeout)
        except LocalKafkaError:
            self.down()
            raise
        return bool(started)

    def down(self, timeout: float = 30.0) -> bool:
        """Stop every node; False if none was running."""
        return any([node.down(timeout) for node in self.nodes()])

    def running(self) -> list[int]:
        """The ids of the nodes whose process is alive."""
        return [node.node_id for node in self.nodes() if node.pid() is not None]
