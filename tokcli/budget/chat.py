"""Chat conversations (`count --chat`, `check --chat`): the tokens a model is sent for a list of messages.

Input, OpenAI's chat format: a JSON object with a `messages` array (a bare array of messages works too),
or JSONL with one such object per line (OpenAI's fine-tuning files). Each message is an object with a
`role`, a `content` (a string, null, or a list of parts; parts of type "text" are counted) and an
optional `name`.

The count of a conversation, as OpenAI's cookbook computes it ("How to count tokens with tiktoken",
`num_tokens_from_messages`):

    for each message:  per_message + tokens(role) + tokens(content) + tokens(name) + per_name (if named)
    then:              + reply (every reply is primed with <|start|>assistant<|message|>)

with the figures of the model family in OVERHEADS, the one table of them. Not counted, and reported as
such, never dropped silently: content parts that are not text (images, audio, files), and other message
keys the model is sent in its own way (tool_calls, function_call, tool_call_id, audio, ...), and a
conversation's `tools` / `functions` definitions; the cookbook gives no formula for them. Text parts
are counted each alone, as the cookbook counts each value.

Families without a documented figure (every tokenizer that is not one of OpenAI's chat encodings:
Llama, Mistral, Qwen, Claude and Gemini proxies, tokcli's own): tokcli does not guess. It counts what it
can (role, content and name) and marks the count a lower bound (">=" in text, "lower_bound": true in
JSON), since the real template adds tokens around every message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from tokcli.errors import InputError
from tokcli.files.datasets import iter_json_lines, kind, max_line_bytes, parse_line
from tokcli.files.text import stdin_binary
from tokcli.files.walk import open_file
from tokcli.tokenizer.base import SEGMENT_CHARS, Tokenizer

COOKBOOK = (
    'OpenAI Cookbook, "How to count tokens with tiktoken" (examples/How_to_count_tokens_with_tiktoken.ipynb), '
    "num_tokens_from_messages, read 2026-11-30"
)


@dataclass(frozen=True)
class Overhead:
    """The tokens a model family adds to a conversation: per message, per name, and the reply priming."""

    family: str
    per_message: int | None  # None: not documented (the count is a lower bound)
    per_name: int | None
    reply: int | None
    source: str

    @property
    def known(self) -> bool:
        return self.per_message is not None


OVERHEADS = {
    # gpt-3.5-turbo-0613 and later, gpt-4 (0314, 0613, turbo), gpt-4o, gpt-4o-mini: the cookbook's current figures
    "openai": Overhead("openai", 3, 1, 3, COOKBOOK + " (gpt-3.5-turbo-0613 and later, gpt-4*, gpt-4o*)"),
    # the first ChatGPT snapshot: <|start|>{role/name}\n{content}<|end|>\n; a name replaces the role
    "openai-0301": Overhead("openai-0301", 4, -1, 3, COOKBOOK + " (gpt-3.5-turbo-0301)"),
    "unknown": Overhead(
        "unknown", None, None, None,
        "no documented figure for this tokenizer's models: role, content and name counted, a lower bound",
    ),
}  # fmt: skip
OPENAI_CHAT_ENCODINGS = {"cl100k_base", "o200k_base"}  # the encodings of the models the cookbook covers
OPENAI_PROVIDERS = {"openai", "azure"}
NOT_COUNTED_TOP = ("tools", "functions")  # conversation keys the model is sent, not counted


def overhead_for(tok: Tokenizer, model: Any = None) -> Overhead:
    """The family overhead of `model` (a tokcli.budget.models.ModelEntry), else of the tokenizer: OpenAI's
    chat encodings (cl100k_base, o200k_base, or a model name using them) get the cookbook's figures."""
    name = (model.name if model is not None else tok.name).lower()
    if model is not None and model.provider not in OPENAI_PROVIDERS:
        return OVERHEADS["unknown"]
    enc = getattr(getattr(tok, "enc", None), "name", None)
    if enc not in OPENAI_CHAT_ENCODINGS:
        return OVERHEADS["unknown"]
    return OVERHEADS["openai-0301" if "0301" in name else "openai"]


@dataclass(frozen=True)
class Message:
    role: str
    name: str | None
    texts: tuple[str, ...]  # the text parts of the content (one for a string content)
    not_counted: tuple[str, ...]  # what the model is sent that is not counted: "tool_calls", "content[1]: image_url"


@dataclass(frozen=True)
class Conversation:
    label: str  # FILE, or FILE:LINE for a line of a JSONL file
    messages: tuple[Message, ...]
    not_counted: tuple[str, ...]  # conversation keys: "tools", "functions"


@dataclass
class MessageCount:
    role: str
    name: str | None
    tokens: dict[str, int]  # tokenizer -> the message's tokens, overhead included
    not_counted: tuple[str, ...]


@dataclass
class ConversationCount:
    label: str
    messages: list[MessageCount]
    tokens: dict[str, int] = field(default_factory=dict)  # tokenizer -> total, reply priming included
    not_counted: tuple[str, ...] = ()


def _type(v: Any) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", int: "a number", float: "a number",
            str: "a string", type(None): "null"}.get(type(v), type(v).__name__)  # fmt: skip


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
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for i, part in enumerate(content):
            if isinstance(part, str):  # a bare string part: text
                texts.append(part)
            elif isinstance(part, dict) and part.get("type", "text") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, dict):
                skipped.append(f"content[{i}]: {part.get('type', 'part without a type')}")
            else:
                raise InputError(f"{where}: content[{i}] is {_type(part)}, not a part object")
    elif content is not None:
        raise InputError(f"{where}: content must be a string, a list of parts or null, not {_type(content)}")
    skipped += [k for k in m if k not in ("role", "content", "name")]
    return Message(role, name, tuple(texts), tuple(skipped))


def parse_conversation(doc: Any, label: str) -> Conversation:
    """A conversation from a JSON value: {"messages": [...]} (or a bare list of messages)."""
    extra: tuple[str, ...] = ()
    if isinstance(doc, list):
        messages = doc
    elif isinstance(doc, dict) and isinstance(doc.get("messages"), list):
        messages, extra = doc["messages"], tuple(k for k in NOT_COUNTED_TOP if doc.get(k))
    else:
        has = "a messages key that is not a list" if isinstance(doc, dict) and "messages" in doc else _type(doc)
        raise InputError(f'{label}: not a chat conversation: expected {{"messages": [...]}}, found {has}')
    return Conversation(label, tuple(parse_message(m, f"{label}: message {i + 1}") for i, m in enumerate(messages)),
                        extra)  # fmt: skip


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
        doc = json.loads(text)
    except RecursionError:
        raise InputError(f"{label}: not JSON tokcli can read (nested too deeply)") from None
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
        data = f.read(limit + 1)
    finally:
        if path != "-":
            f.close()
    if len(data) > limit:
        raise InputError(
            f"{path}: a JSON document larger than {limit:,} bytes; give such files as JSONL (one conversation a "
            "line), or set TOKCLI_MAX_LINE_BYTES higher"
        )
    return data


def count_conversation(conv: Conversation, tokenizers: Sequence[tuple[Tokenizer, Overhead]]) -> ConversationCount:
    """The tokens of every message and of the whole conversation under each (tokenizer, overhead)."""
    rows = [MessageCount(m.role, m.name, {}, m.not_counted) for m in conv.messages]
    out = ConversationCount(conv.label, rows, {}, conv.not_counted)
    for tok, oh in tokenizers:
        total = 0
        for m, row in zip(conv.messages, rows, strict=True):
            n = _count(tok, m.role) + sum(_count(tok, t) for t in m.texts) + (oh.per_message or 0)
            if m.name is not None:
                n += _count(tok, m.name) + (oh.per_name or 0)
            row.tokens[tok.name] = n
            total += n
        out.tokens[tok.name] = total + (oh.reply or 0)
    return out


def _count(tok: Tokenizer, text: str) -> int:
    """tok.count(text), streamed past a segment's length (bounded memory; the same count)."""
    return tok.count(text) if len(text) <= SEGMENT_CHARS else tok.count_stream([text])


def count_chat(
    tokenizers: Sequence[tuple[Tokenizer, Overhead]], paths: Sequence[str], *, errors: str = "strict"
) -> Iterator[ConversationCount]:
    """Every conversation of every chat file, counted (see the module docstring)."""
    for path in paths:
        for conv in read_conversations(path, errors=errors):
            yield count_conversation(conv, tokenizers)
