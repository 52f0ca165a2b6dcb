"""A fast path for tokcli's own byte-level BPE: the same vocabulary run through tiktoken's core.

A tokenizer.json that `tokcli train bpe` writes (BPE model, Split(GPT_PATTERN) then ByteLevel without
its regex, no normalizer, no added tokens) encodes to the same ids under tiktoken's algorithm, which is
about 3-4x faster than `tokenizers`: tiktoken merges the adjacent pair whose joined bytes have the
lowest rank, HF the adjacent pair with the lowest merge rank; the two agree when every token's id is its
rank (256 byte tokens first, then one token per merge, in merge order) and no token can be reached by a
different split of the same bytes earlier than by its own merge. `fast_encoding` checks both and returns
None when either fails (the caller then keeps HF); the tests compare the ids on real corpora.

Not handled: dropout, unknown tokens, byte fallback, continuing-subword prefixes or end-of-word
suffixes, added/special tokens: any of these sends the tokenizer back to HF.
"""

from __future__ import annotations

from typing import Any

from .patterns import BYTE_DECODER, GPT_PATTERN, split_patterns

_PLAIN_MODEL = {
    "dropout": None,
    "unk_token": None,
    "continuing_subword_prefix": None,
    "end_of_word_suffix": None,
    "byte_fallback": False,
}


def fast_encoding(tok: Any, spec: dict[str, Any], name: str) -> Any | None:
    """A `tiktoken.Encoding` giving exactly the ids of HF tokenizer `tok` (whose parsed JSON is `spec`), or None."""
    model = spec.get("model") or {}
    if model.get("type") != "BPE" or spec.get("normalizer") is not None or spec.get("added_tokens"):
        return None
    if any(model.get(k, v) not in (v, "", False) for k, v in _PLAIN_MODEL.items()):
        return None
    if spec.get("post_processor") is not None or split_patterns(spec.get("pre_tokenizer")) != [GPT_PATTERN]:
        return None
    pre = spec["pre_tokenizer"].get("pretokenizers") or []
    if len(pre) != 2 or pre[1].get("type") != "ByteLevel" or pre[1].get("use_regex", True):
        return None
    if pre[1].get("add_prefix_space") or pre[0].get("behavior") != "Isolated" or pre[0].get("invert"):
        return None
    if (spec.get("decoder") or {}).get("type") != "ByteLevel":
        return None

    vocab: dict[str, int] = model.get("vocab") or {}
    merges = [m.split(" ", 1) if isinstance(m, str) else m for m in model.get("merges") or []]
    try:
        ranks = {bytes(BYTE_DECODER[c] for c in s): i for s, i in vocab.items()}
    except KeyError:  # a character that is not one of ByteLevel's 256
        return None
    if len(ranks) != len(vocab) or sorted(vocab.values()) != list(range(len(vocab))):
        return None
    singles = [b for b in ranks if len(b) == 1]
    if len(singles) != 256 or any(ranks[b] >= 256 for b in singles):
        return None
    # rank == id: merge i makes token 256 + i, from two tokens that exist before it
    if len(merges) != len(vocab) - 256:
        return None
    for i, pair in enumerate(merges):
        if len(pair) != 2:
            return None
        a, b = pair
        ia, ib, im = vocab.get(a), vocab.get(b), vocab.get(a + b)
        if ia is None or ib is None or im != 256 + i or ia >= im or ib >= im:
            return None

    import tiktoken

    enc = tiktoken.Encoding(name, pat_str=GPT_PATTERN, mergeable_ranks=ranks, special_tokens={})
    # no token is reached by a different split of its bytes: both encode every token's bytes alike.
    # encode_single_piece is private to tiktoken's core; where it is missing, the public encode_single_token
    # gives the same answer (tiktoken encodes a piece that is a whole token as that token).
    single_piece = getattr(getattr(enc, "_core_bpe", None), "encode_single_piece", None)
    if single_piece is None:
        single_piece = lambda piece: [enc.encode_single_token(piece)]  # noqa: E731
    hf_model = tok.model
    for s, i in vocab.items():
        if i >= 256 and single_piece(bytes(BYTE_DECODER[c] for c in s)) != [t.id for t in hf_model.tokenize(s)]:
            return None
    return enc
