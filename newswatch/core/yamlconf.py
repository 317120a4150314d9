"""Load a YAML file into a pydantic model, reporting every problem as ``file:line: field: what to change``.

ruamel.yaml keeps the line and column of every mapping key and list item, so a validation error found by
pydantic on the parsed data can be pointed back at the exact line a user has to edit.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.reader import ReaderError

M = TypeVar("M", bound=BaseModel)
_DASH_NO_SPACE = re.compile(r"^\s*-[^\s-]")

# Limits on any YAML file newswatch reads; config files are edited by hand and reloaded while running, so a
# hostile or broken one must fail fast with a line number instead of taking seconds and gigabytes.
MAX_YAML_BYTES = 4 * 1024 * 1024  # a sanity bound; callers with smaller files pass their own (rule files: 256 KiB)
# Aliases may add this many nodes to those written in the file: a 449-byte "billion laughs" document of nested
# aliases otherwise expands to millions of nodes (12.7 s and 454 MB to load, every rule reload). Ordinary reuse
# of an anchored list stays far below it.
MAX_ALIAS_EXPANSION = 20_000
MAX_YAML_DEPTH = 64  # nested mappings and lists; the shipped files use at most 10


class ConfigError(ValueError):
    """A config file is missing or invalid; ``str()`` is a message meant for the person editing it."""

    def __init__(self, path: Path | str, problems: Sequence[str]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class _Refused(MarkedYAMLError):
    """A document over one of the limits; ``syntax_error`` reports it like a parse error, at its line."""


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _refuse(node: Node, problem: str) -> _Refused:
    return _Refused(problem=problem, problem_mark=node.start_mark)


def check_expansion(root: Node, budget: int = MAX_ALIAS_EXPANSION, max_depth: int = MAX_YAML_DEPTH) -> None:
    """Refuse a composed document whose aliases expand it by more than ``budget`` nodes, that refers to itself,
    or that nests deeper than ``max_depth``.

    The composer shares one node per anchor, so the graph is as small as the file; this walks it once (no
    recursion, each node's expanded size memoised) before anything is built from it.
    """
    size: dict[int, int] = {}
    open_nodes: set[int] = set()  # the current path from the root: an alias to one of them is a cycle
    stack: list[tuple[Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, leaving = stack.pop()
        key = id(node)
        if leaving:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in _children(node))
            if size[key] - len(size) > budget:
                raise _refuse(
                    node,
                    f"aliases expand this value to {size[key]:,} nodes, more than {budget:,} beyond those written "
                    "(a 'billion laughs' document?); write the values out, or reuse an anchor fewer times",
                )
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise _refuse(
                node, "this anchored value contains an alias to itself; an alias must not refer to a value it is inside"
            )
        if depth > max_depth:
            raise _refuse(node, f"nested more than {max_depth} levels deep; flatten this structure")
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in reversed(_children(node)))


def _marked(construct: Callable[..., Any]) -> Callable[..., Any]:
    """``construct`` with any exception it raises turned into an error at the node's line.

    ruamel's constructors raise bare ValueError, KeyError, IndexError... on values such as ``2001-13-45`` (a
    date with month 13) or ``!!int 0x``; those would otherwise escape as a traceback with no line.
    """

    def marked(constructor: Any, *args: Any) -> Any:
        node = args[-1]
        try:
            data = construct(constructor, *args)
        except (YAMLError, RecursionError):
            raise
        except Exception as exc:  # noqa: BLE001 - see the docstring: any failure is this value's fault
            raise _value_error(node, exc) from None
        if isinstance(data, types.GeneratorType):  # mappings and lists are filled in later, from a generator
            return _marked_generator(data, node)
        return data

    return marked


def _marked_generator(generator: Iterator[Any], node: Node) -> Iterator[Any]:
    try:
        yield from generator
    except (YAMLError, RecursionError):
        raise
    except Exception as exc:  # noqa: BLE001 - as in _marked
        raise _value_error(node, exc) from None


def _value_error(node: Node, exc: Exception) -> ConstructorError:
    return ConstructorError(
        problem=f"cannot read this value ({exc}); quote it if it is meant as text", problem_mark=node.start_mark
    )


class _BoundedConstructor(RoundTripConstructor):
    """ruamel's round-trip constructor that checks a document's size before building it, and reports every value
    it cannot build at that value's line."""

    yaml_constructors: ClassVar[dict[Any, Any]] = {
        tag: _marked(f) for tag, f in RoundTripConstructor.yaml_constructors.items()
    }
    yaml_multi_constructors: ClassVar[dict[Any, Any]] = {
        tag: _marked(f) for tag, f in RoundTripConstructor.yaml_multi_constructors.items()
    }

    def construct_document(self, node: Node) -> Any:
        check_expansion(node)
        return super().construct_document(node)


def _too_deep(path: Path, text: str, max_depth: int = MAX_YAML_DEPTH) -> str:
    """Where a document nests deeper than ``max_depth``, found with ruamel's event parser (which does not recurse)
    when the composer ran out of stack first."""
    depth = 0
    try:
        for event in YAML(typ="rt").parse(text):
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    mark = event.start_mark
                    where_ = f"{path}:{mark.line + 1}:{mark.column + 1}"
                    return f"{where_}: invalid YAML: nested more than {max_depth} levels deep; flatten this structure"
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except (YAMLError, RecursionError):
        pass
    return f"{path}: invalid YAML: nested too deeply (more than {max_depth} levels); flatten it"


def read_yaml(path: Path, *, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """Parse ``path`` with ruamel.yaml (round-trip mode keeps line numbers); raise ConfigError on failure.

    A file over ``max_bytes``, aliases expanding it by more than MAX_ALIAS_EXPANSION nodes, or nesting deeper than
    MAX_YAML_DEPTH is refused with ``file:line`` like any other error, before it costs time or memory.
    """
    try:
        with path.open("rb") as file:
            raw = file.read(max_bytes + 1)
    except FileNotFoundError:
        raise ConfigError(path, [f"{path}: file not found"]) from None
    except OSError as exc:
        raise ConfigError(path, [f"{path}: cannot read: {exc}"]) from None
    if len(raw) > max_bytes:
        raise ConfigError(
            path, [f"{path}:1: file is over the {max_bytes:,}-byte limit for this file; split it into smaller files"]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [f"{path}: cannot read: {exc}"]) from None
    yaml = YAML(typ="rt")
    yaml.Constructor = _BoundedConstructor
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        raise ConfigError(path, [syntax_error(path, text, exc)]) from None
    except ReaderError as exc:  # a character YAML does not allow (most control characters); it has no mark
        before = text[: exc.position]
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        line, column = before.count("\n") + 1, exc.position - before.rfind("\n")
        raise ConfigError(
            path,
            [f"{path}:{line}:{column}: invalid YAML: character {char} is not allowed in YAML; remove it"],
        ) from None
    except YAMLError as exc:
        raise ConfigError(path, [f"{path}: invalid YAML: {exc}"]) from None
    except RecursionError:
        raise ConfigError(path, [_too_deep(path, text)]) from None


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
    """``file:line`` (or ``file:line:column``) of ``loc`` in the parsed ``data``; the document's start when the
    parser recorded no position for it (the top level, a document that is a bare value)."""
    pos = position_of(data, loc) or (1, 1)
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
