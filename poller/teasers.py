"""Which new items go to the full-text stage: those whose feed gives only a teaser of the story.

The rule pack is measured on whole articles (about 4,000 characters); a summary-only feed gives a title and a
sentence or two (BBC about 100 characters, New York Times 150, Guardian 700), on which recall falls from about
0.9 to 0.2. Such items are produced to the teasers topic instead of ``articles``; the full-text stage reads their
page and passes them on (``newswatch fulltext``, docs/fulltext.md).
"""

from __future__ import annotations

from typing import Any

# Under this many characters of feed text (content, else summary) an item counts as a teaser. Every summary-only
# feed sampled carries at most ~700 (../shared/data/feeds/); feeds with whole articles carry 4,000 and more.
AUTO_BELOW = 1_200


def wants_page(article: dict[str, Any], mode: str) -> bool:
    """True when the item's page should be read: ``always``, or ``auto`` and the feed's text is short.

    An item without an http(s) link has no page to read, whatever the mode.
    """
    url = article.get("url") or ""
    if mode == "never" or not url.startswith(("http://", "https://")):
        return False
    if mode == "always":
        return True
    return len(article.get("content") or article.get("summary") or "") < AUTO_BELOW
