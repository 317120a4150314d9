"""The ``newswatch`` command: one entry point for the broker, the poller, the worker and the subscribers.

Settings are read once here and passed down. Commands import their heavy modules (Faust, the worker, the tail)
inside the command so that ``newswatch --help`` stays quick; none of those imports dodges a cycle
(``tests/unit/test_layers.py`` checks there is none).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from newswatch.core.console import fail
from newswatch.core.kafka import KafkaUnavailable, ensure_service_topics, ensure_topics
from newswatch.core.kafka_security import SecurityConfigError
from newswatch.core.settings import Settings, UnknownSetting, get_settings
from newswatch.core.yamlconf import ConfigError
from newswatch.fulltext import cli as fulltext_cli
from newswatch.local.cluster import LocalCluster
from newswatch.local.kafka import LocalKafka, LocalKafkaError, answers
from newswatch.matcher.cli import classify, rules_app
from newswatch.notify import cli as notify_cli
from newswatch.poller import cli as poller_cli
from newswatch.poller.statestore import ensure_state_topic

app = typer.Typer(help="Watch news feeds for the events your rules describe; alert on Kafka.", no_args_is_help=True)
kafka_app = typer.Typer(help="A real Kafka broker (or a cluster of them) on 127.0.0.1 for local runs and tests.")
alerts_app = typer.Typer(help="Read the alert topics.")
feedback_app = typer.Typer(help="Analysts' verdicts on alerts (the console's triage).")
app.add_typer(kafka_app, name="kafka")
app.add_typer(alerts_app, name="alerts")
app.add_typer(feedback_app, name="feedback")
# The poller's commands live with the poller (poller/cli.py): `poll` and `feeds status`.
app.command()(poller_cli.poll)
app.add_typer(poller_cli.feeds_app, name="feeds")
# The full-text stage's command lives with it (fulltext/cli.py).
app.command("fulltext")(fulltext_cli.fulltext)
# The rule commands live with the matcher (matcher/cli.py): `rules check|test` and `classify`.
app.add_typer(rules_app, name="rules")
app.command("classify")(classify)
# The notifier's commands live with it (notify/cli.py): `notify` and `notify check`.
app.add_typer(notify_cli.notify_app, name="notify")


@kafka_app.command("up")
def kafka_up(
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Wipe the kept data (topics, alerts, offsets, feed state) first.")
    ] = False,
    brokers: Annotated[
        int,
        typer.Option(
            "--brokers",
            min=1,
            max=9,
            help="Nodes: 1 is the single local broker; 3 is a cluster where topics keep 3 copies and one node may "
            "be down (ports from the bootstrap's on, two per node).",
        ),
    ] = 1,
) -> None:
    """Fetch Kafka's jars (once) and start the broker, or a cluster of brokers, on its kept data; wait until it
    answers."""
    settings = get_settings()
    target: LocalKafka | LocalCluster = (
        LocalKafka.for_settings(settings) if brokers == 1 else LocalCluster.for_settings(settings, brokers)
    )
    running = target.pid() is not None if isinstance(target, LocalKafka) else bool(target.running())
    if fresh and running:
        fail("the local Kafka is running; stop it first (newswatch kafka down), then start it with --fresh")
    try:
        started = target.up(fresh=fresh)
    except LocalKafkaError as exc:
        fail(str(exc))
    typer.echo(f"kafka {'started' if started else 'already running'} on {target.bootstrap}")
    if isinstance(target, LocalCluster):
        typer.echo(
            f"{brokers} nodes under {target.home}; for newswatch's own topics to keep as many copies:\n"
            f"  export NEWSWATCH_KAFKA_BOOTSTRAP={target.bootstrap} NEWSWATCH_TOPIC_REPLICATION_FACTOR="
            f"{min(3, brokers)} NEWSWATCH_TOPIC_MIN_INSYNC_REPLICAS={max(1, min(3, brokers) - 1)}"
        )
    else:
        typer.echo(f"log: {target.log_file}")


@kafka_app.command("down")
def kafka_down() -> None:
    """Stop the local broker or cluster started by `kafka up`."""
    settings = get_settings()
    stopped = LocalKafka.for_settings(settings).down()
    cluster = LocalCluster.for_settings(settings, 9)  # every node a cluster of any size could have
    stopped = any([stopped, *(node.down() for node in cluster.nodes() if node.home.exists())])
    typer.echo("kafka stopped" if stopped else "kafka was not running")


@kafka_app.command("status")
def kafka_status() -> None:
    """Say whether the local broker (or cluster) runs and answers."""
    settings = get_settings()
    kafka = LocalKafka.for_settings(settings)
    pid, ok = kafka.pid(), answers(settings.kafka_bootstrap)
    typer.echo(
        f"kafka on {settings.kafka_bootstrap}: {'answers' if ok else 'not answering'}"
        f"{f' (local broker pid {pid})' if pid else ''}"
    )
    for node in LocalCluster.for_settings(settings, 9).nodes():
        if node.pid() is not None:
            typer.echo(f"  cluster node {node.node_id} on {node.bootstrap}: pid {node.pid()}")
    raise typer.Exit(0 if ok else 1)


def _settings(**overrides: object) -> Settings:
    """The settings read once from the environment, with the command-line options given (not None) on top."""
    return get_settings().model_copy(update={name: value for name, value in overrides.items() if value is not None})


@app.command()
def topics(
    partitions: Annotated[
        int | None, typer.Option(min=1, help="Partitions per topic (default: NEWSWATCH_TOPIC_PARTITIONS, 8).")
    ] = None,
    replication_factor: Annotated[
        int | None,
        typer.Option(min=1, help="Copies of each topic (default: NEWSWATCH_TOPIC_REPLICATION_FACTOR, 1)."),
    ] = None,
    min_insync_replicas: Annotated[
        int | None,
        typer.Option(
            min=0, help="min.insync.replicas of each topic; 0 = broker default (NEWSWATCH_TOPIC_MIN_INSYNC_REPLICAS)."
        ),
    ] = None,
) -> None:
    """Create newswatch's topics if they do not exist yet (an existing topic is left as it is)."""
    settings = _settings(
        topic_partitions=partitions,
        topic_replication_factor=replication_factor,
        topic_min_insync_replicas=min_insync_replicas,
    )
    try:
        created = ensure_service_topics(settings.service_topics, settings)
        ensure_state_topic(
            settings.kafka_bootstrap,
            settings.feed_state_topic,
            replication=settings.topic_replication_factor,
            min_insync=settings.topic_min_insync_replicas,
        )
    except KafkaUnavailable as exc:
        fail(str(exc))
    typer.echo(f"created: {', '.join(created)}" if created else "all topics exist")


@app.command()
def worker(
    loglevel: Annotated[str, typer.Option("--loglevel", "-l")] = "info",
    web_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Port of /metrics and Faust's web views (default: NEWSWATCH_WORKER_WEB_PORT, 6066); "
            "give each worker on one host its own.",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Parent of the worker's Faust folder, worker-<web port> (default: NEWSWATCH_DATA_DIR)."),
    ] = None,
) -> None:
    """Run the Faust worker: classify articles and send alerts. Workers with one app id share the partitions."""
    from prometheus_client import REGISTRY

    from newswatch.agents import create_app
    from newswatch.matcher.reload import LiveRules
    from newswatch.matcher.topics import RuleTopics

    settings = _settings(worker_web_port=web_port, data_dir=data_dir)
    settings.worker_data_dir.parent.mkdir(parents=True, exist_ok=True)  # Faust makes only the last level
    try:
        # invalid rules: the worker refuses to start, naming file and line
        rules = LiveRules(settings.rules_path, RuleTopics.from_settings(settings))
        worker = create_app(settings, REGISTRY, rules)
        # Faust would create its internal topics (matches, the table's changelog) itself, but a second worker
        # starting at the same moment can join the group before that and is then never assigned them (aiokafka
        # only subscribes to topics that exist when it joins): so they are created here, before Faust starts.
        ensure_service_topics(
            [*settings.service_topics, *worker.rule_topic_names(), worker.topics.matches.get_topic_name()], settings
        )
        changelog = worker.route_state.changelog_topic.get_topic_name()
        ensure_topics(
            settings.kafka_bootstrap,
            [changelog],
            partitions=settings.topic_partitions,
            replication=settings.topic_replication_factor,
            configs={
                changelog: {
                    "cleanup.policy": "compact",
                    **(
                        {"min.insync.replicas": str(settings.topic_min_insync_replicas)}
                        if settings.topic_min_insync_replicas
                        else {}
                    ),
                }
            },
        )
    except (ConfigError, KafkaUnavailable) as exc:
        fail(str(exc))
    sys.argv = ["newswatch-worker", "worker", "--loglevel", loglevel, "--web-port", str(settings.worker_web_port)]
    worker.app.main()


@alerts_app.command("tail")
def alerts_tail(
    rule: Annotated[list[str] | None, typer.Option("--rule", "-r", help="Only this rule id (repeatable).")] = None,
    severity: Annotated[
        str | None, typer.Option("--severity", "-s", help="Only this severity and above (info..critical).")
    ] = None,
    from_beginning: Annotated[bool, typer.Option("--from-beginning", help="Start at the oldest alert.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print each alert's JSON document.")] = False,
    topic: Annotated[str | None, typer.Option(help="Alert topic (default: alerts).")] = None,
) -> None:
    """Print alerts as they arrive, one line each."""
    from newswatch.alerts.tail import SEVERITIES, tail

    if severity and severity not in SEVERITIES:
        fail(f"--severity must be one of {', '.join(SEVERITIES)}")
    settings = get_settings()
    try:
        tail(
            settings.kafka_bootstrap,
            topic or settings.alerts_topic,
            from_beginning=from_beginning,
            as_json=as_json,
            echo=typer.echo,
            rules=set(rule or []),
            min_severity=severity,
        )
    except KafkaUnavailable as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass


@app.command()
def console(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: NEWSWATCH_CONSOLE_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port to listen on (default: NEWSWATCH_CONSOLE_PORT, 8088)."),
    ] = None,
) -> None:
    """Serve the analyst's console: the live alert list, each alert's evidence, and triage (docs/console.md)."""
    from newswatch.console.security import ConsoleConfigError
    from newswatch.console.service import Listen, serve
    from newswatch.core.console import setup_logging

    settings = _settings(console_host=host, console_port=port)
    listen = Listen(settings.console_host, settings.console_port)
    setup_logging("INFO", settings.kafka_client_log_level)
    typer.echo(f"newswatch console on {listen.url} (alerts from {settings.alerts_topic}; Ctrl-C stops it)")
    try:
        code = serve(settings, listen)
    except (ConsoleConfigError, KafkaUnavailable) as exc:
        fail(str(exc))
    raise typer.Exit(code)


@feedback_app.command("export")
def feedback_export(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")] = None,
    rule: Annotated[list[str] | None, typer.Option("--rule", "-r", help="Only this rule id (repeatable).")] = None,
) -> None:
    """Write the triaged alerts' articles with their verdicts as labelled JSON lines, the format the rule
    evaluation reads (newswatch.matcher.evaluate): one line per article, one boolean per judged rule."""
    from newswatch.console.export import label_rows, write_jsonl
    from newswatch.console.feedback import ensure_feedback_topic, read_all

    settings = get_settings()
    try:
        ensure_feedback_topic(settings)
        rows = label_rows(read_all(settings).values(), set(rule or []))
    except KafkaUnavailable as exc:
        fail(str(exc))
    if out is None:
        write_jsonl(rows, sys.stdout)
        return
    with out.open("w", encoding="utf-8") as handle:
        count = write_jsonl(rows, handle)
    typer.echo(f"{count} labelled articles written to {out}", err=True)


@app.command()
def run() -> None:
    """Start the local Kafka, a poller, a worker and the console; print alerts until Ctrl-C; stop all of it on exit."""
    from newswatch.supervise import run_local

    try:
        code = run_local()
    except (ConfigError, KafkaUnavailable, LocalKafkaError) as exc:
        fail(str(exc))
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except (SecurityConfigError, UnknownSetting) as exc:  # from whichever command first read them
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
