"""Load a YAML file into a pydantic model, reporting every problem as ``file:line: field: what to change``.

ruamel.yaml keeps the line and column of every mapping key and list item, so a validation error found by
pydantic on the parsed data can be pointed back at the exact line a user has to edit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

M = TypeVar("M", bound=BaseModel)
_DASH_NO_SPACE = re.compile(r"^\s*-[^\s-]")


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
        raise ConfigError(path, [syntax_error(path, text, exc)]) from None
    except YAMLError as exc:
        raise ConfigError(path, [f"{path}: invalid YAML: {exc}"]) from None


def syntax_error(path: Path, text: str, exc: MarkedYAMLError) -> str:
    """``file:line:column: invalid YAML: ...`` for a parse error, pointing where the slip is, with a hint.

    The parser notices an unclosed bracket only where the next token does not fit, often a line later; the
    bracket's own position is in the error's context mark, which is where the person has to look.
    """
    problem, context = exc.problem or "", exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    lines = text.splitlines()
    if ("flow mapping" in context or "flow sequence" in context) and exc.context_mark is not None:
        opened = exc.context_mark
        bracket = "[" if "sequence" in context else "{"
        closing = {"{": "}", "[": "]"}[bracket]
        where_it_failed = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "further on"
        return (
            f"{path}:{opened.line + 1}:{opened.column + 1}: invalid YAML: this '{bracket}' is never closed "
            f"(the parser gave up at {where_it_failed}: {problem}); add the missing '{closing}'"
        )
    hint = ""
    suspect = [n for n in range(max(0, (mark.line if mark else 0) - 2), (mark.line + 1) if mark else 0)]
    if any(n < len(lines) and _DASH_NO_SPACE.match(lines[n]) for n in suspect):
        hint = "; a list item needs a space after its dash: '- id: ...', not '-id: ...'"
    elif "\t" in problem or "'\\t'" in problem:
        hint = "; indent with spaces, YAML does not allow tabs"
    elif "mapping values are not allowed" in problem:
        hint = "; quote a value that contains ': ', or check this line's indentation"
    elif "found duplicate key" in problem or "found duplicate key" in context:
        hint = "; each key may appear once in a mapping"
    position = f"{mark.line + 1}:{mark.column + 1}" if mark else "?"
    return f"{path}:{position}: invalid YAML: {problem or context or 'cannot parse'}{hint}"


def position_of(data: Any, loc: Sequence[str | int]) -> tuple[int, int] | None:
    """The 1-based (line, column) of the deepest node along ``loc`` that the YAML parser recorded a position for."""
    pos: tuple[int, int] | None = None
    node = data
    for key in loc:
        if isinstance(node, CommentedMap) and key in node:
            line, col = node.lc.key(key)
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line, col = node.lc.item(key)
            node = node[key]
        else:
            break
        pos = (line + 1, col + 1)
    return pos


def line_of(data: Any, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest node along ``loc`` that the YAML parser recorded a position for."""
    pos = position_of(data, loc)
    return pos[0] if pos else None


def plain(data: Any) -> Any:
    """ruamel's Commented* containers as plain dicts and lists, so pydantic sees ordinary data."""
    if isinstance(data, dict):
        return {key: plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [plain(value) for value in data]
    return data


_plain = plain  # the name used before ``plain`` became public


def where(path: Path, data: Any, loc: Sequence[str | int], *, columns: bool = False) -> str:
    """``file:line`` (or ``file:line:column``) of ``loc`` in the parsed ``data``; just ``file`` when unknown."""
    pos = position_of(data, loc)
    if pos is None:
        return f"{path}"
    return f"{path}:{pos[0]}:{pos[1]}" if columns else f"{path}:{pos[0]}"


def _clean_loc(data: Any, loc: Sequence[Any]) -> list[str | int]:
    """``loc`` without the parts pydantic adds that are not keys of the YAML (validator names, union tags)."""
    parts = [part for part in loc if not (isinstance(part, str) and part.startswith("function-"))]
    kept: list[str | int] = []
    node = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        is_key = isinstance(node, dict) and part in node
        if is_key or (isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)):
            node = node[part]
        elif isinstance(part, str) and (isinstance(node, (list, str)) or (isinstance(node, dict) and not last)):
            continue  # a union tag such as 'phrase' or 'condition' between a list index and its item
        else:
            node = None
        kept.append(part)
    return kept


def format_errors(
    path: Path, data: Any, exc: ValidationError, *, columns: bool = False, hints: dict[str, str] | None = None
) -> list[str]:
    """One ``file:line: field: message`` string per pydantic error (with ``columns``, ``file:line:col``).

    ``hints`` maps a pydantic error type (``missing``, ``literal_error``...) to a hint appended to the message.
    """
    problems = []
    for error in exc.errors():
        loc = _clean_loc(data, error["loc"])
        field = ".".join(str(part) for part in loc) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown key '{loc[-1]}'; remove it or check its spelling"
        hint = (hints or {}).get(error["type"])
        if hint:
            message = f"{message} (hint: {hint})"
        problems.append(f"{where(path, data, loc, columns=columns)}: {field}: {message}")
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
