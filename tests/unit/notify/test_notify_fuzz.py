"""Hostile alert content (feed text is third parties' text) through the notifier's conversions: the Slack template
always renders valid JSON in which feed text cannot open a Slack link, and the Alertmanager mapping never raises
and keeps every label and annotation within its bound. Were either to break, one headline would cost its alert
(a template error dead-letters it) or, worse, put a link of its author's choosing in front of a team."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newswatch.notify.alertmanager import MAX_ANNOTATION_CHARS, MAX_LABEL_CHARS, request_body, to_alertmanager
from newswatch.notify.config import AlertmanagerSink
from newswatch.notify.decode import decode_alert
from newswatch.notify.template import Template
from tests.conftest import ROOT
from tests.unit.notify.sample import alert, raw

SLACK = Template((ROOT / "config" / "notify" / "slack.json.j2").read_text())
SINK = AlertmanagerSink.model_validate({"type": "alertmanager", "url": "http://127.0.0.1:9093"})
text = st.text(max_size=300)  # every code point, lone surrogates included


@pytest.mark.fuzz
@given(title=text, snippet=text, source=st.one_of(st.none(), text), rule_title=text)
def test_the_slack_template_gives_valid_json_whatever_the_text(
    title: str, snippet: str, source: str | None, rule_title: str
) -> None:
    doc = alert(
        article={"title": title, "source": source},
        rule={"title": rule_title},
        matches=[{"term": "x", "field": "content", "start": 0, "end": 1, "snippet": snippet}],
    )
    body = json.loads(SLACK.render(doc))
    section = body["blocks"][0]["text"]["text"]
    # the only '<' in the section is the link newswatch writes itself
    assert section.count("<") == 1 and section.count(">") == 1


@pytest.mark.fuzz
@given(
    title=text,
    source=st.one_of(st.none(), text),
    actors=st.lists(st.fixed_dictionaries({"id": text}), max_size=40),
    detected=st.one_of(st.none(), text, st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())),
    url=st.one_of(st.none(), text, text.map(lambda t: "https://example.org/" + t)),
)
def test_the_alertmanager_mapping_never_raises_and_stays_bounded(
    title: str, source: str | None, actors: list[dict[str, str]], detected: str | None, url: str | None
) -> None:
    doc = alert(article={"title": title, "url": url}, actors=actors, detected_at=detected)
    doc["sources"][0]["source"] = source
    posted = to_alertmanager(doc, SINK, datetime(2026, 1, 1, tzinfo=UTC))
    assert all(len(value) <= MAX_LABEL_CHARS for value in posted["labels"].values())
    assert all(len(value) <= MAX_ANNOTATION_CHARS for value in posted["annotations"].values())
    assert posted["startsAt"] <= posted["endsAt"]
    assert json.loads(request_body(doc, SINK, datetime(2026, 1, 1, tzinfo=UTC))) == [posted]


@pytest.mark.fuzz
@given(st.binary(max_size=2000) | st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_decode_never_raises(value: bytes) -> None:
    decoded = decode_alert(value)
    assert decoded is None or isinstance(decoded["alert_id"], str)
    assert decode_alert(raw(alert())) is not None
