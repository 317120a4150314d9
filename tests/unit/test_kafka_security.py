"""Kafka client security from settings: each client's options, secrets kept out of sight, mistakes named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from newswatch.core.kafka_security import KafkaSecurity, SecurityConfigError
from newswatch.core.settings import Settings, unknown_variables
from tests.conftest import ROOT


def test_plaintext_is_the_default_and_adds_nothing_but_the_protocol() -> None:
    security = KafkaSecurity.from_settings(Settings())
    assert security.kafka_python() == {"security_protocol": "PLAINTEXT"}
    assert security.faust_credentials() is None


def test_sasl_ssl_options_for_every_client_and_the_password_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("hunter2-but-longer\n")
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="svc-newswatch",
        kafka_sasl_password_file=secret,
    )
    security = KafkaSecurity.from_settings(settings)
    options = security.kafka_python()
    assert options["sasl_mechanism"] == "SCRAM-SHA-512" and options["sasl_plain_password"] == "hunter2-but-longer"
    assert options["ssl_context"].check_hostname  # hostname verification on by default
    credentials = security.faust_credentials()
    assert credentials.username == "svc-newswatch" and credentials.mechanism.value == "SCRAM-SHA-512"
    assert "hunter2" not in repr(security) + security.describe() + repr(settings)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "NEWSWATCH_KAFKA_SASL_USERNAME"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_cafile": Path("/nonexistent/ca.pem")}, "SSL_CAFILE"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_certfile": Path(__file__)}, "SSL_KEYFILE"),
        ({"kafka_ssl_cafile": Path(__file__)}, "use SSL or SASL_SSL"),
        ({"kafka_sasl_password": "a", "kafka_sasl_password_file": Path(__file__)}, "not both"),
    ],
)
def test_settings_that_cannot_work_name_the_variable_to_fix(changes: dict, named: str) -> None:
    with pytest.raises(SecurityConfigError, match=named):
        KafkaSecurity.from_settings(Settings(**changes))


def test_a_misspelt_variable_is_an_error_with_the_likely_name() -> None:
    problems = unknown_variables({"NEWSWATCH_SECURITY_PROTOCOL": "SASL_SSL", "NEWSWATCH_KAFKA_BOOTSTRAP": "x:1"})
    assert problems == [
        "NEWSWATCH_SECURITY_PROTOCOL is not a newswatch setting; did you mean NEWSWATCH_KAFKA_SECURITY_PROTOCOL?"
    ]
    done = subprocess.run(
        [sys.executable, "-m", "newswatch", "topics"],
        env={"PATH": "/usr/bin:/bin", "NEWSWATCH_SECURITY_PROTOCOL": "SASL_SSL"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "did you mean NEWSWATCH_KAFKA_SECURITY_PROTOCOL" in done.stderr
    assert "Traceback" not in done.stderr


def test_faust_environment_variables_cannot_move_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    from prometheus_client import CollectorRegistry

    from newswatch.streams.app import make_app
    from newswatch.streams.metrics import WorkerMetrics

    monkeypatch.delenv("NEWSWATCH_KAFKA_BOOTSTRAP", raising=False)  # the default, whatever broker the tests use
    monkeypatch.setenv("BROKER_URL", "kafka://elsewhere:1")
    monkeypatch.setenv("WEB_BIND", "0.0.0.0")
    registry = CollectorRegistry()
    app = make_app(Settings(), WorkerMetrics(registry), registry)
    assert [str(url) for url in app.conf.broker] == ["kafka://127.0.0.1:9092"]
    assert app.conf.web_bind == "127.0.0.1"


def test_a_refused_login_is_read_from_kafka_pythons_log_even_when_the_console_hides_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """kafka-python reports a refused login to its caller as a bootstrap timeout; the broker's reason is only in its
    log, which newswatch keeps off the console (CRITICAL). A CI run once missed it in the one extra probe made."""
    import logging

    kafka_log = logging.getLogger("kafka")
    saved = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL)  # what newswatch's setup_logging does by default
    console = logging.StreamHandler()  # on stderr, as setup_logging's
    logging.getLogger().addHandler(console)
    try:
        _refusals_are_caught()
    finally:
        logging.getLogger().removeHandler(console)
        kafka_log.setLevel(saved)
    assert "Connection failed" not in capsys.readouterr().err
    assert logging.getLogger("kafka.net.manager").propagate


def _refusals_are_caught() -> None:
    import logging

    from kafka.errors import SaslAuthenticationFailedError

    from newswatch.core.kafka_security import catching_refusals

    reason = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
    refused = SaslAuthenticationFailedError(f"SaslAuthenticationFailedError: {reason}")
    with catching_refusals() as refusals:
        logging.getLogger("kafka.net.manager").error("Connection failed: %s", refused)
    assert refusals.found == reason
    with catching_refusals(debug=True) as refusals:
        logging.getLogger("kafka.protocol.parser").debug(
            "Response 4: SaslAuthenticateResponse(error_code=58, error_message='%s', auth_bytes=b'')", reason
        )
    assert refusals.found == reason
    with catching_refusals() as refusals:
        logging.getLogger("kafka.net.manager").error("Connection failed: %s", ConnectionRefusedError(111, "refused"))
    assert refusals.found == ""
