"""Load a YAML file into a pydantic model, reporting every problem as ``file:line: field: what to change``.

ruamel.yaml keeps the line and column of every mapping key and list item, so a validation error found by
pydantic on the parsed data can be pointed back at the exact line a user has to edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A config file is missing or invalid; ``str()`` is a message meant for the person editing it."""

    def __init__(self, path: Path | str, problems: Sequence[str]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def read_yaml(path: Path) -> Any:
    """Parse ``path`` with ruamel.yaml (round-trip mode keeps line numbers); raise ConfigError on failure."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, [f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"{path}: cannot read: {exc}"]) from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"{mark.line + 1}" if mark else "?"
        what = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(path, [f"{path}:{line}: invalid YAML: {what}"]) from None
    except YAMLError as exc:
        raise ConfigError(path, [f"{path}: invalid YAML: {exc}"]) from None


def line_of(data: Any, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest node along ``loc`` that the YAML parser recorded a position for."""
    line: int | None = None
    node = data
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            pos = node.lc.key(key)
            line = pos[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            pos = node.lc.item(key)
            line = pos[0] + 1
            node = node[key]
        else:
            break
    return line


def _plain(data: Any) -> Any:
    """ruamel's Commented* containers as plain dicts and lists, so pydantic sees ordinary data."""
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_plain(value) for value in data]
    return data


def format_errors(path: Path, data: Any, exc: ValidationError) -> list[str]:
    """One ``file:line: field: message`` string per pydantic error."""
    problems = []
    for error in exc.errors():
        loc = [part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
        line = line_of(data, loc)
        where = f"{path}:{line}" if line else f"{path}"
        field = ".".join(str(part) for part in loc) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = f"unknown key '{loc[-1]}'; remove it or check its spelling"
        problems.append(f"{where}: {field}: {message}")
    return problems


def load_model(path: Path | str, model: type[M], *, default: Any = None) -> M:
    """Read ``path`` and validate it as ``model``; every problem found is reported at once in a ConfigError."""
    path = Path(path)
    data = read_yaml(path)
    if data is None:
        data = default if default is not None else {}
    try:
        return model.model_validate(_plain(data), context={"yaml": data, "path": path})
    except ValidationError as exc:
        raise ConfigError(path, format_errors(path, data, exc)) from None
