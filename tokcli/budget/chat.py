"""Chat conversations (`count --chat`, `check --chat`): the tokens a model is sent for a list of messages.

Input, OpenAI's chat format or Anthropic's Messages format: a JSON object with a `messages` array (a bare
array of messages works too), or JSONL with one such object per line (OpenAI's fine-tuning files). Each
message is an object with a `role`, a `content` (a string, null, or a list of parts) and an optional
`name`; a request's `tools` / `functions` definitions and Anthropic's top-level `system` are read too.

The count of a conversation, as OpenAI's cookbook computes it ("How to count tokens with tiktoken",
`num_tokens_from_messages`):

    for each message:  per_message + tokens(role) + tokens(content) + tokens(name) + per_name (if named)
    then:              + reply (every reply is primed with <|start|>assistant<|message|>)

with the figures of the model family in OVERHEADS, the one table of them. Text parts are counted each
alone, as the cookbook counts each value. Besides text, counted with a published formula and marked
as such (an estimate, `exact: false`, where the formula is not the vendor's own):

- tool definitions (OpenAI's `tools: [{type: function, function: {name, description, parameters}}]`,
  the older `functions`, Anthropic's `tools: [{name, description, input_schema}]`): the cookbook's
  `num_tokens_for_tools` (TOOLS_SOURCE), an estimate; its constants are for gpt-4o/gpt-4o-mini (o200k_base)
  and gpt-3.5-turbo/gpt-4 (cl100k_base);
- tool calls (`tool_calls`, `function_call`, Anthropic `tool_use` blocks): tokens(id) + tokens(name) +
  tokens(arguments) + 3 a call (CALLS_SOURCE, an estimate); `tool_call_id` and a `tool_result`'s
  `tool_use_id` as their text, the result's content as text and images;
- images: tokcli.budget.images (OpenAI's tile formula for the gpt-4o family, Anthropic's pixels / 750).

Not counted, and reported as such with the reason, never dropped silently: audio and file parts, an
image whose size tokcli cannot know (an http(s) URL without a given width and height, unreadable data),
other message keys, tools that are not functions (a vendor's built-in tools).

Families without a documented figure (every tokenizer that is not one of OpenAI's chat encodings:
Llama, Mistral, Qwen, Claude and Gemini proxies, tokcli's own): tokcli does not guess. It counts what it
can (role, content, name, the text of tools and calls, images by the model's formula) and marks the
count a lower bound (">=" in text, "lower_bound": true in JSON), since the real template adds tokens
around every message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tokcli.tokenizer.base import Tokenizer
from tokcli.tokenizer.counting import about, count_texts

from .conversations import Conversation, Part, ToolDef, read_conversations
from .images import ImageFormula, image_formula

COOKBOOK = (
    'OpenAI Cookbook, "How to count tokens with tiktoken" (examples/How_to_count_tokens_with_tiktoken.ipynb), '
    "num_tokens_from_messages, read 2026-11-30"
)
TOOLS_SOURCE = (
    'OpenAI Cookbook, "How to count tokens with tiktoken", section 7 "Counting tokens for chat completions '
    'with tool calls", num_tokens_for_tools (added 2024-10), read 2026-12-07; OpenAI documents no exact '
    "formula for tool definitions: an estimate"
)
CALLS_SOURCE = (
    "hmarr/openai-chat-tokens (github.com/hmarr/openai-chat-tokens, src/index.ts, messageTokensEstimate: "
    "function_call name + arguments + 3), read 2026-12-07; applied to each tool call (its id counted too): an "
    "estimate, OpenAI documents none"
)


@dataclass(frozen=True)
class ToolConstants:
    """The cookbook's num_tokens_for_tools figures for a model family."""

    func_init: int
    prop_init: int
    prop_key: int
    enum_init: int
    enum_item: int
    func_end: int


TOOL_CONSTANTS = {  # the cookbook's two sets: gpt-4o and gpt-4o-mini; gpt-3.5-turbo and gpt-4
    "o200k_base": ToolConstants(7, 3, 3, -3, 3, 12),
    "cl100k_base": ToolConstants(10, 3, 3, -3, 3, 12),
}
PER_CALL = 3  # hmarr/openai-chat-tokens: a function_call adds 3 tokens besides its name and arguments


@dataclass(frozen=True)
class Overhead:
    """The tokens a model family adds to a conversation: per message, per name, and the reply priming; how
    it counts tools (the cookbook's constants, None: their text only) and images (a formula, or why none)."""

    family: str
    per_message: int | None  # None: not documented (the count is a lower bound)
    per_name: int | None
    reply: int | None
    source: str
    tools: ToolConstants | None = None
    images: ImageFormula | str = "no model named: give -m MODEL (gpt-4o family or Claude) to count images"

    @property
    def known(self) -> bool:
        return self.per_message is not None

    @property
    def per_call(self) -> int:
        return PER_CALL if self.known else 0


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


def overhead_for(tok: Tokenizer, model: Any = None) -> Overhead:
    """The family overhead of `model` (a tokcli.budget.models.ModelEntry), else of the tokenizer: OpenAI's
    chat encodings (cl100k_base, o200k_base, or a model name using them) get the cookbook's figures; the
    image formula is the model's (or the tokenizer's, when it is named after a model)."""
    name = (model.name if model is not None else tok.name).lower()
    images = image_formula(name, getattr(model, "provider", None))
    enc = getattr(getattr(tok, "enc", None), "name", None)
    if (model is not None and model.provider not in OPENAI_PROVIDERS) or enc not in OPENAI_CHAT_ENCODINGS:
        return replace(OVERHEADS["unknown"], images=images)
    return replace(OVERHEADS["openai-0301" if "0301" in name else "openai"], tools=TOOL_CONSTANTS[enc], images=images)


def chat_columns(
    loaded: dict[str, Tokenizer], entries: Sequence[Any]
) -> tuple[list[tuple[str, Tokenizer, Overhead]], dict[str, str]]:
    """The columns of `count --chat`: (key, tokenizer, overhead) for each tokenizer (with the overhead of the
    first model it counts for), then one keyed by a model's name where that model's overhead or image
    formula differs from its tokenizer's column (gpt-4o and a Claude model both counted with o200k_base);
    and each model's column key."""
    cols = {n: (tok, overhead_for(tok, next((e for e in entries if e.counting_tokenizer == n), None)))
            for n, tok in loaded.items()}  # fmt: skip
    key = {e.name: e.counting_tokenizer for e in entries}
    for e in entries:
        tok = loaded[e.counting_tokenizer]
        if (oh := overhead_for(tok, e)) != cols[e.counting_tokenizer][1]:
            cols[e.name], key[e.name] = (tok, oh), e.name
    return [(k, tok, oh) for k, (tok, oh) in cols.items()], key


@dataclass
class PartCount:
    label: str
    tokens: dict[str, int]  # tokenizer -> tokens (absent: not counted under it)
    exact: dict[str, bool]  # tokenizer -> whether its formula is the vendor's own
    not_counted: dict[str, str]  # tokenizer -> why not


@dataclass
class MessageCount:
    role: str
    name: str | None
    tokens: dict[str, int]  # tokenizer -> the message's tokens, overhead included
    not_counted: tuple[str, ...]
    parts: list[PartCount] = field(default_factory=list)


@dataclass
class ConversationCount:
    label: str
    messages: list[MessageCount]
    tokens: dict[str, int] = field(default_factory=dict)  # tokenizer -> total, reply priming included
    not_counted: tuple[str, ...] = ()
    tools: dict[str, int] = field(default_factory=dict)  # tokenizer -> the tool definitions' tokens
    estimate: dict[str, bool] = field(default_factory=dict)  # tokenizer -> a part was counted by an estimate


def count_conversation(
    conv: Conversation, tokenizers: Sequence[tuple[Tokenizer, Overhead]], keys: Sequence[str] | None = None
) -> ConversationCount:
    """The tokens of every message and of the whole conversation under each (tokenizer, overhead), keyed by
    `keys` (default: the tokenizers' names; a model's name where one tokenizer counts for two models whose
    overheads or image formulas differ)."""
    with about(conv.label):  # a stretch too long to cut names its conversation
        keys = [t.name for t, _ in tokenizers] if keys is None else list(keys)
        rows = [MessageCount(m.role, m.name, {}, m.not_counted, [PartCount(p.label, {}, {}, {}) for p in m.parts])
                for m in conv.messages]  # fmt: skip
        out = ConversationCount(conv.label, rows, {}, conv.not_counted)
        for (tok, oh), key in zip(tokenizers, keys, strict=True):
            estimate = bool(conv.tools)
            total = out.tools[key] = count_tools(tok, oh, conv.tools)
            for m, row in zip(conv.messages, rows, strict=True):
                n = _count(tok, m.role) + sum(_count(tok, t) for t in m.texts) + (oh.per_message or 0)
                if m.name is not None:
                    n += _count(tok, m.name) + (oh.per_name or 0)
                for p, pc in zip(m.parts, row.parts, strict=True):
                    got = _part(tok, oh, p)
                    if isinstance(got, str):
                        pc.not_counted[key] = got
                        continue
                    pc.tokens[key], pc.exact[key] = got
                    n += got[0]
                    estimate |= not got[1]
                row.tokens[key] = n
                total += n
            out.tokens[key] = total + (oh.reply or 0)
            out.estimate[key] = estimate
        for m, row in zip(conv.messages, rows, strict=True):
            row.not_counted = m.not_counted + tuple(_why_not(pc, keys) for pc in row.parts
                                                    if pc.not_counted)  # fmt: skip
        return out


def _why_not(pc: PartCount, names: Sequence[str]) -> str:
    reasons = dict.fromkeys(pc.not_counted.values())
    if len(reasons) == 1 and len(pc.not_counted) == len(names):
        return f"{pc.label}: {next(iter(reasons))}"
    return f"{pc.label}: " + "; ".join(f"{n}: {why}" for n, why in pc.not_counted.items())


def _part(tok: Tokenizer, oh: Overhead, p: Part) -> tuple[int, bool] | str:
    """(tokens, exact) of a part under `tok`, or why it is not counted."""
    if p.kind == "image":
        if isinstance(oh.images, str):
            return oh.images
        if p.size is None:
            return p.unreadable or "an image of unknown size: give width and height in the part"
        return oh.images.tokens(*p.size, p.detail), oh.images.exact and p.detail != "auto"
    n = sum(_count(tok, t) for t in p.texts if t)
    return (n + oh.per_call, False) if p.kind == "call" else (n, False)


def count_tools(tok: Tokenizer, oh: Overhead, tools: Sequence[ToolDef]) -> int:
    """The cookbook's num_tokens_for_tools with the family's constants (OpenAI's encodings), else the text
    of the definitions alone (the same lines, no constants: part of a lower bound)."""
    if not tools:
        return 0
    c = oh.tools or ToolConstants(0, 0, 0, 0, 0, 0)
    n = c.func_end
    for t in tools:
        n += c.func_init + _count(tok, f"{t.name}:{_no_dot(t.description)}")
        if t.properties:
            n += c.prop_init
        for key, typ, desc, enum in t.properties:
            n += c.prop_key + _count(tok, f"{key}:{typ}:{_no_dot(desc)}")
            if enum:
                n += c.enum_init + sum(c.enum_item + _count(tok, e) for e in enum)
    return n


def _no_dot(s: str) -> str:
    return s[:-1] if s.endswith(".") else s


def _count(tok: Tokenizer, text: str) -> int:
    """tok.count(text), streamed past a segment's length (bounded memory; the same count), as every count is."""
    return count_texts(tok, [text], None)[0]


def count_chat(
    tokenizers: Sequence[tuple[Tokenizer, Overhead]], paths: Sequence[str], *, errors: str = "strict",
    keys: Sequence[str] | None = None,
) -> Iterator[ConversationCount]:  # fmt: skip
    """Every conversation of every chat file, counted (see the module docstring and count_conversation)."""
    for path in paths:
        for conv in read_conversations(path, errors=errors):
            yield count_conversation(conv, tokenizers, keys)
