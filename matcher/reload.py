"""Hot reload: notice edited rule files and swap in the new rule set, keeping the last good one on errors."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from newswatch.core.yamlconf import ConfigError
from newswatch.matcher.engine import Matcher
from newswatch.matcher.examples import checked_matcher
from newswatch.matcher.load import rule_files
from newswatch.matcher.topics import RuleTopics

log = logging.getLogger(__name__)


def _stamp(path: Path) -> tuple[tuple[str, int, int], ...]:
    stamps = []
    for file in rule_files(path):
        try:
            stat = file.stat()
        except FileNotFoundError:  # deleted between listing and stat: the next check sees it gone
            continue
        stamps.append((str(file), stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def version_of(path: Path) -> str:
    """A short hash of every rule file's content: the rule-set version shown in metrics and logs."""
    digest = hashlib.sha256()
    for file in rule_files(path):
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


class LiveRules:
    """The active matcher for a rule path; ``refresh()`` reloads it when the files change.

    The first load raises ConfigError (a worker must not start on invalid rules); later reloads never raise:
    an invalid edit is logged with its file and line, kept in ``error``, and the last good matcher stays active.
    """

    def __init__(self, path: Path | str, topics: RuleTopics | None = None) -> None:
        self.path = Path(path)
        self.topics = topics
        self._stamp = _stamp(self.path)
        self.matcher = checked_matcher(self.path, topics)
        self.version = version_of(self.path)
        self.error: str | None = None

    def check(self) -> Matcher | None:
        """A new matcher when rule files were added, removed or changed and are valid, else None.

        It is not active until ``activate``: the caller can first prepare what the new rules need (their topics).
        """
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            return checked_matcher(self.path, self.topics)
        except ConfigError as exc:
            if str(exc) != self.error:
                log.error("rule files are invalid; keeping the last good rules (version %s):\n%s", self.version, exc)
            self.error = str(exc)
            return None

    def refresh(self) -> bool:
        """``check`` and ``activate`` in one step; True when a new rule set became active."""
        matcher = self.check()
        if matcher is not None:
            self.activate(matcher)
        return matcher is not None

    def activate(self, matcher: Matcher) -> None:
        """Make ``matcher`` (from ``check``) the active rule set."""
        self.matcher, self.version, self.error = matcher, version_of(self.path), None
        log.info(
            "rules reloaded: version %s, %d events, %d actors",
            self.version,
            len(matcher.rules.events),
            len(matcher.rules.actors),
        )
