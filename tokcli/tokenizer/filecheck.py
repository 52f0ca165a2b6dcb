"""Checks of a tokenizer file's content before `tokenizers` or sentencepiece sees it.

Those libraries trust their files: an id of 4,000,000,000 makes `tokenizers` allocate 8 GB and abort, a
Replace normalizer that writes 10,000 characters for one grows the text 10,000-fold, a Split regex with
nested repetition (`(a+)+$`) backtracks until Oniguruma's retry limit panics, a WordLevel model whose
unknown token is not in its vocabulary fails on the first unknown word, and ten million entries take
gigabytes. Each is refused here as a TokenizerFileError (exit 2) naming the file and the fix:

- entries: at most TOKCLI_MAX_VOCAB_ENTRIES (default 1,048,576) vocabulary entries, and as many merges;
  the largest real vocabularies have ~260,000 (Gemma 3) to ~900,000 (XLM-V), and `tokenizers` needs about
  300 bytes of memory per entry. A tokenizer.json is counted from its bytes before it is parsed.
- ids: every id (vocabulary, added tokens, unk_id) an integer from 0 to below twice the number of
  entries plus 1,024 (gaps are allowed, a table of billions is not).
- normalizers and decoders: the Replace steps together may make a text at most
  TOKCLI_MAX_EXPANSION (default 16) times longer (a Regex pattern counts as matching one character).
- regexes: a pattern check, not a time bound. A group holding an unbounded repetition (`+`, `*`,
  `{n,}`) that is itself repeated without bound (`(a+)+`, `(?:\\s*x*)*`) is refused; real
  pre-tokenizer patterns have none. Other slow patterns reach Oniguruma's retry limit, whose panic the
  CLI reports as one `error:` line (exit 2).
- unknown tokens: a WordLevel, WordPiece or BPE model's `unk_token` must be in its vocabulary, a Unigram
  model's `unk_id` inside it.
"""

from __future__ import annotations

import re
from typing import Any

from tokcli.errors import TokenizerFileError, limit_from_env

ENTRIES_ENV = "TOKCLI_MAX_VOCAB_ENTRIES"
DEFAULT_MAX_ENTRIES = 1 << 20
EXPANSION_ENV = "TOKCLI_MAX_EXPANSION"
DEFAULT_MAX_EXPANSION = 16
ID_SLACK = 1024

_UNBOUNDED = re.compile(r"\{\s*\d*\s*,\s*\}")  # {n,} {,}
_BRACE = re.compile(r"\{\s*\d*\s*(,\s*\d*\s*)?\}")


def max_entries() -> int:
    return limit_from_env(ENTRIES_ENV, DEFAULT_MAX_ENTRIES, "entries")


def max_expansion() -> int:
    return limit_from_env(EXPANSION_ENV, DEFAULT_MAX_EXPANSION, "times")


def _refuse(source: str, what: str) -> TokenizerFileError:
    return TokenizerFileError(f"{source}: {what}")


def _too_many(source: str, count: str, limit: int) -> TokenizerFileError:
    return _refuse(
        source,
        f"{count} vocabulary entries are more than the {limit:,} tokcli loads ({ENTRIES_ENV}; real "
        f"vocabularies have at most ~900,000, and each entry takes ~300 bytes of memory); if you trust the "
        f"file, raise the limit: {ENTRIES_ENV}=N",
    )


def precount_json(data: bytes, source: str) -> None:
    """Refuse a tokenizer.json with far too many entries before parsing it (Python's parse of a vocabulary
    takes ~170 bytes an entry): every vocabulary entry and merge holds a `":` or a `",`."""
    limit = max_entries()
    rough = data.count(b'":') + data.count(b'",')
    if rough > 3 * limit + 100_000:  # vocab + merges + added tokens and settings, with room to spare
        raise _too_many(source, f"about {rough:,}", limit)


def check_json(spec: Any, source: str) -> None:
    """Check a parsed tokenizer.json (see the module docstring); anything not understood here is left to
    `tokenizers`, whose own errors are reported."""
    if not isinstance(spec, dict):
        return
    model = spec.get("model")
    raw_added = spec.get("added_tokens")
    added: list[Any] = raw_added if isinstance(raw_added, list) else []
    if isinstance(model, dict):
        _check_model(model, added, source)
    for key in ("normalizer", "decoder"):
        if (ratio := _expansion(spec.get(key))) > (most := max_expansion()):
            raise _refuse(
                source,
                f"its {key}'s Replace steps make a text up to {ratio:,.0f} times longer, more than the {most} "
                f"tokcli allows ({EXPANSION_ENV}); fix the Replace content, or raise the limit if you trust the file",
            )
    for pattern in _regexes(spec):
        if _nested_repetition(pattern):
            shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
            raise _refuse(
                source,
                f"the regex {shown!r} repeats a group that itself repeats without bound (like `(a+)+`), which "
                "can take forever on some text; rewrite it without the nested repetition (`a+` for `(a+)+`)",
            )


def _check_model(model: dict[str, Any], added: list[Any], source: str) -> None:
    kind = model.get("type")
    vocab = model.get("vocab")
    limit = max_entries()
    size = len(vocab) if isinstance(vocab, dict | list) else 0
    if size > limit:
        raise _too_many(source, f"{size:,}", limit)
    merges = model.get("merges")
    if isinstance(merges, list) and len(merges) > limit:
        raise _refuse(source, f"{len(merges):,} merges are more than the {limit:,} tokcli loads ({ENTRIES_ENV})")
    bound = 2 * (size + len(added)) + ID_SLACK
    ids: list[tuple[str, Any]] = []
    if isinstance(vocab, dict):
        ids += [(f"token {tok!r}", i) for tok, i in vocab.items()]
    ids += [(f"added token {t.get('content')!r}", t.get("id")) for t in added if isinstance(t, dict)]
    for what, i in ids:
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < bound:
            raise _refuse(
                source,
                f"{what} has id {i!r}, outside 0..{bound - 1} for {size + len(added):,} tokens (ids must be "
                "numbered from 0 with few gaps); fix the id in the file",
            )
    unk = model.get("unk_token")
    if kind in ("WordLevel", "WordPiece") or (kind == "BPE" and unk is not None):
        if not isinstance(vocab, dict) or unk not in vocab:
            raise _refuse(
                source,
                f"its {kind} model's unknown token {unk!r} is not in its vocabulary, so any word outside it "
                "would fail; add the token to the vocabulary or set unk_token to one that is",
            )
    if kind == "Unigram" and (unk_id := model.get("unk_id")) is not None:
        if not isinstance(unk_id, int) or isinstance(unk_id, bool) or not 0 <= unk_id < size:
            raise _refuse(source, f"its Unigram unk_id {unk_id!r} is outside its {size:,}-entry vocabulary; fix unk_id")


def _steps(node: Any) -> list[dict[str, Any]]:
    """The steps of a normalizer, decoder or pre-tokenizer, Sequences flattened."""
    if not isinstance(node, dict):
        return []
    inner = node.get("normalizers") or node.get("decoders") or node.get("pretokenizers")
    if node.get("type") == "Sequence" and isinstance(inner, list):
        return [s for n in inner for s in _steps(n)]
    return [node]


def _expansion(node: Any) -> float:
    """How many times longer the Replace steps of `node` can make a text, at most (their product)."""
    ratio = 1.0
    for step in _steps(node):
        if step.get("type") != "Replace":
            continue
        content, pattern = step.get("content"), step.get("pattern")
        if not isinstance(content, str) or not isinstance(pattern, dict):
            continue
        matched = pattern.get("String")
        width = len(matched) if isinstance(matched, str) else 1  # a Regex: one character, the worst case
        ratio *= max(1.0, len(content) / max(1, width))
    return ratio


def _regexes(node: Any) -> list[str]:
    """Every {"Regex": pattern} anywhere in the file but the model (Split, Replace)."""
    found: list[str] = []
    stack = [v for k, v in node.items() if k != "model"] if isinstance(node, dict) else []
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            if isinstance(r := n.get("Regex"), str):
                found.append(r)
            stack += n.values()
        elif isinstance(n, list):
            stack += n
    return found


def _nested_repetition(pattern: str) -> bool:
    """Whether `pattern` repeats without bound a group that holds an unbounded repetition: `(a+)+`,
    `(?:x*y)*`, `(a{2,})+`. Escapes, \\p{..} and character classes are skipped; a +, ? after a quantifier
    is a modifier (lazy, possessive), not a repetition."""
    inner = [False]  # per open group: whether it holds an unbounded repetition
    last_group: bool | None = None  # the atom before a quantifier: a group (and what it held) or not
    after_quantifier = False
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c in "*+?{" and not after_quantifier:
            m = _BRACE.match(pattern, i) if c == "{" else None
            if c == "{" and m is None:  # a literal brace
                last_group, after_quantifier, i = None, False, i + 1
                continue
            unbounded = c in "*+" or (m is not None and _UNBOUNDED.fullmatch(m.group()) is not None)
            if unbounded:
                if last_group:
                    return True
                inner[-1] = True
            i = m.end() if m else i + 1
            after_quantifier, last_group = True, None
            continue
        after_quantifier = False
        if c in "*+?":  # a modifier of the quantifier before it
            i += 1
            continue
        last_group = None
        if c == "\\":
            i += 2
            if pattern[i - 1 : i] in ("p", "P", "x", "k", "g") and pattern[i : i + 1] in ("{", "<"):
                close = pattern.find("}" if pattern[i] == "{" else ">", i)
                i = n if close < 0 else close + 1
        elif c == "[":
            i = _class_end(pattern, i)
        elif c == "(":
            inner.append(False)
            i += 1
        elif c == ")":
            held = inner.pop() if len(inner) > 1 else False
            inner[-1] = inner[-1] or held
            last_group = held
            i += 1
        else:
            i += 1
    return False


def _class_end(pattern: str, i: int) -> int:
    """The index after the character class that starts at pattern[i] == "[" (nested classes allowed)."""
    depth, i, n = 0, i, len(pattern)
    first = True
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            first = False
            continue
        if c == "[" and (first or depth):
            depth += 1
            i += 1
            if pattern[i : i + 1] == "^":
                i += 1
            if pattern[i : i + 1] == "]":  # a ] right after [ or [^ is a literal
                i += 1
            first = False
            continue
        if c == "]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def check_sentencepiece(data: bytes, source: str) -> None:
    """Count a .model file's pieces (ModelProto field 1) from its protobuf framing, stopping past the limit,
    before sentencepiece parses it. Anything else malformed is left to sentencepiece's own check."""
    limit = max_entries()
    pos, n, count = 0, len(data), 0
    while pos < n:
        tag, pos = _varint(data, pos)
        if tag is None:
            return
        wire = tag & 7
        if wire == 2:
            length, pos = _varint(data, pos)
            if length is None:
                return
            pos += length
        elif wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            return
        if tag >> 3 == 1:
            count += 1
            if count > limit:
                raise _too_many(source, f"more than {limit:,}", limit)


def sentencepiece_model_type(data: bytes) -> int:
    """TrainerSpec.model_type of a .model file (ModelProto field 2, its field 3): 1 unigram (also when
    absent, the default), 2 BPE, 3 word, 4 char; read from the protobuf framing (no protobuf package)."""
    spec = _field(data, 2, wire_type=2)
    kind = _field(spec, 3, wire_type=0) if isinstance(spec, bytes) else None
    return kind if isinstance(kind, int) else 1


def _field(data: bytes, number: int, *, wire_type: int) -> bytes | int | None:
    """The first field `number` of a protobuf message: bytes (length-delimited) or an int (varint)."""
    pos, n = 0, len(data)
    while pos < n:
        tag, pos = _varint(data, pos)
        if tag is None:
            return None
        wire = tag & 7
        if wire == 2:
            length, pos = _varint(data, pos)
            if length is None:
                return None
            if tag >> 3 == number and wire_type == 2:
                return data[pos : pos + length]
            pos += length
        elif wire == 0:
            value, pos = _varint(data, pos)
            if tag >> 3 == number and wire_type == 0:
                return value
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            return None
    return None


def _varint(data: bytes, pos: int) -> tuple[int | None, int]:
    value, shift = 0, 0
    while pos < len(data) and shift < 64:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7
    return None, pos
