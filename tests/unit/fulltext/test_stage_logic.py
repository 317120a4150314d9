"""The stage's bookkeeping: what is committed, what an article becomes, how extraction is bounded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from newswatch.core.offsets import Offsets
from newswatch.fulltext.enrich import with_page
from newswatch.fulltext.extract import ExtractFailed, ExtractLimits, Extractor
from newswatch.fulltext.pages import Page, truncate_utf8
from newswatch.fulltext.stage import decode, encode

TP = TopicPartition("articles.teasers", 0)


def test_a_slow_page_holds_back_the_commit_but_not_the_articles_after_it() -> None:
    offsets = Offsets()
    for offset in (10, 11, 12):
        offsets.started(TP, offset)
    offsets.finished(TP, 11)
    offsets.finished(TP, 12)
    assert offsets.committable() == {TP: 10}  # 10 is still being read: a crash now reads 10..12 again
    offsets.committed[TP] = 10
    offsets.finished(TP, 10)
    assert offsets.committable() == {TP: 13}


def test_a_revoked_partition_is_forgotten() -> None:
    offsets = Offsets()
    offsets.started(TP, 0)
    offsets.forget([TP])
    assert offsets.committable() == {}


def test_messages_that_are_not_articles_are_passed_on_untouched() -> None:
    assert decode(b"not json") is None
    assert decode(b"[1, 2]") is None
    assert decode(b"[" * 100_000 + b"]" * 100_000) is None
    assert decode(b'{"id": "a"}') == {"id": "a"}


def test_an_article_with_a_lone_surrogate_is_still_written_as_valid_json() -> None:
    article = decode(b'{"id": "a", "title": "broken \\ud800 title"}')
    assert article is not None
    assert decode(encode(article)) == article


def test_an_extracted_page_becomes_the_content_and_the_teaser_stays_the_summary() -> None:
    teaser = {"id": "a", "url": "https://n.example/a", "summary": "Short.", "content": "Short.", "text_source": "feed"}
    enriched = with_page(teaser, Page("extracted", text="The whole story.", status=200, url="https://n.example/a"))
    assert enriched["content"] == "The whole story." and enriched["summary"] == "Short."
    assert enriched["text_source"] == "page" and enriched["page"]["outcome"] == "extracted"
    kept = with_page(teaser, Page("robots", url="https://n.example/a", detail="disallowed"))
    assert kept["content"] == "Short." and kept["text_source"] == "feed"
    assert kept["page"]["outcome"] == "robots" and kept["page"]["detail"] == "disallowed"


def test_text_is_cut_in_bytes_never_inside_a_character() -> None:
    cut = truncate_utf8("战争" * 100, 11)
    assert cut == "战争战" and len(cut.encode()) <= 11


@pytest.fixture(scope="module")
def page(shared_data: Path) -> bytes:
    return (shared_data / "pages" / "reuters.com.parasite.html").read_bytes()


def test_extraction_takes_the_story_and_a_hung_extraction_is_replaced(page: bytes) -> None:
    async def main() -> None:
        extractor = Extractor(1, ExtractLimits(timeout=30.0))
        try:
            text = await extractor.text(page)
            assert len(text) > 1000
            extractor.limits = ExtractLimits(timeout=0.0001)  # nothing can finish in time: the process is killed
            with pytest.raises(ExtractFailed) as caught:
                await extractor.text(page)
            assert caught.value.reason == "extract_timeout"
            extractor.limits = ExtractLimits(timeout=30.0)
            assert await extractor.text(page) == text  # a fresh process took over
            assert extractor.started == 2
        finally:
            extractor.close()

    asyncio.run(main())


def test_a_page_that_needs_more_memory_than_allowed_fails_alone(page: bytes) -> None:
    async def main() -> None:
        extractor = Extractor(1, ExtractLimits(timeout=30.0, memory_bytes=64 * 1024 * 1024))
        try:
            with pytest.raises(ExtractFailed) as caught:
                await extractor.text(page * 20)
            assert caught.value.reason == "extract_error"
        finally:
            extractor.close()

    asyncio.run(main())
