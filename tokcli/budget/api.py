"""Exact counts from the vendor (`count --api`): the vendor's own token-counting endpoint, through its
official SDK (the `[api]` extra), with the key from the vendor's usual environment variable.

This is the only place tokcli touches the network, and only when asked (`--api`). The SDKs are imported
here, lazily: `tokcli --help` and every other command import none of them.

| vendor | endpoint | SDK call | key | base URL (tests, proxies) |
|---|---|---|---|---|
| Anthropic | POST /v1/messages/count_tokens | `anthropic.Anthropic().messages.count_tokens` | ANTHROPIC_API_KEY | ANTHROPIC_BASE_URL |
| Google Gemini | POST /v1beta/models/{model}:countTokens | `google.genai.Client().models.count_tokens` | GEMINI_API_KEY or GOOGLE_API_KEY | GOOGLE_GEMINI_BASE_URL |
| OpenAI | POST /v1/responses/input_tokens | `openai.OpenAI().responses.input_tokens.count` | OPENAI_API_KEY | OPENAI_BASE_URL |

The vendor is the model's provider in the model table (tokcli.budget.models.get_model). A plain input is
sent as one user message (so the count includes the vendor's message framing); a chat conversation is
sent as its messages (with Anthropic's `system` and the request's `tools`). Every failure is a
VendorApiError (or BackendMissing when the SDK is not installed) with one line that says what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from tokcli.errors import BackendMissing, UsageError, VendorApiError

PIP = 'pip install "tokcli[api]"'
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Vendor:
    name: str  # "anthropic", "gemini", "openai"
    label: str  # "Anthropic"
    module: str  # the SDK's import name
    keys: tuple[str, ...]  # environment variables, first found wins
    endpoint: str


VENDORS = {
    "anthropic": Vendor("anthropic", "Anthropic", "anthropic", ("ANTHROPIC_API_KEY",), "messages/count_tokens"),
    "gemini": Vendor("gemini", "Gemini", "google.genai", ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "models.countTokens"),
    "openai": Vendor("openai", "OpenAI", "openai", ("OPENAI_API_KEY",), "responses/input_tokens"),
}
PROVIDERS = {"anthropic": "anthropic", "gemini": "gemini", "openai": "openai"}  # the model table's provider -> vendor


@dataclass
class Request:
    """What is counted: messages in the vendor's chat form, and optionally a system prompt and tools."""

    messages: list[dict[str, Any]]
    system: Any = None
    tools: list[Any] = field(default_factory=list)

    @classmethod
    def text(cls, text: str) -> Request:
        return cls([{"role": "user", "content": text}])

    @classmethod
    def chat(cls, doc: Any) -> Request:
        """A conversation as read from a chat file: a list of messages, or {"messages", "system", "tools"}."""
        if isinstance(doc, list):
            return cls(list(doc))
        return cls(list(doc["messages"]), doc.get("system"), list(doc.get("tools") or doc.get("functions") or []))


def vendor_of(entry: Any) -> Vendor:
    """The vendor whose endpoint counts for the model `entry` (a ModelEntry); UsageError for any other."""
    v = PROVIDERS.get(entry.provider or "")
    if v is None:
        raise UsageError(
            f"--api: {entry.name} is served by {entry.provider or 'an unknown provider'}; tokcli knows the "
            "token-counting endpoints of Anthropic, Gemini and OpenAI models only (count locally without --api)"
        )
    return VENDORS[v]


def api_key(vendor: Vendor) -> str:
    for k in vendor.keys:
        if os.environ.get(k):
            return os.environ[k]
    raise VendorApiError(
        f"--api: no {vendor.label} API key: set {' or '.join(vendor.keys)} (or count locally without --api)"
    )


def count_tokens(entry: Any, request: Request) -> int:
    """The input tokens the vendor of `entry` counts for `request`, from its own endpoint."""
    vendor = vendor_of(entry)
    key = api_key(vendor)
    sdk = _import(vendor)
    try:
        return int(_CALLS[vendor.name](sdk, key, entry.name, request))
    except (UsageError, VendorApiError):
        raise
    except Exception as e:
        if type(e).__module__.split(".")[0] not in ("anthropic", "openai", "google", "httpx", "httpx2", "httpcore"):
            raise
        raise VendorApiError(f"--api: {vendor.label} {vendor.endpoint} for {entry.name}: {_describe(e)}") from None


def _import(vendor: Vendor) -> Any:
    import importlib

    try:
        return importlib.import_module(vendor.module)
    except ImportError:
        raise BackendMissing(f"--api needs the {vendor.label} SDK ({vendor.module}): {PIP}") from None


def _describe(e: Exception) -> str:
    status = getattr(e, "status_code", None) or getattr(e, "code", None)
    name = type(e).__name__
    if status == 429 or "RateLimit" in name:
        return "rate limited (HTTP 429); wait and retry, or use --api-auto to fall back to a local estimate"
    if status in (401, 403) or "Authentication" in name or "PermissionDenied" in name:
        return f"the key was refused (HTTP {status}); check the key's environment variable"
    if isinstance(status, int):
        msg = getattr(e, "message", None) or str(e)
        return f"HTTP {status}: {' '.join(str(msg).split())[:300]}"
    return f"no answer ({name}: {' '.join(str(e).split())[:200]}); check the network"


def _anthropic(sdk: Any, key: str, model: str, r: Request) -> int:
    client = sdk.Anthropic(api_key=key, timeout=TIMEOUT_S)
    extra: dict[str, Any] = {}
    if r.system is not None:
        extra["system"] = r.system
    if r.tools:
        extra["tools"] = r.tools
    return int(client.messages.count_tokens(model=model, messages=r.messages, **extra).input_tokens)


def _openai(sdk: Any, key: str, model: str, r: Request) -> int:
    client = sdk.OpenAI(api_key=key, timeout=TIMEOUT_S)
    extra: dict[str, Any] = {"tools": r.tools} if r.tools else {}
    messages = ([{"role": "system", "content": r.system}] if isinstance(r.system, str) else []) + r.messages
    return int(client.responses.input_tokens.count(model=model, input=messages, **extra).input_tokens)


def _gemini(sdk: Any, key: str, model: str, r: Request) -> int:
    if r.system is not None or r.tools:
        raise UsageError("--api: tokcli sends Gemini the messages' text only; this request has a system or tools")
    contents = []
    for m in r.messages:
        content = m.get("content")
        if not isinstance(content, str):
            raise UsageError("--api: tokcli sends Gemini text messages only; this one has parts (images, tools)")
        contents.append({"role": "model" if m.get("role") == "assistant" else "user", "parts": [{"text": content}]})
    options: dict[str, Any] = {"timeout": int(TIMEOUT_S * 1000)}
    if os.environ.get("GOOGLE_GEMINI_BASE_URL"):
        options["base_url"] = os.environ["GOOGLE_GEMINI_BASE_URL"]
    client = sdk.Client(api_key=key, http_options=options)
    n = client.models.count_tokens(model=model, contents=contents).total_tokens
    if n is None:
        raise VendorApiError(f"--api: Gemini countTokens for {model} answered without totalTokens")
    return int(n)


_CALLS = {"anthropic": _anthropic, "openai": _openai, "gemini": _gemini}
