"""What every ``newswatch`` subcommand shares: how errors end a command, and how logs look."""

from __future__ import annotations

import logging
import sys
from typing import NoReturn

import typer


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` in red on stderr and exit with ``code`` (2: bad input or environment)."""
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


def setup_logging(level: str = "INFO", kafka_client_level: str = "CRITICAL") -> None:
    """Timestamped logs on stderr; the HTTP client's chatter only from WARNING up.

    kafka-python logs every refused connection and failed bootstrap as an ERROR, before newswatch's own message
    says the same thing with what to do about it; its logs are shown from ``kafka_client_level`` up
    (NEWSWATCH_KAFKA_CLIENT_LOG_LEVEL=WARNING or DEBUG brings them back when debugging the client itself).
    """
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("kafka").setLevel(kafka_client_level.upper())
