"""`count --api` / `--api-auto`: the vendor's own count of each input (tokcli.budget.api), the only
command that touches the network, and only when asked."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from tokcli.errors import BackendMissing, UsageError, VendorApiError

MAX_INPUT_BYTES = 64 * 1024 * 1024  # an input larger than this is not sent (no vendor takes it)


def count_api(
    inputs: list[str], models: Sequence[str], *, chat: bool, auto: bool, fmt: str, errors: str,
    refused: dict[str, object] | None = None,
) -> None:  # fmt: skip
    """Each input (or conversation, with --chat) counted by the vendor of each -m model; with `auto`, a failed
    call is a warning and the local estimate (marked ~) instead of an error. `refused`: options given that
    do not go with --api."""
    for name, value in (refused or {}).items():
        if value:
            raise UsageError(f"--{name} does not go with --api: the vendor counts for the -m model")
    if fmt not in ("text", "table", "json"):
        raise UsageError(f"--format {fmt} does not go with --api: give text or json")
    from tokcli.budget.api import Request, count_tokens, vendor_of
    from tokcli.budget.models import get_model
    from tokcli.output import warn
    from tokcli.output.api import ApiCount, api_counts

    from .inputs import check_inputs

    if not models:
        raise UsageError("--api asks the model's vendor to count: give -m MODEL (e.g. -m claude-sonnet-4-5)")
    check_inputs(inputs, "--api")
    entries = [get_model(m) for m in models]
    for e in entries:
        vendor_of(e)  # refused before anything is read or sent
    items = list(_items(inputs, chat, errors))
    rows: list[ApiCount] = []
    failed: dict[str, str] = {}
    for label, payload in items:
        request = Request.chat(payload.raw) if chat else Request.text(payload)
        for e in entries:
            if e.name not in failed:
                try:
                    rows.append(ApiCount(label, e.name, count_tokens(e, request), True, "api"))
                    continue
                except (VendorApiError, BackendMissing) as err:
                    if not auto:
                        raise
                    failed[e.name] = str(err)
                    warn(f"{err}; counted locally with {e.counting_tokenizer} instead (an estimate, ~)")
            rows.append(ApiCount(label, e.name, _local(e, payload, chat), False, e.counting_tokenizer))
    api_counts(rows, fmt=fmt)


def _items(inputs: list[str], chat: bool, errors: str) -> Iterator[tuple[str, Any]]:
    """(label, text) of each input, or (label, conversation) of each conversation with --chat."""
    if chat:
        from tokcli.budget.conversations import read_conversations

        for path in inputs:
            for conv in read_conversations(path, errors=errors):
                yield conv.label, conv
        return
    import sys

    from tokcli.files.opening import open_file

    for path in inputs:
        f = sys.stdin.buffer if path == "-" else open_file(path, directory="a file")
        try:
            data = f.read(MAX_INPUT_BYTES + 1)
        finally:
            if path != "-":
                f.close()
        label = "<stdin>" if path == "-" else path
        if len(data) > MAX_INPUT_BYTES:
            raise UsageError(f"{label}: over {MAX_INPUT_BYTES // 2**20} MiB; --api sends an input whole: split it")
        try:
            yield label, data.decode("utf-8", errors=errors)
        except UnicodeDecodeError as e:
            from tokcli.errors import InputError

            raise InputError(
                f"{label}: not valid UTF-8 at byte {e.start}; convert it, or give --errors replace"
            ) from None


def _local(entry: Any, payload: Any, chat: bool) -> int:
    """The local estimate: the model's counting tokenizer (with the chat overhead for a conversation)."""
    from tokcli import load

    tok = load(entry.counting_tokenizer)
    if chat:
        from tokcli.budget.chat import count_conversation, overhead_for

        return count_conversation(payload, [(tok, overhead_for(tok, entry))]).tokens[tok.name]
    return int(tok.count_stream([payload]))
