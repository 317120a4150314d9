"""Build make run's summary-only sample feed and the pages it links to (config/samples/teasers.rss, pages/).

Three labelled 2022 articles whose title and first sentence raise no alert but whose whole text does (one per
event), each inside a small news-page template with the usual clutter: menu, cookie banner, "most read" list,
newsletter box, footer. Run once from the checkout: ``.venv/bin/python scripts/build_sample_pages.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from newswatch.local.storypages import first_sentence, story_page, teaser_feed

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT.parent / "shared" / "data" / "articles" / "articles.jsonl"
SAMPLES = ROOT / "config" / "samples"
PAGES = "http://127.0.0.1:8766"  # where `newswatch run` serves config/samples/pages/
STORIES = {  # article id -> page name
    "r2nery-7986a3921ebb": "minnesota-paper-owner-to-fight-in-ukraine",
    "r2nery-1371bb4872d1": "german-president-arrives-in-kyiv",
    "r2nery-a199e45feaa1": "ukraine-publishes-security-guarantee-proposal",
}
TEMPLATE = b"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>x</title></head><body>
<div id="consent"><p>We use cookies to personalise content and ads. By clicking Accept all you agree to our use of
cookies. <button>Accept all</button> <button>Manage settings</button></p></div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/war">War in Ukraine
</a></li><li><a href="/drones">Drones</a></li><li><a href="/business">Business</a></li><li><a href="/sport">Sport</a>
</li></ul></nav></header>
<main><article><h1>x</h1><div class="byline">By Sample Desk</div><div class="body">
<p>The story's paragraphs replace these placeholder paragraphs, which are long enough for the page builder to find
the article body among the page's other blocks of text, the cookie banner's included.</p>
<p>Second placeholder paragraph, also replaced by the story text when the pages are built.</p></div></article>
<aside><h2>Most read</h2><ol><li><a href="/a">Drone strike hits fuel depot overnight</a></li><li><a href="/b">Foreign
volunteers join the front line</a></li><li><a href="/c">Ceasefire talks to resume next week</a></li></ol>
<div class="newsletter"><p>Get the morning briefing in your inbox. Sign up now.</p></div></aside></main>
<footer><p>&copy; 2026 Sample News. All rights reserved. Terms of use. Privacy policy. Contact us.</p></footer>
</body></html>"""


def main() -> None:
    """Write the pages and the feed."""
    corpus = {}
    for line in ARTICLES.open(encoding="utf-8"):
        article = json.loads(line)
        if article["id"] in STORIES:
            corpus[article["id"]] = article
    (SAMPLES / "pages").mkdir(exist_ok=True)
    items = []
    for article_id, name in STORIES.items():
        article = corpus[article_id]
        page = story_page(TEMPLATE, article["title"], article["text"])
        (SAMPLES / "pages" / f"{name}.html").write_bytes(page)
        items.append(
            {
                "guid": f"{PAGES}/{name}.html",
                "title": article["title"],
                "link": f"{PAGES}/{name}.html",
                "description": first_sentence(article["text"]),
            }
        )
    (SAMPLES / "teasers.rss").write_bytes(teaser_feed(items, "Sample News (summary-only, pages served locally)"))


if __name__ == "__main__":
    main()
