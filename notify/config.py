"""``config/notify.yaml``: the sinks alerts are delivered to and the routes that pick them, validated at load.

Every problem is reported at once with its ``file:line`` (newswatch.core.yamlconf), as for feeds and rules. A
webhook's secret is read here, from the environment or a file, so a missing one stops ``newswatch notify`` at start
with the line that names it rather than failing every delivery later; it is kept as a ``SecretStr`` and never logged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from newswatch.core.yamlconf import ConfigError, format_errors, line_of, plain, read_yaml
from newswatch.notify.template import Template, TemplateFailed

# The alert contract's severities, lowest first (config/schemas/alert.v1.json; a unit test keeps them equal).
Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
Kind = Literal["alert", "update", "escalation"]

_SINK_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")  # a metric label and a log field: short and plain
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_SECRET_BYTES = 4096


class Retry(BaseModel):
    """How often and how patiently a delivery is tried before the alert goes to the dead-letter topic."""

    model_config = ConfigDict(extra="forbid")

    attempts: Annotated[int, Field(ge=1, le=20, description="tries in all, the first included")] = 5
    initial_backoff: Annotated[float, Field(gt=0, description="seconds before the second try")] = 1.0
    max_backoff: Annotated[float, Field(gt=0, description="longest wait between two tries, seconds")] = 60.0
    multiplier: Annotated[float, Field(ge=1)] = 2.0


class Circuit(BaseModel):
    """A sink's circuit breaker: after ``failures`` failed tries in a row, no request for ``cooldown`` seconds."""

    model_config = ConfigDict(extra="forbid")

    failures: Annotated[int, Field(ge=1)] = 5
    cooldown: Annotated[float, Field(gt=0, description="seconds")] = 30.0


class _Sink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    timeout: Annotated[float, Field(gt=0, le=300, description="seconds for one request, connect to last byte")] = 10.0
    retry: Retry = Retry()
    circuit: Circuit = Circuit()

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or any(ch.isspace() for ch in value):
            raise ValueError(f"'{value}' is not an http(s):// URL")
        return value


class WebhookSink(_Sink):
    """POST each alert to ``url``: the alert's JSON (or ``template``'s output), signed with the endpoint's secret."""

    type: Literal["webhook"]
    secret_env: str | None = Field(default=None, description="environment variable holding the HMAC secret")
    secret_file: Path | None = Field(default=None, description="file holding the HMAC secret (relative: to this file)")
    template: str | None = Field(default=None, description="Jinja2 template of the body, inline")
    template_file: Path | None = Field(default=None, description="Jinja2 template of the body (relative: to this file)")
    # false: no signature header (a receiver that checks none, e.g. a chat webhook whose URL is its secret)
    sign: bool = True
    content_type: str = "application/json"
    headers: dict[str, str] = {}
    # filled in by load_notify: the secret's value and the template's text, never read again from disk
    secret: SecretStr | None = Field(default=None, exclude=True)
    template_text: str | None = Field(default=None, exclude=True)

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        # lower-case, so that one given as Content-Type cannot ride beside ours as a second header
        return {name.lower(): text for name, text in value.items()}

    @field_validator("secret_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not _ENV_NAME.match(value):
            raise ValueError(f"'{value}' is not an environment variable name")
        if value.upper().startswith("NEWSWATCH_"):
            # every NEWSWATCH_* variable must be a setting (a typo stops each command); a secret is not one
            raise ValueError(f"'{value}': a NEWSWATCH_* name is taken for settings; name the secret otherwise")
        return value


class AlertmanagerSink(_Sink):
    """POST each alert to Prometheus Alertmanager's API v2 (``<url>/api/v2/alerts``); notify/alertmanager.py."""

    type: Literal["alertmanager"]
    # An alert stays firing this long after it was detected, then resolves by itself (notify/alertmanager.py says
    # why a news alert is given an end at all).
    resolve_after: Annotated[float, Field(gt=0, description="seconds")] = 3600.0
    labels: dict[str, str] = Field(default={}, description="extra labels on every alert, e.g. a team or an env")
    # which alert kinds are posted; updates are left out by default (notify/alertmanager.py says why)
    kinds: list[Kind] = ["alert", "escalation"]

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _LABEL_NAME.match(name):
                raise ValueError(f"'{name}' is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
        return value


Sink = Annotated[WebhookSink | AlertmanagerSink, Field(discriminator="type")]


class Match(BaseModel):
    """Which alerts a route takes: every key given must hold (and), any value of a key's list may (or)."""

    model_config = ConfigDict(extra="forbid")

    rule: list[str] | None = None
    severity: list[Severity] | None = None
    min_severity: Severity | None = None
    category: list[str] | None = None
    actor: list[str] | None = Field(default=None, description="actor ids; an alert naming any of them matches")
    kind: list[Kind] | None = None

    @field_validator("rule", "category", "actor", "severity", "kind", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Route(BaseModel):
    """Alerts that ``match`` (every alert when it is left out) go to each of ``sinks``."""

    model_config = ConfigDict(extra="forbid")

    match: Match = Match()
    sinks: Annotated[list[str], Field(min_length=1)]

    @field_validator("sinks", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class NotifyConfig(BaseModel):
    """The whole file: named ``sinks`` and the ``routes`` to them. An alert goes to the union of the sinks of every
    route it matches, each sink once."""

    model_config = ConfigDict(extra="forbid")

    sinks: Annotated[dict[str, Sink], Field(min_length=1)]
    routes: Annotated[list[Route], Field(min_length=1)]


def _name_problems(path: Path, data: Any) -> list[str]:
    """Sink names that are not plain, and routes naming a sink that is not defined, at their lines."""
    if not isinstance(data, dict):
        return []
    sinks = data.get("sinks") if isinstance(data.get("sinks"), dict) else {}
    problems = [
        f"{path}:{line_of(data, ['sinks', name])}: sinks.{name}: a sink name is lower-case letters, digits, '.', "
        "'_' or '-' (at most 63), starting with a letter or digit"
        for name in sinks
        if not (isinstance(name, str) and _SINK_NAME.match(name))
    ]
    routes = data.get("routes") if isinstance(data.get("routes"), list) else []
    for index, route in enumerate(routes):
        names = route.get("sinks") if isinstance(route, dict) else None
        names = [names] if isinstance(names, str) else names if isinstance(names, list) else []
        for position, name in enumerate(names):
            if isinstance(name, str) and name not in sinks:
                loc: list[str | int] = ["routes", index, "sinks", position]
                known = ", ".join(sorted(map(str, sinks))) or "none"
                problems.append(
                    f"{path}:{line_of(data, loc)}: routes.{index}.sinks: no sink named '{name}' (defined: {known})"
                )
    return problems


def _resolve(config: NotifyConfig, path: Path, data: Any, environ: Mapping[str, str]) -> list[str]:
    """Read each webhook's secret and template now; one problem per one that cannot be read."""
    problems = []
    for name, sink in config.sinks.items():
        if not isinstance(sink, WebhookSink):
            continue
        where = f"{path}:{line_of(data, ['sinks', name]) or 1}: sinks.{name}"

        def at(key: str, name: str = name) -> str:
            """``file:line: sinks.<name>.<key>``, at the key's own line."""
            return f"{path}:{line_of(data, ['sinks', name, key]) or 1}: sinks.{name}.{key}"

        if sink.secret_env and sink.secret_file:
            problems.append(f"{where}: give 'secret_env' or 'secret_file', not both")
        elif sink.secret_env:
            value = environ.get(sink.secret_env)
            if not value:
                problems.append(f"{at('secret_env')}: the environment variable {sink.secret_env} is not set or empty")
            else:
                sink.secret = SecretStr(value)
        elif sink.secret_file:
            secret_path = sink.secret_file if sink.secret_file.is_absolute() else path.parent / sink.secret_file
            try:
                raw = secret_path.read_bytes()[: MAX_SECRET_BYTES + 1]
                value = raw.decode("utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{at('secret_file')}: cannot read {secret_path}: {type(exc).__name__}")
            else:
                if not value or len(raw) > MAX_SECRET_BYTES:
                    problems.append(f"{at('secret_file')}: {secret_path} is empty or over {MAX_SECRET_BYTES} bytes")
                else:
                    sink.secret = SecretStr(value)
        if sink.sign and not (sink.secret_env or sink.secret_file):
            problems.append(
                f"{where}: a webhook is signed with a secret: set 'secret_env' or 'secret_file' (or 'sign: false')"
            )
        if sink.template and sink.template_file:
            problems.append(f"{where}: give 'template' or 'template_file', not both")
        elif sink.template_file:
            template_path = sink.template_file if sink.template_file.is_absolute() else path.parent / sink.template_file
            try:
                sink.template_text = template_path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{at('template_file')}: cannot read {template_path}: {type(exc).__name__}")
        elif sink.template:
            sink.template_text = sink.template
        if sink.template_text is not None:
            try:
                Template(sink.template_text)
            except TemplateFailed as exc:
                problems.append(f"{at('template_file' if sink.template_file else 'template')}: {exc}")
    return problems


def load_notify(path: Path | str, environ: Mapping[str, str] | None = None) -> NotifyConfig:
    """Load and validate the notify file, read the webhooks' secrets and templates; ConfigError names every problem
    with its ``file:line``."""
    path = Path(path)
    data = read_yaml(path)
    if data is None:
        data = {}
    problems = _name_problems(path, data)
    try:
        config = NotifyConfig.model_validate(plain(data))
    except ValidationError as exc:
        raise ConfigError(path, sorted(format_errors(path, data, exc) + problems, key=_line)) from None
    if problems:
        raise ConfigError(path, problems)
    problems = _resolve(config, path, data, os.environ if environ is None else environ)
    if problems:
        raise ConfigError(path, problems)
    return config


def _line(problem: str) -> int:
    match = re.match(r"^.*?:(\d+)[:\s]", problem)
    return int(match.group(1)) if match else 0
