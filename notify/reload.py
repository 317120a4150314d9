"""Hot reload of the notify file: an edit takes effect while ``newswatch notify`` runs; an invalid edit keeps the
last good sinks and routes (and says so, once, with its file and line)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from newswatch.core.files import file_stamp
from newswatch.core.yamlconf import ConfigError
from newswatch.notify.config import NotifyConfig, load_notify

log = logging.getLogger(__name__)
RELOAD_EVERY = 2.0  # seconds between looks at the file's modification time


class LiveNotify:
    """The notify file as last loaded; ``check()`` returns the new config once after each valid edit.

    The first load happens in ``__init__`` and raises ConfigError: an invalid file stops the command at start.
    """

    def __init__(self, path: Path | str, environ: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        self.environ = environ
        self._stamp = file_stamp(self.path)
        self.config = load_notify(self.path, environ)
        self.error: str | None = None

    def check(self) -> NotifyConfig | None:
        """The reloaded config when the file changed and is valid, else None."""
        stamp = file_stamp(self.path)
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            config = load_notify(self.path, self.environ)
        except ConfigError as exc:
            if str(exc) != self.error:
                log.error("notify file is invalid; still delivering by the last good one:\n%s", exc)
            self.error = str(exc)
            return None
        if self.error:
            log.info("notify file is valid again")
        self.error = None
        self.config = config
        return config
