"""config/feeds.yaml: what a user sees when the file is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswatch.core.yamlconf import ConfigError
from newswatch.poller.config import load_feeds
from tests.conftest import ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text)
    return path


def test_bundled_feeds_file_loads_with_defaults_applied() -> None:
    config = load_feeds(ROOT / "config" / "feeds.yaml")
    seed = next(f for f in config.feeds if f.id == "sample-seed")
    assert Path(seed.url).is_file()
    assert seed.interval == 300
    assert seed.tags == {"lang": "en", "region": "ukraine"}


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found"):
        load_feeds(tmp_path / "nope.yaml")


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - url: a.xml\n  - url: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        load_feeds(path)
    assert f"{path}:" in str(err.value) and "invalid YAML" in str(err.value)


def test_unknown_key_names_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - url: https://example.org/rss\n    intervall: 60\n")
    with pytest.raises(ConfigError) as err:
        load_feeds(path)
    assert str(err.value) == f"{path}:3: feeds.0.intervall: unknown key 'intervall'; remove it or check its spelling"


def test_non_positive_interval_is_rejected_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, "feeds:\n  - url: https://example.org/rss\n  - url: https://example.org/b\n    interval: 0\n"
    )
    with pytest.raises(ConfigError, match=rf"{path}:4: feeds\.1\.interval: .*greater than 0"):
        load_feeds(path)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - {id: a, url: https://x.org/1}\n  - {id: a, url: https://x.org/2}\n")
    with pytest.raises(ConfigError, match="duplicate feed id 'a'"):
        load_feeds(path)


def test_feed_file_that_does_not_exist_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - {id: local, url: missing.xml}\n")
    with pytest.raises(ConfigError, match=r"feed 'local': file .*missing\.xml does not exist"):
        load_feeds(path)


def test_unsupported_scheme_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - url: ftp://example.org/rss\n")
    with pytest.raises(ConfigError, match="unsupported URL scheme"):
        load_feeds(path)


def test_duplicate_id_names_the_line_of_the_second_feed(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - id: a\n    url: https://x.org/1\n  - id: a\n    url: https://x.org/2\n")
    with pytest.raises(ConfigError) as err:
        load_feeds(path)
    assert str(err.value).startswith(f"{path}:4: feeds.1.id: duplicate feed id 'a' (also feed 0 at line 2)")


def test_url_without_a_host_is_rejected_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - id: a\n    url: https:///rss\n")
    with pytest.raises(ConfigError, match=rf"{path}:3: feeds\.0\.url: .*not a valid URL"):
        load_feeds(path)


def test_a_duplicate_id_is_reported_together_with_every_other_problem(tmp_path: Path) -> None:
    """Not one round of fixes per kind of mistake: all problems of the file, in line order, at once."""
    path = write(
        tmp_path,
        "feeds:\n"
        "  - {id: a, url: 'https://a.example/rss'}\n"
        "  - {id: a, url: 'https://b.example/rss'}\n"
        "  - {id: c, url: 'ftp://c.example', interval: -3}\n",
    )
    with pytest.raises(ConfigError) as error:
        load_feeds(path)
    problems = error.value.problems
    assert [p.split(":")[1] for p in problems] == ["3", "4", "4"]
    assert "duplicate feed id 'a'" in problems[0]
    assert any("unsupported URL scheme" in p for p in problems) and any("greater than 0" in p for p in problems)


def test_an_unclosed_bracket_is_reported_where_it_opens_with_its_column(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - id: a\n    url: https://a.example/rss\n    tags: {region: x\n  - id: c\n")
    with pytest.raises(ConfigError, match=r"feeds\.yaml:4:11: invalid YAML: this '\{' is never closed"):
        load_feeds(path)
