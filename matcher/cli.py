"""The matcher's commands: ``newswatch rules check``, ``newswatch rules test`` and ``newswatch classify``.

Registered in ``newswatch.cli``; the same Matcher as the Faust agent does the work.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from newswatch.core.console import fail, json_text, terminal_safe
from newswatch.core.settings import get_settings
from newswatch.core.yamlconf import ConfigError
from newswatch.matcher.engine import Matcher
from newswatch.matcher.examples import checked_matcher, run_examples
from newswatch.matcher.load import load_rules
from newswatch.matcher.scan import article_fields
from newswatch.matcher.topics import RuleTopics

rules_app = typer.Typer(help="Check rule files and try them on a text.", no_args_is_help=True)
RulesOption = Annotated[Path | None, typer.Option("--rules", help="Rules directory or file (default: config/rules).")]


def _matcher(path: Path | None, *, examples: bool = True) -> Matcher:
    """The compiled rules at ``path`` (default: the settings'), with every rule's examples run unless not asked."""
    settings = get_settings()
    path, topics = path or settings.rules_path, RuleTopics.from_settings(settings)
    try:
        return checked_matcher(path, topics) if examples else Matcher(load_rules(path, topics))
    except ConfigError as exc:
        fail(f"invalid rules ({len(exc.problems)} problems):\n" + "\n".join(exc.problems))
        raise  # unreachable: _fail exits


@rules_app.command("check")
def check(rules: RulesOption = None) -> None:
    """Validate every rule file and run every rule's examples; exit 1 on any failure."""
    settings = get_settings()
    path = rules or settings.rules_path
    try:
        ruleset = load_rules(path, RuleTopics.from_settings(settings))
    except ConfigError as exc:
        for problem in exc.problems:
            typer.secho(terminal_safe(problem), fg="red", err=True)
        typer.secho(f"{len(exc.problems)} problem(s) in {path}", fg="red", err=True)
        raise typer.Exit(1) from None
    failures = run_examples(Matcher(ruleset))
    for failure in failures:
        typer.secho(terminal_safe(failure.message(), keep="\n"), fg="red", err=True)
    count = sum(len(e.examples.match) + len(e.examples.no_match) for e in ruleset.events)
    summary = (
        f"{len(ruleset.files)} files, {len(ruleset.actors)} actors, {len(ruleset.lists)} lists, "
        f"{len(ruleset.events)} events, {count} examples: {len(failures)} failed"
    )
    typer.secho(summary, fg="red" if failures else "green", err=bool(failures))
    raise typer.Exit(1 if failures else 0)


def _fetch(url: str) -> dict[str, Any]:
    """The page at ``url`` as an article, fetched through the pollers' limits (size cap after decompression,
    deadline, every redirect checked, private addresses refused unless NEWSWATCH_POLLER_PRIVATE_ALLOWED lists them)."""
    import asyncio

    from newswatch.core.http import FetchResult, fetch_http, make_client, poller_limits
    from newswatch.core.text import html_to_text

    if not url.startswith(("http://", "https://")):
        fail(f"--url takes an http:// or https:// URL, not '{url[:200]}'")
    limits = poller_limits(get_settings())

    async def fetch() -> FetchResult:
        async with make_client(limits, max_connections=1, accept="text/html, */*;q=0.5") as client:
            return await fetch_http(client, url, limits=limits)

    result = asyncio.run(fetch())
    if not result.ok:
        fail(f"cannot fetch {url}: {result.outcome}: {result.detail}")
    return {"id": url, "title": "", "content": html_to_text(_decoded(result.body, result.headers))}


def _decoded(body: bytes, headers: dict[str, str]) -> str:
    """``body`` as text in the charset its Content-Type names (UTF-8 when none or unknown), never failing."""
    from email.message import Message

    message = Message()
    message["content-type"] = headers.get("content-type", "")
    charset = message.get_content_charset() or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


@rules_app.command("test")
def test(
    text: Annotated[str | None, typer.Option("--text", help="The text to classify.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A text file (or a .json article).")] = None,
    url: Annotated[str | None, typer.Option("--url", help="A web page to fetch and classify.")] = None,
    title: Annotated[str, typer.Option("--title", help="A title for --text / --file.")] = "",
    rules: RulesOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON instead.")] = False,
) -> None:
    """Show which events and actors a text triggers, with the matched words highlighted."""
    from newswatch.matcher.render import show

    if sum(x is not None for x in (text, file, url)) != 1:
        fail("give exactly one of --text, --file, --url")
    if text is not None:
        article: dict[str, Any] = {"id": "text", "title": title, "content": text}
    elif file is not None:
        try:
            raw = file.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"cannot read {file}: {exc}")
        article = (
            _json_article(file, raw) if file.suffix == ".json" else {"id": str(file), "title": title, "content": raw}
        )
    else:
        article = _fetch(url or "")
    matcher = _matcher(rules, examples=False)
    analysis = matcher.analyze(article)
    if as_json:
        typer.echo(json_text(_classified(article, analysis), indent=2))
        return
    show(Console(), article, analysis, article_fields(article), matcher.compiled.origins)


def _json_article(file: Path, raw: str) -> dict[str, Any]:
    try:
        article = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        fail(f"{file}: not valid JSON: {exc}")
    if not isinstance(article, dict):
        fail(f'{file}: not a JSON object (an article is {{"title": ..., "content": ...}})')
    return article


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any] | None]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except (ValueError, RecursionError):
                item = None
            yield number, item if isinstance(item, dict) else None


def _classified(article: dict[str, Any], analysis: Any) -> dict[str, Any]:
    return {
        "id": article.get("id"),
        "events": [
            {k: v for k, v in m.to_dict().items() if k in ("id", "category", "severity", "score", "actors", "matches")}
            for m in analysis.events
        ],
        "actors": [{k: v for k, v in a.to_dict().items() if k != "near"} for a in analysis.actors],
    }


def classify(
    path: Annotated[Path, typer.Argument(help="Articles as JSON lines: id, title, text, optional summary, ...")],
    rules: RulesOption = None,
) -> None:
    """Classify articles offline: one JSON line per input article on stdout (backtest a rule change)."""
    if not path.is_file():
        fail(f"{path}: file not found")
    matcher = _matcher(rules)
    total = sum(1 for line in path.open(encoding="utf-8") if line.strip())
    out = sys.stdout
    bad = 0
    progress = Progress(
        TextColumn("classify"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=Console(stderr=True)
    )
    with progress:
        task = progress.add_task("classify", total=total)
        for number, article in _read_jsonl(path):
            progress.advance(task)
            if article is None:
                bad += 1
                typer.secho(f"{path}:{number}: not a JSON object; skipped", fg="yellow", err=True)
                continue
            out.write(json_text(_classified(article, matcher.analyze(article))) + "\n")
    if bad:
        typer.secho(f"{bad} line(s) skipped", fg="yellow", err=True)
