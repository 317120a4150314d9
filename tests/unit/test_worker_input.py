"""Hostile messages on the worker's input topics (issue 17, items 3 and 8), without a broker.

Each regression test names the hostile input and what a user saw before: mostly a worker whose agent stopped on
one message, so that no article after it was ever classified (or whose commit went past a message it never
copied anywhere).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from newswatch.agents import decode
from newswatch.agents.batch import batch_message
from newswatch.agents.classify import decode_article, match_messages
from newswatch.agents.decode import MAX_ARTICLE_BYTES, decode_matches
from newswatch.agents.route import decide_match
from newswatch.alerts import limits
from newswatch.alerts.build import escalation_alert
from newswatch.alerts.escalation import MAX_ENTRY_EVENTS, Escalate, track
from newswatch.alerts.stories import MAX_STORIES
from newswatch.core.settings import shipped
from newswatch.matcher import Matcher, load_rules
from newswatch.streams.deadletter import MAX_COPY_BYTES, DeadLetters, dead_letter_copy
from newswatch.streams.delivery import DeliveryLedger, UndeliveredMessage
from newswatch.streams.metrics import WorkerMetrics

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MATCHING_TEXT = (
    "A Russian drone attack on Kyiv killed two overnight. Ukraine says Chinese mercenaries are fighting for Russia, "
    "and volunteers from abroad joined them."
)


@lru_cache(maxsize=1)
def matcher() -> Matcher:
    """The shipped rule pack (it has RE2 regex terms, which is where a lone surrogate used to raise)."""
    return Matcher(load_rules(shipped("rules")))


def article(**fields: Any) -> dict[str, Any]:
    return {"id": "https://news.example/a", "title": "Drone strike", "content": MATCHING_TEXT, **fields}


def as_message(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def sample(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    value = metrics.dead_letters if name == "dead_letters" else metrics.dead_letter_errors
    return value.labels(**labels)._value.get()


# --- decode: item 3 ------------------------------------------------------------------------------------------------


def test_deeply_nested_json_is_refused_not_raised() -> None:
    """``[[[[...`` 100,000 deep raised RecursionError out of decode_article, which caught only ValueError: the
    classify agent stopped and no later article was classified."""
    assert decode_article(b"[" * 100_000 + b"]" * 100_000) == (None, "too_deep")
    nested = b'{"id": "a", "feed_tags": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001
    assert decode_article(nested) == (None, "too_deep")


def test_any_exception_while_decoding_is_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the parser raises (here a MemoryError), the message is refused with a reason, never raised."""

    def boom(raw: bytes) -> Any:
        raise MemoryError("hostile")

    monkeypatch.setattr(decode.orjson, "loads", boom)
    assert decode_article(b'{"id": "a"}') == (None, "undecodable")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": "n", "title": "Drone strike", "published": NaN}',  # json's NaN: refused field, not the message
        '\ufeff{"id": "bom", "title": "Drone strike on Kyiv"}'.encode(),  # a UTF-8 byte order mark
        '{"id": "u16", "title": "Drone strike on Kyiv"}'.encode("utf-16"),
        b'{"id": "s", "title": "Drone \\udfff strike", "content": "x"}',
        b'{"id": "big", "title": "Drone", "feed_tags": {"n": "1"}, "x": 123456789012345678901234567890}',
    ],
)
def test_what_the_fast_parser_refuses_decodes_as_before(raw: bytes) -> None:
    """orjson reads strict UTF-8 JSON; everything else (NaN, a BOM, UTF-16, lone surrogates, huge integers) is read
    by ``json`` as before the switch, so no article that decoded then is refused now."""
    before = decode.json.loads(raw)
    decoded, reason = decode_article(raw)
    if isinstance(before.get("published"), float):
        assert reason == "bad_field"
        return
    assert reason == "ok" and decoded is not None
    assert decoded["id"] == before["id"] and "\ud800" not in decoded["title"] and "\udfff" not in decoded["title"]


def test_a_matches_message_with_a_lone_surrogate_is_refused() -> None:
    """Workers write strict UTF-8; a match whose alert holds a lone surrogate would raise when its alert is
    encoded for sending, and stop the route agent."""
    article, _ = decode_article(
        b'{"id": "m1", "title": "Drone strike", "content": ' + json.dumps(MATCHING_TEXT).encode() + b"}"
    )
    assert article is not None
    raw = batch_message([value for _, value in match_messages(article, matcher().analyze(article), now=NOW)])
    assert decode_matches(raw) is not None
    bad = raw.replace(b'"title":"', b'"title":"\\ud800', 1)
    assert bad != raw and decode_matches(bad) is None


def test_a_lone_surrogate_is_cleaned_before_matching() -> None:
    """A title with a JSON ``"\\ud800"`` escape passed decoding, then RE2 raised UnicodeEncodeError in the scan
    (before the matcher's own surrogate fallback), and the agent stopped."""
    raw = b'{"id": "s1", "title": "Drone strike \\ud800 on Kyiv", "content": ' + json.dumps(MATCHING_TEXT).encode()
    decoded, reason = decode_article(raw + b', "source": "Bad \\udfff source"}')
    assert reason == "ok" and decoded is not None
    assert decoded["title"] == "Drone strike \ufffd on Kyiv" and decoded["source"] == "Bad \ufffd source"
    found = matcher().analyze(decoded)
    assert "drone_attack" in {m.rule.id for m in found.events}
    for _, value in match_messages(decoded, found, now=NOW):  # encodable: a surrogate would raise in .encode()
        assert "\ufffd" in json.loads(value)["alert"]["article"]["title"]


def test_the_matcher_itself_survives_a_surrogate_for_the_offline_commands() -> None:
    """`newswatch classify` reads articles from a file, not through the worker's decoder."""
    found = matcher().analyze({"id": "x", "title": "Drone strike \ud800", "content": MATCHING_TEXT})
    assert "drone_attack" in {m.rule.id for m in found.events}


def test_wrong_types_and_oversized_fields_are_refused_with_a_reason() -> None:
    """A non-string URL travelled into alerts (breaking the alert schema); a 380 KB link made a match message
    over Faust's limit and the send raised."""
    assert decode_article(as_message(article(url=5))) == (None, "bad_field")
    assert decode_article(as_message(article(feed_tags={"a": ["b"]}))) == (None, "bad_field")
    assert decode_article(as_message(article(url="https://x/" + "a" * 380_000))) == (None, "field_too_large")
    assert decode_article(as_message(article(id="i" * 5_000))) == (None, "field_too_large")
    assert decode_article(as_message(article(feed_id="f" * 513))) == (None, "field_too_large")
    assert decode_article(as_message(article(text_source="javascript"))) == (None, "bad_field")
    cut = decode_article(as_message(article(title="界" * 1_400, source="s" * 5_000)))[0]  # display text: cut
    assert cut is not None and cut["title"] == "界" * 1_365 and cut["source"] == "s" * limits.MAX_SOURCE_BYTES
    assert decode_article(as_message(article(title=None, url=None)))[1] == "ok"
    assert decode_article(b"x" * (MAX_ARTICLE_BYTES + 1)) == (None, "too_large")


def test_a_bad_match_message_is_refused_not_raised() -> None:
    """The route agent ran ``json.loads(raw)`` and indexed the result with no guard: one bad message on the
    matches topic stopped it, and with it every alert."""
    for raw in (None, b"not json", b"[" * 100_000, b"[]", b'{"alert": 1}', b'{"alert": {"rule": {"id": 3}}}'):
        assert decode_matches(raw) is None
    good = match_messages(decode_article(as_message(article()))[0], matcher().analyze(article()), now=NOW)
    assert good and all(decode_matches(value) is not None for _, value in good)  # one match, as older workers sent
    batched = [value for _, value in good] * 3
    assert [m["alert"]["alert_id"] for m in decode_matches(batch_message(batched)) or []] == [
        json.loads(value)["alert"]["alert_id"] for value in batched
    ]
    # one bad match refuses the message (it is dead-lettered whole); an empty or non-list batch is not one either
    for bad in (batch_message([*batched, b'{"alert": 1}']), b'{"matches": []}', b'{"matches": {"alert": 1}}'):
        assert decode_matches(bad) is None


# --- dead-letter copies: item 3 -----------------------------------------------------------------------------------


class FakeTopic:
    """A dead-letter topic whose sends fail at once (``raises``) or are acknowledged when the test says."""

    def __init__(self, raises: Exception | None = None) -> None:
        self.raises = raises
        self.sent: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]] = []
        self.futures: list[asyncio.Future[Any]] = []

    async def send(self, *, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> Any:
        if self.raises is not None:
            raise self.raises
        self.sent.append((key, value, headers))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return future


def message(value: bytes, key: bytes | None = b"k") -> SimpleNamespace:
    return SimpleNamespace(topic="articles", partition=0, offset=7, key=key, value=value)


def test_a_dead_letter_is_counted_only_once_its_copy_is_acknowledged() -> None:
    """The metric was counted before the send: a copy the broker then refused was still counted as copied."""

    async def scenario() -> None:
        metrics, topic, ledger = WorkerMetrics(CollectorRegistry()), FakeTopic(), DeliveryLedger()
        await DeadLetters(topic, metrics, ledger).skip(message(b"not json"), "not_json")
        assert sample(metrics, "dead_letters", reason="not_json") == 0 and ledger.pending == 1
        topic.futures[0].set_result("ack")
        await asyncio.sleep(0)
        assert sample(metrics, "dead_letters", reason="not_json") == 1
        assert await ledger.settle()

    asyncio.run(scenario())


def test_a_failing_dead_letter_send_neither_stops_the_agent_nor_lets_the_commit_pass_it() -> None:
    """The send raised inside the agent, which stopped. Now the agent goes on, the failure is counted, and the
    ledger refuses the next commit: the restarted worker reads the bad message again and copies it then."""

    async def scenario() -> None:
        metrics, ledger = WorkerMetrics(CollectorRegistry()), DeliveryLedger()
        topic = FakeTopic(raises=RuntimeError("broker away"))
        await DeadLetters(topic, metrics, ledger).skip(message(b"not json"), "not_json")  # does not raise
        assert sample(metrics, "dead_letter_errors", reason="not_json") == 1
        assert sample(metrics, "dead_letters", reason="not_json") == 0
        with pytest.raises(UndeliveredMessage):
            await ledger.settle()

        later, ledger = FakeTopic(), DeliveryLedger()  # acknowledged, then failed by the broker
        await DeadLetters(later, metrics, ledger).skip(message(b"[]"), "no_id")
        later.futures[0].set_exception(RuntimeError("MessageSizeTooLarge"))
        await asyncio.sleep(0)
        assert sample(metrics, "dead_letter_errors", reason="no_id") == 1
        with pytest.raises(UndeliveredMessage):
            await ledger.settle()

    asyncio.run(scenario())


def test_an_oversized_message_is_dead_lettered_cut_to_fit_with_its_reason() -> None:
    """A message over the size limit was only logged: no copy, so nothing to look at afterwards."""

    async def scenario() -> None:
        metrics, topic, ledger = WorkerMetrics(CollectorRegistry()), FakeTopic(), DeliveryLedger()
        huge = b"x" * (MAX_ARTICLE_BYTES + 10)
        await DeadLetters(topic, metrics, ledger).skip(message(huge, key=b"k" * 100_000), "too_large")
        [(key, value, headers)] = topic.sent
        assert value == huge[:MAX_COPY_BYTES] and key is not None and len(key) == 4_096
        assert dict(headers)["newswatch-error"] == b"too_large"
        assert dict(headers)["newswatch-bytes"] == str(len(huge)).encode()
        assert dict(headers)["newswatch-truncated"] == b"true"
        assert dict(headers)["newswatch-offset"] == b"7"

    asyncio.run(scenario())


def test_a_skip_is_logged_once_on_one_line_whatever_the_error_says(caplog: pytest.LogCaptureFixture) -> None:
    """An exception's text can quote the article: cut and escaped, it cannot forge further log lines."""

    async def scenario() -> None:
        metrics, topic, ledger = WorkerMetrics(CollectorRegistry()), FakeTopic(), DeliveryLedger()
        error = ValueError("bad\n2026-01-01 CRITICAL forged line\x1b[2J" + "x" * 10_000)
        await DeadLetters(topic, metrics, ledger).skip(message(b"{}"), "classify_failed", error=error)

    with caplog.at_level("WARNING", logger="newswatch.streams.deadletter"):
        asyncio.run(scenario())
    [record] = caplog.records
    text = record.getMessage()
    assert "classify_failed" in text and "ValueError" in text
    assert "\n" not in text and "\x1b" not in text and len(text) < 400


# --- route state: item 8 ------------------------------------------------------------------------------------------


def route(store: dict[str, Any], value: bytes, now: float, escalations: list[dict[str, Any]] | None = None) -> Any:
    """What the route agent would send for one match message (the alert, updated as it updates it); the
    escalation alerts that fire go to ``escalations``."""
    decoded = decode_matches(value)
    assert decoded is not None and len(decoded) == 1
    candidate = decoded[0]
    decision, escalate, fired = decide_match(store, candidate, now=now, window=86_400)
    alert = {**candidate["alert"], "alert_id": decision.alert_id, "revision": decision.revision}
    alert["sources"] = decision.sources
    for key, summary in fired:
        assert escalate is not None
        (escalations if escalations is not None else []).append(
            escalation_alert(alert, summary, escalate.severity, key)
        )
    return alert


def test_route_state_keys_do_not_carry_the_url_or_title() -> None:
    """A key ``<rule>|url|<URL>`` was as long as the URL (uncapped, 380 KB in the review): one per story, 5,000
    stories per rule, so the table's size followed the attacker's URLs, not the story count."""
    store: dict[str, Any] = {}
    long_url = "https://x/" + "a" * 4_000
    for i in range(20):
        a = decode_article(as_message(article(id=f"i{i}", url=f"{long_url}{i}", title="T" * 3_000 + str(i))))[0]
        for _, value in match_messages(a, matcher().analyze(a), now=NOW):
            route(store, value, now=float(i))
    assert store and max(len(key) for key in store) < 100


def test_a_story_with_many_large_sources_stays_within_its_byte_budget() -> None:
    """Fifty sources with 4 kB links and ids made a 500 kB story record and alert; the record and every alert
    now stay near ``MAX_SOURCES_BYTES``."""
    store: dict[str, Any] = {}
    sent = []
    for i in range(60):
        a = article(id=f"https://feed{i}.example/" + "i" * 4_000, url="https://x/" + "u" * 4_050, feed_id=f"f{i}")
        decoded = decode_article(as_message(a))[0]
        for _, value in match_messages(decoded, matcher().analyze(decoded), now=NOW)[:1]:
            sent.append(route(store, value, now=float(i)))
    assert [alert["revision"] for alert in sent] == list(range(60))
    record_bytes = max(len(json.dumps(v)) for k, v in store.items() if "|slot|" in k)
    assert record_bytes < limits.MAX_SOURCES_BYTES + 20_000
    assert max(len(json.dumps(alert)) for alert in sent) < limits.MAX_SOURCES_BYTES + 60_000
    assert MAX_STORIES == 5_000  # count bound unchanged


def test_a_per_actor_escalation_entry_stays_within_one_message_however_many_actors_and_sources() -> None:
    """A rule's escalation entry (every actor's events, each with its source name) is one table value: with 1,000
    events per actor and no bound across actors, 1,200 matches of 60 actors with 1 kB source names made a 12 MB
    value, whose changelog message the broker refuses: the worker could never commit again."""
    store: dict[str, Any] = {}
    escalate = Escalate(count=10_000, within=3_600, distinct_sources=1, per_actor=True)
    actors = [{"id": f"actor{i}", "near": True} for i in range(60)]
    for n in range(1_200):
        alert = {"actors": actors[n % 6 * 10 : n % 6 * 10 + 10]}
        track(store, "r", alert, escalate, now=float(n), source=f"{n}" + "s" * 1_000)
    entry = json.dumps(store["r|escalation"])
    assert len(entry) < 500_000
    assert sum(len(c["events"]) for c in store["r|escalation"].values()) <= MAX_ENTRY_EVENTS
    assert len(store["r|escalation"]) == 60  # every active actor still counted


def test_an_alert_with_every_field_at_its_cap_fits_in_a_message_with_room_to_spare() -> None:
    """The worst case the caps allow (alerts/limits.py): fields at their caps, twenty long regex hits, a full
    source list and an escalation; it must stay far under Faust's 1,000,000 bytes."""
    tags = {f"t{i:03d}" + "k" * 250: "v" * 256 for i in range(limits.MAX_FEED_TAGS)}
    text = " ".join([MATCHING_TEXT] * 400)[:50_000]  # hundreds of hits: more than an alert lists
    worst = article(
        id="i" * limits.MAX_ID_BYTES,
        url="u" * limits.MAX_URL_BYTES,
        title="T" * (limits.MAX_TITLE_BYTES - 20) + " drone strike",
        source="s" * limits.MAX_SOURCE_BYTES,
        feed_id="f" * limits.MAX_FEED_ID_BYTES,
        feed_tags=tags,
        content=text,
    )
    decoded, reason = decode_article(as_message(worst))
    assert reason == "ok" and decoded is not None
    found = matcher().analyze(decoded)
    assert found.events and all(len(match.hits) > 20 for match in found.events)
    store: dict[str, Any] = {}
    biggest = 0
    for i in range(60):  # sixty sources of one story: the source list fills up
        decoded = {**decoded, "id": f"{i:04d}" + "i" * (limits.MAX_ID_BYTES - 4), "feed_id": f"{i:03d}" + "f" * 500}
        for _, value in match_messages(decoded, found, now=NOW):
            biggest = max(biggest, len(value))
            alert = route(store, value, now=float(i))
            summary = {"count": 5, "distinct_sources": 50, "sources": ["s" * 1024] * 50, "window_start": 0.0}
            biggest = max(biggest, len(json.dumps(escalation_alert(alert, {**summary, "window_end": 1.0}, "high"))))
    assert biggest < limits.MAX_MESSAGE_BYTES // 3


# --- fuzz: random article messages through decode, analyze, alert building and routing ----------------------------

_text = st.text(st.characters(codec=None, exclude_categories=["Cs"]) | st.sampled_from("\ud800\udfff\ufffd\x1b"))
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def article_messages(draw: st.DrawFn) -> bytes:
    """Valid articles with hostile text, wrong types, truncated, nested and oversized messages."""
    typed = draw(st.booleans())  # half the articles have every field of its type, the rest anything
    anything = _values if not typed else st.nothing()
    fields: dict[str, Any] = {
        "id": draw(st.one_of(st.just("https://news.example/1"), _text, anything)),
        "title": draw(st.one_of(_text, st.just("Drone strike on Kyiv \ud800"), anything)),
        "content": draw(st.one_of(_text.map(lambda t: f"{t} {MATCHING_TEXT} {t}"), anything)),
        "url": draw(st.one_of(st.none(), _text, st.just("https://x/" + "a" * 5_000), anything)),
        "source": draw(st.one_of(st.none(), _text, anything)),
        "feed_id": draw(st.one_of(st.none(), _text, anything)),
        "feed_tags": draw(st.one_of(st.none(), st.dictionaries(_text, _text, max_size=3), anything)),
        "published": draw(st.one_of(st.none(), _text, anything)),
        "authors": draw(_values),
    }
    raw = as_message({k: v for k, v in fields.items() if draw(st.booleans()) or k in ("id", "content")})
    mutation = draw(st.sampled_from(["none", "none", "truncate", "nest", "oversize", "garbage"]))
    if mutation == "truncate":
        raw = raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
    elif mutation == "nest":
        depth = draw(st.sampled_from([2_000, 100_000]) | st.integers(1, 200_000))
        raw = raw[:-1] + b', "feed_tags": ' + b"[" * depth + b"]" * depth + b"}"
    elif mutation == "oversize":
        raw = raw[:-1] + b', "summary": "' + b"x" * MAX_ARTICLE_BYTES + b'"}'
    elif mutation == "garbage":
        raw = draw(st.binary(max_size=200))
    return raw


@pytest.mark.fuzz
@given(article_messages())
def test_fuzz_every_article_message_is_skipped_or_alerted_and_every_message_fits(raw: bytes) -> None:
    decoded, reason = decode_article(raw)
    event(reason)
    if decoded is None:
        assert reason in decode.REASONS
        key, value, headers = dead_letter_copy(b"k", raw, reason, "articles", 0, 1)
        assert len(value) + len(key or b"") + sum(len(k) + len(v) for k, v in headers) < limits.MAX_MESSAGE_BYTES
        return
    found = matcher().analyze(decoded)
    event("alerted" if found.events else "no match")
    store: dict[str, Any] = {}
    escalations: list[dict[str, Any]] = []
    for _, value in match_messages(decoded, found, now=NOW):
        assert len(value) < limits.MAX_MESSAGE_BYTES
        alert = route(store, value, now=1.0, escalations=escalations)
        assert len(json.dumps(alert, ensure_ascii=False).encode()) < limits.MAX_MESSAGE_BYTES
    for alert in escalations:
        assert len(json.dumps(alert, ensure_ascii=False).encode()) < limits.MAX_MESSAGE_BYTES
    assert all(len(key.encode()) < 200 for key in store)
