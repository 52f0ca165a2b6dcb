"""Reading chat conversations (`count --chat`, `check --chat`): a JSON file or JSONL lines in OpenAI's chat
format or Anthropic's Messages format (see tokcli.budget.chat), checked and parsed into `Conversation`s of
`Message`s, with their `Part`s (images, tool calls, ids) and `ToolDef`s, and what is not counted, with why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tokcli.errors import InputError, limit_from_env
from tokcli.files.datasets import iter_json_lines, kind, parse_line
from tokcli.files.jsonlimits import decode, max_line_bytes
from tokcli.files.opening import open_file
from tokcli.files.text import stdin_binary


@dataclass(frozen=True)
class Part:
    """Something a message sends besides its text: an image, a tool call, an id."""

    label: str  # "content[1]: image_url", "tool_calls[0]", "tool_call_id"
    kind: str  # "image", "call" (texts + the per-call figure), "text" (texts, an estimate)
    texts: tuple[str, ...] = ()
    size: tuple[int, int] | None = None  # an image's width and height
    detail: str = "auto"
    unreadable: str | None = None  # why an image's size is not known


@dataclass(frozen=True)
class Message:
    role: str
    name: str | None
    texts: tuple[str, ...]  # the text parts of the content (one for a string content)
    not_counted: tuple[str, ...]  # what the model is sent that is not counted: "audio: no documented formula"
    parts: tuple[Part, ...] = ()


@dataclass(frozen=True)
class ToolDef:
    """A function tool as the cookbook reads it: name, description, and each top-level property's name,
    type, description and enum items."""

    name: str
    description: str
    properties: tuple[tuple[str, str, str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Conversation:
    label: str  # FILE, or FILE:LINE for a line of a JSONL file
    messages: tuple[Message, ...]
    not_counted: tuple[str, ...]  # conversation keys and tools not counted, with the reason
    tools: tuple[ToolDef, ...] = ()
    raw: Any = field(default=None, compare=False, repr=False)  # the JSON value read (what `count --api` sends)


def _type(v: Any) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", int: "a number", float: "a number",
            str: "a string", type(None): "null"}.get(type(v), type(v).__name__)  # fmt: skip


MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "function_call", "tool_call_id")
NO_FORMULA = "no documented formula"


def parse_message(m: Any, where: str) -> Message:
    """One message, checked; InputError naming `where` (FILE:LINE: message N) when it is not one."""
    if not isinstance(m, dict):
        raise InputError(f"{where}: is {_type(m)}, not a message object with role and content")
    role = m.get("role")
    if not isinstance(role, str):
        raise InputError(
            f"{where}: role must be a string, not {_type(role)}" if "role" in m else f"{where}: has no role"
        )
    name = m.get("name")
    if name is not None and not isinstance(name, str):
        raise InputError(f"{where}: name must be a string, not {_type(name)}")
    content = m.get("content")
    texts: list[str] = []
    skipped: list[str] = []
    parts: list[Part] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        _content(content, "content", where, texts, parts, skipped)
    elif content is not None:
        raise InputError(f"{where}: content must be a string, a list of parts or null, not {_type(content)}")
    calls = m.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            raise InputError(f"{where}: tool_calls must be a list, not {_type(calls)}")
        for i, c in enumerate(calls):
            fn = c.get("function") if isinstance(c, dict) else None
            if not isinstance(fn, dict):
                raise InputError(f"{where}: tool_calls[{i}] must be an object with a function object")
            parts.append(Part(f"tool_calls[{i}]", "call", (_str(c.get("id")), *_call(fn, f"{where}: tool_calls[{i}]"))))
    if m.get("function_call") is not None:
        fc = m["function_call"]
        if not isinstance(fc, dict):
            raise InputError(f"{where}: function_call must be an object with name and arguments")
        parts.append(Part("function_call", "call", _call(fc, f"{where}: function_call")))
    if m.get("tool_call_id") is not None:
        parts.append(Part("tool_call_id", "text", (_str(m["tool_call_id"]),)))
    skipped += [f"{k}: {NO_FORMULA}" for k in m if k not in MESSAGE_KEYS]
    return Message(role, name, tuple(texts), tuple(skipped), tuple(parts))


def _str(v: Any) -> str:
    return v if isinstance(v, str) else "" if v is None else json.dumps(v, ensure_ascii=False)


def _call(fn: dict[str, Any], where: str) -> tuple[str, str]:
    """(name, arguments) of a call: OpenAI's arguments string, or Anthropic's input object as JSON."""
    if not isinstance(fn.get("name"), str):
        raise InputError(f"{where}: has no name")
    return fn["name"], _str(fn.get("arguments", fn.get("input")))


def _content(content: list[Any], at: str, where: str, texts: list[str], parts: list[Part], skipped: list[str]) -> None:
    """The parts of a list content: text, images (OpenAI's image_url / input_image, Anthropic's image),
    Anthropic's tool_use and tool_result (whose content is read the same way); others not counted."""
    from .images import ImageUnreadable, data_url_payload, given_size

    for i, part in enumerate(content):
        label = f"{at}[{i}]"
        if isinstance(part, str):  # a bare string part: text
            texts.append(part)
            continue
        if not isinstance(part, dict):
            raise InputError(f"{where}: {label} is {_type(part)}, not a part object")
        kind = part.get("type", "text")
        if kind in ("text", "input_text") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind in ("image_url", "input_image", "image"):
            try:
                size = given_size(part)
            except ValueError as e:
                raise InputError(f"{where}: {label}: {e}") from None
            detail, unreadable = "auto", None
            try:
                if kind == "image":  # Anthropic: {"source": {"type": "base64", "data": ...} or {"type": "url"}}
                    src: dict[str, Any] = part["source"] if isinstance(part.get("source"), dict) else {}
                    if size is None and src.get("type") == "base64" and isinstance(src.get("data"), str):
                        size = _read_size(src["data"])
                    elif size is None:
                        data_url_payload(_str(src.get("url", "")))  # raises the reason
                else:
                    img = part.get("image_url")
                    url = img.get("url") if isinstance(img, dict) else img
                    detail = (img.get("detail") if isinstance(img, dict) else None) or part.get("detail") or "auto"
                    if size is None:
                        size = _read_size(data_url_payload(_str(url)))
            except ImageUnreadable as e:
                unreadable = str(e)
            parts.append(Part(f"{label}: {kind}", "image", size=size, detail=str(detail), unreadable=unreadable))
        elif kind == "tool_use":
            parts.append(Part(f"{label}: tool_use", "call", (_str(part.get("id")), *_call(part, f"{where}: {label}"))))
        elif kind == "tool_result":
            parts.append(Part(f"{label}: tool_result.tool_use_id", "text", (_str(part.get("tool_use_id")),)))
            inner = part.get("content")
            if isinstance(inner, str):
                texts.append(inner)
            elif isinstance(inner, list):
                _content(inner, f"{label}.content", where, texts, parts, skipped)
        else:
            skipped.append(f"{label}: {kind}: {NO_FORMULA}")


def _read_size(b64: str) -> tuple[int, int]:
    from .images import image_size

    _, w, h = image_size(b64)
    return w, h


def parse_tools(doc: dict[str, Any], label: str) -> tuple[tuple[ToolDef, ...], tuple[str, ...]]:
    """The function tools of a request (`tools` in OpenAI's or Anthropic's form, `functions`), and the tools
    not counted (a vendor's built-in tools) with the reason."""
    defs: list[ToolDef] = []
    skipped: list[str] = []
    for key in ("tools", "functions"):
        items = doc.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise InputError(f"{label}: {key} must be a list, not {_type(items)}")
        for i, t in enumerate(items):
            if not isinstance(t, dict):
                raise InputError(f"{label}: {key}[{i}] is {_type(t)}, not a tool object")
            if key == "tools" and t.get("type") == "function" and isinstance(t.get("function"), dict):
                fn, schema_key = t["function"], "parameters"  # OpenAI chat completions
            elif key == "functions" or ("input_schema" in t and t.get("type") in (None, "custom")):
                fn, schema_key = t, "parameters" if key == "functions" else "input_schema"  # Anthropic
            elif key == "tools" and t.get("type") == "function" and "name" in t:
                fn, schema_key = t, "parameters"  # OpenAI responses: the function's keys at the top
            else:
                skipped.append(f"{key}[{i}]: {t.get('type', 'a tool without a type')}: {NO_FORMULA}")
                continue
            defs.append(_tool(fn, fn.get(schema_key), f"{label}: {key}[{i}]"))
    return tuple(defs), tuple(skipped)


def _tool(fn: dict[str, Any], schema: Any, where: str) -> ToolDef:
    if not isinstance(fn.get("name"), str):
        raise InputError(f"{where}: a tool needs a name (a string)")
    props = schema.get("properties") if isinstance(schema, dict) else None
    rows = []
    for key, p in props.items() if isinstance(props, dict) else ():
        p = p if isinstance(p, dict) else {}
        enum = p.get("enum")
        rows.append((str(key), _str(p.get("type")), _str(p.get("description")),
                     tuple(_str(e) for e in enum) if isinstance(enum, list) else ()))  # fmt: skip
    return ToolDef(fn["name"], _str(fn.get("description")), tuple(rows))


MAX_MESSAGES = 100_000  # messages in one conversation (TOKCLI_MAX_MESSAGES)


def _check_messages(messages: list[Any], label: str) -> None:
    most = limit_from_env("TOKCLI_MAX_MESSAGES", MAX_MESSAGES, unit="messages")
    if len(messages) > most:
        raise InputError(
            f"{label}: {len(messages):,} messages, more than the {most:,} tokcli reads in one conversation; "
            "split it (or set TOKCLI_MAX_MESSAGES higher)"
        )


def parse_conversation(doc: Any, label: str) -> Conversation:
    """A conversation from a JSON value: {"messages": [...]} (or a bare list of messages), with its tools
    and Anthropic's top-level `system` (a string or text blocks, counted as a first system message); at
    most TOKCLI_MAX_MESSAGES (100,000) messages."""
    if isinstance(doc, list):
        _check_messages(doc, label)
        return Conversation(label, tuple(parse_message(m, f"{label}: message {i + 1}") for i, m in enumerate(doc)), (),
                            raw=doc)  # fmt: skip
    if not (isinstance(doc, dict) and isinstance(doc.get("messages"), list)):
        has = "a messages key that is not a list" if isinstance(doc, dict) and "messages" in doc else _type(doc)
        raise InputError(f'{label}: not a chat conversation: expected {{"messages": [...]}}, found {has}')
    _check_messages(doc["messages"], label)
    messages = list(doc["messages"])
    if doc.get("system") is not None:
        messages.insert(0, {"role": "system", "content": doc["system"]})
    tools, skipped = parse_tools(doc, label)
    return Conversation(label, tuple(parse_message(m, f"{label}: message {i + 1}") for i, m in enumerate(messages)),
                        skipped, tools, raw=doc)  # fmt: skip


def _jsonl_named(path: str) -> bool:
    return kind(path) != "jsonl" or path.lower().endswith((".jsonl", ".ndjson"))


def read_conversations(path: str, *, errors: str = "strict") -> Iterator[Conversation]:
    """The conversations of a chat file: JSONL (by its name, .jsonl/.ndjson/.gz/.zst, or when the file holds
    several JSON values) streamed line by line; any other file is one JSON document (at most
    TOKCLI_MAX_LINE_BYTES). Errors name FILE:LINE."""
    label = "<stdin>" if path == "-" else path
    if _jsonl_named(path) and path != "-":
        for n, doc in iter_json_lines(path, errors=errors):
            yield parse_conversation(doc, f"{label}:{n}")
        return
    data = _read_capped(path)
    try:
        text = data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as e:
        raise InputError(f"{label}: not valid UTF-8 at byte {e.start}; convert it to UTF-8") from None
    try:
        doc = decode(text, label, errors=errors, fix="fix the file")
    except json.JSONDecodeError as e:
        if e.msg != "Extra data":
            raise InputError(f"{label}:{e.lineno}: not JSON ({e.msg} at column {e.colno})") from None
        for n, line in enumerate(data.splitlines(), 1):  # several values: JSONL
            if line.strip():
                yield parse_conversation(parse_line(path, n, line, errors), f"{label}:{n}")
        return
    yield parse_conversation(doc, label)


def _read_capped(path: str) -> bytes:

    limit = max_line_bytes()
    f = stdin_binary() if path == "-" else open_file(path, directory="a chat file (.json or .jsonl)")
    try:
        parts, left = [], limit + 1  # in blocks: a read allocates all it is asked for (a limit of 1 TiB)
        while left > 0 and (part := f.read(min(left, 1 << 24))):
            parts.append(part)
            left -= len(part)
        data = b"".join(parts)
    finally:
        if path != "-":
            f.close()
    if len(data) > limit:
        raise InputError(
            f"{path}: a JSON document larger than {limit:,} bytes; give such files as JSONL (one conversation a "
            "line), or set TOKCLI_MAX_LINE_BYTES higher"
        )
    return data
