"""Every pre-tokenizer regex and shared constant, in one leaf module that imports nothing of tokcli.

The kinds (char, word, bpe), the HF loader that recognises them and the fast paths all read these;
keeping them here is what lets those modules import each other in one direction only.
"""

from __future__ import annotations

from typing import Any

DEFAULT_TOKENIZER = "cl100k_base"  # the default of every command: an OpenAI encoding that works with no network

UNK = "<unk>"  # the unknown token of the char and word tokenizers (id 0)

# char: every code point on its own (HF's `.` skips nothing, but be explicit)
CHAR_PATTERN = r"[\s\S]"

# word: a Unicode-aware split into words, numbers, punctuation and whitespace (see tokenizer/word.py)
_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}ー"
WORD_PATTERN = (
    r"'(?:s|t|re|ve|m|ll|d)"  # English contractions
    r"|\p{Han}+|\p{Hiragana}+|[\p{Katakana}ー]+"  # CJK: one run per script
    rf"| ?[^\s\p{{N}}\p{{P}}\p{{S}}\p{{C}}{_CJK}]+"  # letters and marks, with one leading space
    r"| ?\p{N}+"  # numbers
    r"| ?[^\s\p{L}\p{N}\p{M}]"  # any other single character: punctuation, symbol, emoji
    r"|\s+(?!\S)|\s+"  # whitespace, leaving one space for the next word
)

# bpe: GPT-4o's (o200k_base) pre-tokenization regex
GPT_PATTERN = "|".join(
    [
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
        r"\p{N}{1,3}",
        r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
        r"\s*[\r\n]+",
        r"\s+(?!\S)",
        r"\s+",
    ]
)

# Where a GPT-style pre-tokenizer always starts a new piece, whatever surrounds the cut:
#   after a single newline that follows a non-space, before a non-space ("word.\nNext"), and
#   between a non-space and " letter" ("word Next" -> "word" | " Next").
# A cut after a *run* of newlines is not safe: GPT-2's `\s+(?!\S)` splits "\n\nX" as "\n","\n" in the
# whole text but keeps "\n\n" together at the end of a piece. Tests check the equality on real corpora.
SAFE_CUT = r"(?<=\S\n)(?=\S)|(?<=\S)(?= \p{L})"


# Llama 3's and Llama 4's pre-tokenizer patterns, copied from llama_models/llama3/tokenizer.py (pat_str) and
# llama_models/llama4/tokenizer.py (O200K_PATTERN), llama-models 0.3.0 (tokcli.tokenizer.vendors uses them)
LLAMA3_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"  # noqa: E501
LLAMA4_PATTERN = r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"""  # noqa: E501


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map of the 256 bytes to printable characters, as used by ByteLevel pre-tokenizers."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


BYTE_DECODER = {c: b for b, c in bytes_to_unicode().items()}


# -- reading the pre_tokenizer / decoder nodes of a parsed tokenizer.json ---------------------------
def has_type(node: Any, type_name: str) -> bool:
    """Whether a pre_tokenizer/decoder node (or a Sequence of them) contains `type_name`."""
    if not isinstance(node, dict):
        return False
    if node.get("type") == type_name:
        return True
    return any(has_type(n, type_name) for key in ("pretokenizers", "decoders") for n in node.get(key) or [])


def split_patterns(node: Any) -> list[str]:
    """The regexes of every Split pre-tokenizer in `node`, in order."""
    if not isinstance(node, dict):
        return []
    found = []
    if node.get("type") == "Split":
        pat = node.get("pattern", {})
        found.append(pat.get("Regex") or pat.get("String") or "")
    for n in node.get("pretokenizers") or []:
        found.extend(split_patterns(n))
    return found
