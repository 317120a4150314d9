"""The full-text stage: reads the web page of each teaser item and passes the article on with its whole text.

Data flow: pollers -> ``articles.teasers`` -> this stage -> ``articles`` -> classify. ``stage.py`` is the Kafka
loop, ``pages.py`` the polite fetch (robots.txt, per-host limits, retries, one fetch per URL), ``extract.py`` the
bounded text extraction (trafilatura in worker processes), ``enrich.py`` what changes in the article.
"""
