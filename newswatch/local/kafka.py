"""A real single-node Apache Kafka broker (KRaft, combined broker + controller) on 127.0.0.1, without Docker.

The broker's jars come from Maven Central through ``newswatch/local/kafka-broker/pom.xml`` and are cached in
``.cache/kafka/libs``; a second ``up`` downloads nothing. Its data (topics, consumer offsets, the poller's feed
state, the worker's table changelog) is kept across stops and starts, so a restarted local service re-sends
nothing and forgets nothing; ``up(fresh=True)`` (``newswatch kafka up --fresh``) formats fresh storage.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from newswatch.core.settings import STATE_DIR, Settings

KAFKA_DIR = Path(__file__).resolve().parent / "kafka-broker"  # package data: the pom and the log config
POM = KAFKA_DIR / "pom.xml"
LOG4J_CONFIG = KAFKA_DIR / "log4j2.properties"


class LocalKafkaError(RuntimeError):
    """The local broker could not be fetched, started or stopped; the message says what to do."""


@dataclass(frozen=True)
class LocalKafka:
    """Paths and ports of one local broker; all state lives under ``home``."""

    home: Path = STATE_DIR / "kafka"
    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"
    # The jars; defaults to ``home/libs``. A second broker (e.g. a test's private one) points at the first's
    # jars so it downloads nothing.
    libs: Path = None  # type: ignore[assignment]  # filled in by __post_init__
    # Secured listeners beside the PLAINTEXT one (tests of TLS and SASL clients; see local/tls.py): their names
    # (SASL_SSL, SSL) and ports, broker settings to add, and SCRAM-SHA-512 users (name, password) made at format.
    secured: tuple[tuple[str, int], ...] = ()
    extra_config: tuple[str, ...] = ()
    scram_users: tuple[tuple[str, str], ...] = ()
    # One node of a cluster (local/cluster.py): its id, every controller as "id@host:port,...", the cluster id all
    # nodes are formatted with, and how many copies Kafka's own topics and new topics get by default.
    node_id: int = 1
    voters: str | None = None
    cluster_id: str | None = None
    replicas: int = 1

    def __post_init__(self) -> None:
        # Absolute: Maven resolves a relative output folder against the pom's folder, Java against its own cwd.
        object.__setattr__(self, "home", Path(self.home).resolve())
        object.__setattr__(self, "libs", Path(self.libs).resolve() if self.libs is not None else self.home / "libs")

    @classmethod
    def for_settings(cls, settings: Settings) -> LocalKafka:
        """The local broker that ``settings`` point at: its folder, and the host and port of the bootstrap."""
        host, port = settings.bootstrap_address
        return cls(home=settings.local_kafka_dir, host=host, port=port, controller_port=port + 1)

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log_file(self) -> Path:
        return self.home / "broker.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def min_insync(self) -> int:
        """In-sync copies a write needs: all but one when there are several, so one node may be down."""
        return max(1, self.replicas - 1)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    # -- fetching --------------------------------------------------------------------------------

    def kafka_version(self) -> str:
        text = POM.read_text()
        start = text.index("<kafka.version>") + len("<kafka.version>")
        return text[start : text.index("</kafka.version>")]

    def fetch(self) -> bool:
        """Copy the broker's jars from Maven into ``libs``; return False when they were already cached."""
        marker = self.libs / f"kafka_2.13-{self.kafka_version()}.jar"
        if marker.exists():
            return False
        self.libs.mkdir(parents=True, exist_ok=True)
        for old in self.libs.glob("*.jar"):  # a version bump must not mix two Kafkas on one classpath
            old.unlink()
        cmd = [
            "mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            f"-DoutputDirectory={self.libs}", "-DincludeScope=runtime",
        ]  # fmt: skip
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        except FileNotFoundError as exc:
            raise LocalKafkaError("Maven (mvn) is not installed; install it (apt-get install maven)") from exc
        if done.returncode != 0 or not marker.exists():
            raise LocalKafkaError(f"fetching Kafka jars with Maven failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return True

    # -- lifecycle -------------------------------------------------------------------------------

    def pid(self) -> int | None:
        """The pid of the broker this folder started, if it is still alive."""
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None
        return pid

    def _write_config(self) -> Path:
        config = self.home / "server.properties"
        config.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    f"node.id={self.node_id}",
                    f"controller.quorum.voters={self.voters or f'{self.node_id}@{self.host}:{self.controller_port}'}",
                    f"listeners=PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}"
                    + "".join(f",{name}://{self.host}:{port}" for name, port in self.secured),
                    f"advertised.listeners=PLAINTEXT://{self.host}:{self.port}"
                    + "".join(f",{name}://{self.host}:{port}" for name, port in self.secured),
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
                    + "".join(f",{name}:{name}" for name, _ in self.secured),
                    *self.extra_config,
                    f"log.dirs={self.data}",
                    "num.partitions=1",
                    "auto.create.topics.enable=true",
                    # A single node cannot replicate internal topics (defaults of 3 would never come up); a cluster
                    # keeps every topic, Kafka's own and those Faust creates, as safe as `newswatch topics` makes its
                    # own: all copies, and one may be down without stopping writes.
                    f"offsets.topic.replication.factor={self.replicas}",
                    f"transaction.state.log.replication.factor={self.replicas}",
                    f"transaction.state.log.min.isr={self.min_insync}",
                    f"share.coordinator.state.topic.replication.factor={self.replicas}",
                    f"share.coordinator.state.topic.min.isr={self.min_insync}",
                    f"default.replication.factor={self.replicas}",
                    f"min.insync.replicas={self.min_insync}",
                    "unclean.leader.election.enable=false",
                    # Tests start many short-lived consumer groups; waiting 3 s for each rebalance adds up.
                    "group.initial.rebalance.delay.ms=0",
                    "",
                ]
            )
        )
        return config

    def _java(self, main: str, *args: str, **popen: object) -> list[str]:
        return [
            "java", f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}", f"-Dkafka.logs.dir={self.home}",
            "-cp", f"{self.libs}/*", main, *args,
        ]  # fmt: skip

    def up(self, timeout: float = 90.0, *, fresh: bool = False) -> bool:
        """Start the broker in the background and wait until it answers; return False if it already ran.

        It starts on its existing data (same cluster id, topics and offsets) when there is some; ``fresh`` wipes
        that and formats new storage with a new cluster id.
        """
        proc = self.start(fresh=fresh)
        if proc is None:
            return False
        self.wait(proc, timeout)
        return True

    def start(self, *, fresh: bool = False) -> subprocess.Popen[bytes] | None:
        """Launch the broker without waiting for it (a cluster's nodes answer only once most of them run);
        None when this folder's broker already answers."""
        if self.pid() is not None and answers(self.bootstrap):
            return None
        if answers(self.bootstrap):
            raise LocalKafkaError(
                f"something else already serves Kafka on {self.bootstrap}; use it (it is reused by the tests) "
                "or stop it first"
            )
        self.fetch()
        self.home.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        if fresh or not (self.data / "meta.properties").exists():
            self._format(config)
        self.log_file.unlink(missing_ok=True)
        with open(self.home / "broker.out", "wb") as out:
            # A new session keeps Ctrl-C in the terminal from reaching the broker directly;
            # `down` (called by make's trap) stops it in order.
            proc = subprocess.Popen(
                self._java("kafka.Kafka", str(config)),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        return proc

    def wait(self, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
        """Wait until the broker ``start`` launched answers; stop it and raise if it exits or stays silent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LocalKafkaError(f"Kafka exited with code {proc.returncode} while starting.\n{self.tail()}")
            if answers(self.bootstrap):
                return
            time.sleep(0.5)
        self.down()
        raise LocalKafkaError(f"Kafka did not answer on {self.bootstrap} within {timeout:.0f} s.\n{self.tail()}")

    def _format(self, config: Path) -> None:
        """Fresh storage with a new cluster id: nothing of a previous run's topics is left."""
        subprocess.run(["rm", "-rf", str(self.data)], check=True)
        self.data.mkdir(parents=True)
        cluster_id = self.cluster_id or new_cluster_id()
        scram = [arg for name, password in self.scram_users for arg in (
            "--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]"
        )]  # fmt: skip
        fmt = subprocess.run(
            self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config), *scram),
            capture_output=True,
            text=True,
            check=False,
        )
        if fmt.returncode != 0:
            raise LocalKafkaError(f"formatting Kafka storage failed:\n{fmt.stdout}{fmt.stderr}")

    def down(self, timeout: float = 30.0) -> bool:
        """Stop the broker (SIGTERM, then SIGKILL after ``timeout``); return False if none was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> bool:
        """SIGKILL the broker, as a crash would stop it (no clean shutdown); False if none was running."""
        pid = self.pid()
        if pid is None:
            return False
        os.killpg(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
        return True

    def tail(self, lines: int = 30) -> str:
        """The last lines of the broker's logs, for error messages."""
        chunks = []
        for path in (self.home / "broker.out", self.log_file):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                chunks.append(f"--- last lines of {path} ---\n" + "\n".join(text))
        return "\n".join(chunks) or "(the broker wrote no log)"


def new_cluster_id() -> str:
    """A fresh KRaft cluster id (a URL-safe base64 UUID)."""
    cluster_id = "-"
    while cluster_id.startswith("-"):  # the tool would read a leading "-" as an option (1 id in 64; CI hit one)
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    return cluster_id


def _alive(pid: int) -> bool:
    # Reap it if it is our child, so a zombie does not count as alive.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def answers(bootstrap: str, timeout: float = 2.0) -> bool:
    """True when a Kafka broker at ``bootstrap`` answers a metadata request."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            request_timeout_ms=int(timeout * 1000),
            bootstrap_timeout_ms=int(timeout * 1000),
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        consumer.topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        consumer.close()
