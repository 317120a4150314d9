"""What every ``newswatch`` subcommand shares: how errors end a command, and how logs look."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any, NoReturn

import typer


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` in red on stderr and exit with ``code`` (2: bad input or environment)."""
    typer.secho(f"error: {terminal_safe(message, keep=chr(10))}", fg="red", err=True)
    raise typer.Exit(code)


# Feed text reaches terminals. Shown as U+FFFD, never interpreted: C0 and C1 controls (ESC starting a colour,
# cursor or OSC title sequence, BEL, a carriage return rewriting the line; U+009B is a one-character CSI for some
# terminals), DEL, U+2028/U+2029 (line breaks to Python and rich, so a title could fake a second alert line) and
# lone surrogates (a JSON "\\ud800" decodes to one, and writing it to a UTF-8 stream raises).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# Bidi embeddings, overrides and isolates reorder the rest of a line ("Trojan Source"): a title could show its
# source as someone else's. They have no glyph of their own, so they are dropped rather than marked.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Inside a JSON document these can only sit in strings, where a \uXXXX escape decodes to the same character.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def terminal_safe(text: object, keep: str = "") -> str:
    """``str(text)`` made harmless to print: control characters shown as U+FFFD, bidi overrides dropped.

    ``keep``: control characters a format needs as themselves (``"\\n"`` for a multi-line message); every other
    one is replaced, so feed text can neither drive the terminal nor disguise the line it is printed on.
    """
    text = _BIDI.sub("", str(text))
    if keep:
        return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else "\ufffd", text)
    return _UNSAFE.sub("\ufffd", text)


def json_text(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON for a terminal: the same document (it decodes to exactly ``value``), non-ASCII text kept
    readable, but every character ``terminal_safe`` would touch written as a ``\\uXXXX`` escape.

    ``json.dumps`` escapes C0 controls itself; with ``ensure_ascii=False`` it would write C1 controls, bidi
    overrides and lone surrogates as they are.
    """
    dumped = json.dumps(value, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)


class _SafeFormatter(logging.Formatter):
    """Log lines that quote feed text (titles, a server's error, a redirect target) cannot drive the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal_safe(super().format(record), keep="\n\t")


def setup_logging(level: str = "INFO", kafka_client_level: str = "CRITICAL") -> None:
    """Timestamped logs on stderr; the HTTP client's chatter only from WARNING up.

    kafka-python logs every refused connection and failed bootstrap as an ERROR, before newswatch's own message
    says the same thing with what to do about it; its logs are shown from ``kafka_client_level`` up
    (NEWSWATCH_KAFKA_CLIENT_LOG_LEVEL=WARNING or DEBUG brings them back when debugging the client itself).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("kafka").setLevel(kafka_client_level.upper())
