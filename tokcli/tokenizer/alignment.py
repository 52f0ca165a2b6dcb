"""Aligning tokens with the text they stand for: the byte span of every token, in numpy blocks.

A token's bytes put end to end give the text's bytes back for every lossless tokenizer; where they do not
(an unknown token, a normalizer), the spans are found by searching, one mismatch at a time.

The one aligner of tokcli: analysis (metrics, why, show side by side, chunking; tokcli.analysis.alignment)
and the model's word grouping (tokcli.model.words) both call `token_offsets`, each with its own rule for a
run of tokens that are not in the text (`share`, `unk_is_gap`). It uses only the tokenizer's base verbs
(`token_bytes`, `unk_id`, and `char_aligned` where a backend has it), so the model layer may import it.

What it does not handle: a token whose bytes stand somewhere else in the text than where it was made
(a normaliser that reorders) is aligned with the nearest later occurrence, or shares a gap.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .base import Tokenizer

if TYPE_CHECKING:
    import numpy as np

# How a run of k tokens whose bytes are not in the text shares the gap they stand for, data[start:end]:
# share(data, start, end, k) -> k (start, end) byte spans, in order.
Share = Callable[[bytes, int, int, int], Sequence[tuple[int, int]]]


def offset_dtype(limit: int) -> type[np.signedinteger]:
    """int32 for offsets up to `limit` where they fit (half the memory of int64), else int64."""
    import numpy as np

    return np.int32 if limit < 2**31 else np.int64


def share_chars(data: bytes, start: int, end: int, k: int) -> list[tuple[int, int]]:
    """k spans splitting data[start:end] one UTF-8 character each, the last one taking the rest (a start
    inside a character gives the first span the rest of that character)."""
    out, pos = [], start
    for _ in range(k - 1):
        nxt = pos + 1 if pos < end else pos
        while nxt < end and (data[nxt] & 0xC0) == 0x80:
            nxt += 1
        out.append((pos, nxt))
        pos = nxt
    out.append((pos, end))
    return out


def token_offsets(
    tok: Tokenizer,
    text: str,
    ids: Sequence[int] | np.ndarray,
    *,
    share: Share = share_chars,
    unk_is_gap: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Byte starts and ends ([T] int32 each, int64 past 2 GiB) of the text each token covers.

    Exact where a token's bytes are the text at that point (every lossless tokenizer). A token whose
    bytes are not there (<unk>, or a normalised piece) is given the text up to where the bytes of the
    next token found after it appear; a run of such tokens shares that gap by `share` (by default one
    character each, the last taking the rest: `share_chars`).

    `unk_is_gap` False (analysis): the unknown token is searched by its bytes like any other (a literal
    "<unk>" in the text is its text), and a token with no bytes matches an empty span where it stands.
    `unk_is_gap` True (the model's words): the unknown token and any token with no bytes never match the
    text; they always belong to a gap.

    Token lengths and the tokens' bytes laid end to end are gathered with numpy from a table of the
    distinct ids (no Python object per token); when they are the text, that is the answer. Otherwise runs
    of matching tokens are checked a block of bytes at a time (the block doubles while the text keeps
    matching), so the Python loop runs once per mismatch, not once per token.
    """
    import numpy as np

    arr = np.asarray(ids).reshape(-1)
    if arr.dtype.kind not in "iu":
        arr = arr.astype(np.int64)
    n = len(arr)
    if not n:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    aligned = getattr(tok, "char_aligned", None)
    plain = share is share_chars and not unk_is_gap  # the rule the shortcut below is known to agree with
    if plain and n == len(text) and aligned is not None and aligned(text):
        # one token per character, and the search below would find exactly that (see HFTokenizer.char_aligned)
        off = char_byte_offsets(text)
        return off[:-1], off[1:]
    data = text.encode("utf-8")
    distinct = np.flatnonzero(np.bincount(arr))
    d_pieces = _pieces(tok, distinct.tolist())  # distinct ids only
    if unk_is_gap and tok.unk_id is not None and tok.unk_id in distinct:
        d_pieces[int(np.searchsorted(distinct, tok.unk_id))] = b""  # never found: always in a gap
    d_len = np.fromiter(map(len, d_pieces), dtype=np.int64, count=len(d_pieces))
    piece_dtype = offset_dtype(int(d_len.sum()) + 1)
    len_of = np.zeros(int(distinct[-1]) + 1, dtype=piece_dtype)
    len_of[distinct] = d_len
    where = np.zeros_like(len_of)  # each distinct piece's offset in `vocab`
    where[distinct] = np.cumsum(d_len) - d_len
    vocab = np.frombuffer(b"".join(d_pieces), dtype=np.uint8)
    lengths = len_of[arr]
    total = int(lengths.sum())
    dtype = offset_dtype(max(total, len(data)) + 1)
    cum = np.empty(n + 1, dtype=dtype)  # [T + 1] offsets into the concatenated pieces
    cum[0] = 0
    np.cumsum(lengths, out=cum[1:])
    a = _gather(vocab, where[arr], lengths, cum)  # the pieces end to end
    del lengths
    d = np.frombuffer(data, dtype=np.uint8)
    gaps = None  # with unk_is_gap, the tokens with no bytes: a run of matches stops at each
    if unk_is_gap and not d_len.all():
        gaps = np.flatnonzero(len_of[arr] == 0)
    if gaps is None and total == len(d) and np.array_equal(a, d):
        return cum[:-1], cum[1:]
    by_id = np.empty(len(len_of), dtype=object)
    by_id[distinct] = d_pieces
    pieces = by_id[arr].tolist()  # the same bytes objects, one pointer per token (no int per token)
    del by_id
    starts = np.empty(n, dtype=dtype)
    ends = np.empty(n, dtype=dtype)
    next_at: dict[bytes, int] = {}  # piece -> its first occurrence at or after the last search (-1: none left)
    pos, i, block = 0, 0, 0
    while i < n:
        if block:
            # a long run of matching tokens: find how far it goes, `block` bytes at a time
            lo = int(cum[i])
            w = min(block, len(a) - lo, len(d) - pos)
            diff = np.flatnonzero(a[lo : lo + w] != d[pos : pos + w])
            matched = int(diff[0]) if len(diff) else w
            # tokens i..k-1 lie in the match (the value in cum's own dtype: another would copy all of cum)
            k = int(np.searchsorted(cum, cum.dtype.type(lo + matched), side="right")) - 1
            whole = not len(diff) and w == block  # all matched: look further at once
            if gaps is not None and (g := int(np.searchsorted(gaps, i))) < len(gaps) and gaps[g] < k:
                k, whole = int(gaps[g]), False  # stop before the next token with no bytes
            starts[i:k] = cum[i:k] + (pos - lo)
            ends[i:k] = cum[i + 1 : k + 1] + (pos - lo)
            pos += int(cum[k]) - lo
            i = k
            block = block * 2 if whole else 0
            continue
        run = 0  # a few tokens in Python first: short runs between mismatches are common
        while i < n and run < 16 and (pieces[i] or gaps is None) and data.startswith(pieces[i], pos):
            starts[i] = pos
            pos += len(pieces[i])
            ends[i] = pos
            i += 1
            run += 1
        if run == 16:
            block = 1024
            continue
        if i == n:
            break
        # a run of tokens whose bytes are not the text here: it ends where a later token's bytes appear
        j, end = i + 1, len(data)
        while j < n:
            piece = pieces[j]
            found = next_at.get(piece, 0) if piece else -1
            if 0 <= found <= pos:  # cached from an earlier search, now behind us: search again
                found = next_at[piece] = data.find(piece, pos + 1)
            if found >= 0:
                end = found
                break
            j += 1
        for t, (s, e) in enumerate(share(data, pos, end, j - i), start=i):
            starts[t], ends[t] = s, e
        pos, i = end, j
    return starts, ends


def char_byte_offsets(text: str) -> np.ndarray:
    """[C + 1] int32 (int64 past 2 GiB): the UTF-8 byte offset of every character of `text`, then the total."""
    import numpy as np

    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    dtype = offset_dtype(4 * len(cp) + 1)
    out = np.empty(len(cp) + 1, dtype=dtype)
    out[0] = 0
    n_bytes = (cp >= 0x80).astype(dtype)
    n_bytes += cp >= 0x800
    n_bytes += cp >= 0x10000
    n_bytes += 1
    np.cumsum(n_bytes, out=out[1:])
    return out


def _pieces(tok: Tokenizer, ids: list[int]) -> list[bytes]:
    """tok.token_bytes of each id, remembered per tokenizer (a comparison aligns it on every input)."""
    try:
        known = _PIECE_CACHE.setdefault(tok, {})
    except TypeError:  # a tokenizer that cannot be weakly referenced: no cache
        known = {}
    missing = [i for i in ids if i not in known]
    known.update(zip(missing, map(tok.token_bytes, missing), strict=True))
    return [known[i] for i in ids]


_PIECE_CACHE: weakref.WeakKeyDictionary[Tokenizer, dict[int, bytes]] = weakref.WeakKeyDictionary()
_GATHER_TOKENS = 1 << 18  # tokens gathered at a time: bounds the index array _gather builds


def _gather(vocab: np.ndarray, src: np.ndarray, lengths: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """[cum[-1]] uint8: for each token t, vocab[src[t] : src[t] + lengths[t]], laid end to end."""
    import numpy as np

    out = np.empty(int(cum[-1]), dtype=np.uint8)
    for lo in range(0, len(src), _GATHER_TOKENS):
        hi = min(lo + _GATHER_TOKENS, len(src))
        b0, b1 = int(cum[lo]), int(cum[hi])
        if b1 == b0:
            continue
        # byte k of this stretch comes from vocab[src[t] + (k - (cum[t] - b0))] for the token t it falls in
        shift = src[lo:hi] - (cum[lo:hi].astype(np.int64) - b0)
        out[b0:b1] = vocab[np.repeat(shift, lengths[lo:hi]) + np.arange(b1 - b0)]
    return out


def token_spans(tok: Tokenizer, text: str, ids: Sequence[int]) -> list[tuple[int, int]]:
    """The byte span of the text each token covers (see token_offsets)."""
    starts, ends = token_offsets(tok, text, ids)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))
