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


def setup_logging(level: str = "INFO") -> None:
    """Timestamped logs on stderr; the Kafka and HTTP clients' chatter only from WARNING up."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("kafka", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
