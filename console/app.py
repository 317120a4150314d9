"""The console's web app (Starlette): the live list, an alert's detail, triage, live updates, /metrics.

Built by ``create_app`` from parts the caller made (history, verdicts, writer, metrics registry), so tests build
one without Kafka. Pages are rendered on the server; the one script (static/console.js) only refreshes the list
when the server says something changed (server-sent events).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newswatch.console.feedback import VERDICTS, FeedbackStore, Verdict, verdict_for
from newswatch.console.filters import SEVERITIES, Filters
from newswatch.console.history import AlertHistory, Story
from newswatch.console.metrics import ConsoleMetrics
from newswatch.console.precision import precision_by_rule
from newswatch.console.render import environment
from newswatch.console.security import ConsoleAuth, CsrfTokens, cross_site

PAGE_SIZE = 50
SESSION_COOKIE = "newswatch_console_session"
MAX_FORM_BYTES = 16 * 1024
# Scripts and styles only from the console itself: a feed text that slipped through escaping could still not run.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    # not no-referrer: with it browsers send "Origin: null" on our own form posts; links to articles say noreferrer
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


@dataclass
class Console:
    """What the app's handlers share: the stores, the verdict writer, credentials, metrics, rule descriptions."""

    history: AlertHistory
    feedback: FeedbackStore
    send_verdict: Callable[[Verdict], None]
    auth: ConsoleAuth
    registry: CollectorRegistry
    metrics: ConsoleMetrics
    descriptions: dict[str, str] = field(default_factory=dict)  # rule id -> the rule file's description
    csrf: CsrfTokens = field(default_factory=CsrfTokens)
    stopping: asyncio.Event | None = None


class Guard:
    """ASGI middleware: every request authenticated when credentials are set; security headers on every answer."""

    def __init__(self, app: ASGIApp, console: Console) -> None:
        self.app, self.console = app, console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not self.console.auth.allows(headers.get("authorization", "")):
            self.console.metrics.refused.labels("unauthenticated").inc()
            response = Response(
                "authentication required\n",
                status_code=401,
                headers={"www-authenticate": 'Basic realm="newswatch console", charset="UTF-8"'},
            )
            await response(scope, receive, self._with_headers(send))
            return
        await self.app(scope, receive, self._with_headers(send))

    @staticmethod
    def _with_headers(send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        return sending


def _session(request: Request) -> tuple[str, bool]:
    """The request's session id, and whether it is new (then the response sets the cookie)."""
    session = request.cookies.get(SESSION_COOKIE, "")
    if 16 <= len(session) <= 64 and session.replace("-", "").replace("_", "").isalnum():
        return session, False
    return CsrfTokens.new_session(), True


def _set_session(response: Response, session: str, new: bool, request: Request) -> Response:
    if new:
        response.set_cookie(
            SESSION_COOKIE, session, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
        )
    return response


def create_app(console: Console) -> Starlette:
    """The console's ASGI app."""
    env = environment()

    def precision_rows() -> list[dict[str, object]]:
        return [
            {"rule": p.rule_id, "relevant": p.relevant, "triaged": p.triaged, "precision": p.precision}
            for p in precision_by_rule(console.feedback.all()).values()
        ]

    def listing(request: Request) -> dict[str, object]:
        filters = Filters.from_query(parse_qs(request.url.query))
        stories = console.history.newest_first()
        matching = [s for s in stories if filters.keep(s)] if filters.active else stories
        pages = max(1, -(-len(matching) // PAGE_SIZE))
        page = min(filters.page, pages)
        shown = matching[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return {
            "filters": filters,
            "stories": shown,
            "total": len(matching),
            "held": len(stories),
            "page": page,
            "pages": pages,
            "rules": sorted({str(s.rule.get("id")) for s in stories if s.rule.get("id")}),
            "severities": SEVERITIES,
            "verdicts": {s.alert_id: console.feedback.get(s.alert_id) for s in shown},
            "ready": console.history.ready,
        }

    def page(name: str, request: Request, status: int = 200, **context: object) -> Response:
        session, new = _session(request)
        html = env.get_template(name).render(csrf=console.csrf.token(session), **context)
        return _set_session(HTMLResponse(html, status_code=status), session, new, request)

    async def index(request: Request) -> Response:
        return page("list.html", request, precision=precision_rows(), **listing(request))

    async def rows(request: Request) -> Response:
        return HTMLResponse(env.get_template("rows.html").render(**listing(request)))

    async def detail(request: Request) -> Response:
        story = console.history.get(request.path_params["alert_id"])
        if story is None:
            return page("error.html", request, 404, message="No alert with this id in the console's history.")
        rule_id = str(story.rule.get("id") or "")
        return page(
            "detail.html",
            request,
            story=story,
            verdict=console.feedback.get(story.alert_id),
            description=console.descriptions.get(rule_id, ""),
            rule_precision=precision_by_rule(console.feedback.all()).get(rule_id),
            terms=_terms(story),
            actors=_actor_names(story),
        )

    async def triage(request: Request) -> Response:
        host = request.headers.get("host", "")
        why = cross_site({k.lower(): v for k, v in request.headers.items()}, host)
        if why:
            console.metrics.refused.labels("cross_site").inc()
            return Response(f"refused: cross-site request ({why})\n", status_code=403)
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return Response("form too large\n", status_code=413)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        session = request.cookies.get(SESSION_COOKIE, "")
        if not console.csrf.valid(session, form.get("csrf", "")):
            console.metrics.refused.labels("csrf").inc()
            return Response("refused: the form's token is missing or stale; reload the page\n", status_code=403)
        story = console.history.get(request.path_params["alert_id"])
        if story is None:
            return page("error.html", request, 404, message="No alert with this id in the console's history.")
        verdict = form.get("verdict", "")
        if verdict not in VERDICTS:
            return Response(f"verdict must be one of {', '.join(VERDICTS)}\n", status_code=400)
        judged = verdict_for(story, verdict, form.get("note", ""))
        await run_in_threadpool(console.send_verdict, judged)  # acknowledged by the broker before we say so
        console.feedback.apply(judged.alert_id, judged)  # shown at once; the topic reader brings the same back
        console.metrics.triage.labels(verdict).inc()
        return RedirectResponse(f"/alerts/{story.alert_id}", status_code=303)

    async def events(request: Request) -> Response:
        return StreamingResponse(
            _changes(console), media_type="text/event-stream", headers={"cache-control": "no-store"}
        )

    async def metrics(request: Request) -> Response:
        console.metrics.history.set(len(console.history))
        return Response(generate_latest(console.registry), media_type=CONTENT_TYPE_LATEST)

    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "alerts": len(console.history),
                "history_read": console.history.ready,
                "feedback_read": console.feedback.ready,
            }
        )

    routes = [
        Route("/", index),
        Route("/rows", rows),
        Route("/alerts/{alert_id}", detail),
        Route("/alerts/{alert_id}/triage", triage, methods=["POST"]),
        Route("/events", events),
        Route("/metrics", metrics),
        Route("/healthz", health),
        Mount("/static", StaticFiles(packages=[("newswatch.console", "static")]), name="static"),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(Guard, console=console)
    return app


async def _changes(console: Console) -> AsyncIterator[str]:
    """Server-sent events: ``change`` whenever alerts or verdicts changed; a comment every 15 s keeps proxies open."""
    seen = (console.history.version, console.feedback.version)
    idle = 0.0
    yield "retry: 2000\n\n"
    # StreamingResponse ends this generator when the browser goes away
    while not (console.stopping and console.stopping.is_set()):
        now = (console.history.version, console.feedback.version)
        if now != seen:
            seen, idle = now, 0.0
            yield f"event: change\ndata: {json.dumps({'alerts': len(console.history)})}\n\n"
        elif idle >= 15:
            idle = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(0.5)
        idle += 0.5


def _terms(story: Story) -> list[str]:
    return [str(m.get("term")) for m in story.alert.get("matches") or [] if isinstance(m, dict) and m.get("term")]


def _actor_names(story: Story) -> list[str]:
    return [str(a.get("name")) for a in story.alert.get("actors") or [] if isinstance(a, dict) and a.get("name")]
