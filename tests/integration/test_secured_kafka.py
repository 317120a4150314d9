"""Every client over TLS and SASL, on a real secured broker: the same Kafka jars with a SASL_SSL listener
(SCRAM-SHA-512 users made at format time) and an SSL listener that requires client certificates (mTLS), with a
CA and certificates made for the test. Poller -> full-text stage -> worker -> ``alerts tail`` end to end over
each; a wrong
password and an untrusted CA give errors that name what to fix."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from newswatch.local.feedserver import FeedServer, Route
from newswatch.local.kafka import LocalKafka
from newswatch.local.processes import free_port
from newswatch.local.storypages import teaser_feed
from newswatch.local.tls import LocalCerts, make_certs
from tests.conftest import KAFKA_LIBS, ROOT, SAMPLES, make_topics
from tests.integration.helpers import service_env, start_fulltext, start_poller, start_worker, stop
from tests.integration.test_pipeline import SEED_EVENTS

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-Pa55-for-alice"  # must never show in a log, an error or an alert


@dataclass(frozen=True)
class SecuredKafka:
    plaintext: str
    sasl_ssl: str
    mtls: str
    certs: LocalCerts
    password_file: Path


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    home = tmp_path_factory.mktemp("secured-kafka")
    certs = make_certs(home / "certs")
    plain, controller, sasl, mtls = free_port(), free_port(), free_port(), free_port()
    kafka = LocalKafka(
        home=home,
        port=plain,
        controller_port=controller,
        libs=KAFKA_LIBS,
        secured=(("SASL_SSL", sasl), ("SSL", mtls)),
        extra_config=(
            *certs.broker_config(client_auth_listener="SSL"),
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        ),
        scram_users=(("alice", PASSWORD),),
    )
    kafka.up(fresh=True)
    password_file = home / "alice.password"
    password_file.write_text(PASSWORD + "\n")
    try:
        yield SecuredKafka(f"127.0.0.1:{plain}", f"127.0.0.1:{sasl}", f"127.0.0.1:{mtls}", certs, password_file)
    finally:
        kafka.down()


def sasl_env(kafka: SecuredKafka, **changes: str) -> dict[str, str]:
    return {
        "NEWSWATCH_KAFKA_BOOTSTRAP": kafka.sasl_ssl,
        "NEWSWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "NEWSWATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "NEWSWATCH_KAFKA_SASL_USERNAME": "alice",
        "NEWSWATCH_KAFKA_SASL_PASSWORD_FILE": str(kafka.password_file),
        "NEWSWATCH_KAFKA_SSL_CAFILE": str(kafka.certs.ca),
        **changes,
    }


def mtls_env(kafka: SecuredKafka) -> dict[str, str]:
    return {
        "NEWSWATCH_KAFKA_BOOTSTRAP": kafka.mtls,
        "NEWSWATCH_KAFKA_SECURITY_PROTOCOL": "SSL",
        "NEWSWATCH_KAFKA_SSL_CAFILE": str(kafka.certs.ca),
        "NEWSWATCH_KAFKA_SSL_CERTFILE": str(kafka.certs.client_cert),
        "NEWSWATCH_KAFKA_SSL_KEYFILE": str(kafka.certs.client_key),
    }


def run_end_to_end(kafka: SecuredKafka, security: dict[str, str], name: str, tmp_path: Path) -> None:
    topics = make_topics(kafka.plaintext, name)  # the admin's own way in; the services use only `security`
    pages = FeedServer().__enter__()  # a summary-only feed whose page only the full-text stage can read
    pages.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain")
    story = b"<html><body><article><p>" + b"A drone attack hit a fuel depot overnight. " * 30 + b"</p></article>"
    pages.routes["/story"] = Route(story + b"</body></html>", content_type="text/html")
    teaser = {"guid": "t1", "title": "Depot hit", "link": pages.url("/story"), "description": "A depot was hit."}
    pages.routes["/teasers.rss"] = Route(teaser_feed([teaser]))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        f"feeds:\n  - {{id: seed, url: {SAMPLES / 'seed-story.rss'}, interval: 2}}\n"
        f"  - {{id: teasers, url: '{pages.url('/teasers.rss')}', interval: 2}}\n"
    )
    env = service_env(
        kafka.plaintext,
        topics,
        tmp_path,
        NEWSWATCH_FEEDS_FILE=str(feeds),
        NEWSWATCH_FEED_STATE_TOPIC=f"feed-state-{topics.articles}",
        NEWSWATCH_POLLER_METRICS_PORT=str(free_port()),
        NEWSWATCH_FULLTEXT_ENABLED="true",
        NEWSWATCH_FULLTEXT_METRICS_PORT=str(free_port()),
        NEWSWATCH_FULLTEXT_PRIVATE_ALLOWED=f"127.0.0.1:{pages.port}",
        NEWSWATCH_POLLER_PRIVATE_ALLOWED=f"127.0.0.1:{pages.port}",
        **security,
    )
    fulltext = start_fulltext(env, tmp_path / "fulltext.log")
    worker = start_worker(env, tmp_path / "worker.log")
    poller = start_poller(env, tmp_path / "poller.log")
    printed = tmp_path / "tail.out"
    with printed.open("wb") as out:
        tail = subprocess.Popen(
            [sys.executable, "-m", "newswatch", "alerts", "tail", "--from-beginning"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    seen: set[str] = set()
    from_page = False  # the teaser's alert, from the page the stage read over the same secured connection
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 150
        while not (seen >= SEED_EVENTS and from_page) and time.monotonic() < deadline:
            lines = printed.read_text(errors="replace").splitlines()
            seen = {event for event in SEED_EVENTS for line in lines if f" {event} " in line}
            from_page = any("Depot hit" in line and "read from the page" in line for line in lines)
            assert tail.poll() is None, "\n".join(lines)
            time.sleep(0.5)
    finally:
        stop(tail)
        stop(poller)
        stop(fulltext)
        stop(worker)
        pages.__exit__(None, None, None)
    logs = "".join((tmp_path / f"{n}.log").read_text(errors="replace") for n in ("worker", "poller", "fulltext"))
    assert seen >= SEED_EVENTS and from_page, "\n".join(lines) + logs[-3000:]
    assert PASSWORD not in logs + "\n".join(lines)


def test_poller_worker_and_tail_work_over_sasl_ssl_with_scram(secured: SecuredKafka, tmp_path: Path) -> None:
    run_end_to_end(secured, sasl_env(secured), "sasl-ssl", tmp_path)


def test_poller_worker_and_tail_work_over_mutual_tls(secured: SecuredKafka, tmp_path: Path) -> None:
    run_end_to_end(secured, mtls_env(secured), "mtls", tmp_path)


def newswatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newswatch", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_wrong_password_says_authentication_failed_for_that_user(secured: SecuredKafka, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password")
    done = newswatch(sasl_env(secured, NEWSWATCH_KAFKA_SASL_PASSWORD_FILE=str(wrong)), "topics")
    assert done.returncode != 0
    assert f"Kafka at {secured.sasl_ssl} refused to authenticate" in done.stderr
    assert "user 'alice'" in done.stderr and "invalid credentials" in done.stderr
    assert "not-the-password" not in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_an_untrusted_certificate_names_the_setting_to_fix(secured: SecuredKafka) -> None:
    done = newswatch(sasl_env(secured, NEWSWATCH_KAFKA_SSL_CAFILE=str(secured.certs.other_ca)), "topics")
    assert done.returncode != 0
    assert "is not trusted" in done.stderr and "NEWSWATCH_KAFKA_SSL_CAFILE" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_a_protocol_mismatch_says_so_instead_of_timing_out(secured: SecuredKafka) -> None:
    tls_to_plain = newswatch(sasl_env(secured, NEWSWATCH_KAFKA_BOOTSTRAP=secured.plaintext), "topics")
    assert "does not speak TLS" in tls_to_plain.stderr, tls_to_plain.stderr
    plain_to_tls = newswatch({"NEWSWATCH_KAFKA_BOOTSTRAP": secured.mtls}, "topics")
    assert "speaks TLS" in plain_to_tls.stderr and "SSL or SASL_SSL" in plain_to_tls.stderr, plain_to_tls.stderr
