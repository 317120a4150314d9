"""Hot reload of the feeds file: an edit takes effect while the poller runs; an invalid edit keeps the last list."""

from __future__ import annotations

import logging
from pathlib import Path

from newswatch.core.files import file_stamp
from newswatch.core.yamlconf import ConfigError
from newswatch.poller.config import FeedsConfig, load_feeds

log = logging.getLogger(__name__)
RELOAD_EVERY = 2.0  # seconds between looks at the feeds file's modification time


class LiveFeeds:
    """The feeds file as it was last loaded; ``check()`` returns its new content once after each valid edit.

    An invalid edit (bad YAML, a duplicate id, a missing file) is logged once with its file and line, kept in
    ``error``, and the caller keeps polling the last good list until the file is fixed.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._stamp = file_stamp(self.path)
        self.error: str | None = None
        self.failed_now = False  # the last check found a new invalid edit

    def check(self) -> FeedsConfig | None:
        """The reloaded feeds when the file changed and is valid, else None."""
        self.failed_now = False
        stamp = file_stamp(self.path)
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            config = load_feeds(self.path)
        except ConfigError as exc:
            if str(exc) != self.error:
                log.error("feeds file is invalid; still polling the last good list:\n%s", exc)
            self.error, self.failed_now = str(exc), True
            return None
        if self.error:
            log.info("feeds file is valid again")
        self.error = None
        return config
