"""tokcli's char tokenizer through a numpy lookup table gives exactly the ids `tokenizers` gives."""

from __future__ import annotations

import json

import pytest
from test_fastbpe import EXTRA, _shared

from tokcli.files.bundled import sample_files
from tokcli.tokenizer.char import train_char
from tokcli.tokenizer.hf import HFTokenizer
from tokcli.tokenizer.registry import load

MORE = ["\x00nul \U0010ffff max \ud7ff \ue000 private", "\u2028\u2029\x85 separators", "z" * 1000]


def _texts() -> list[tuple[str, str]]:
    out = [(p.name, p.read_text(encoding="utf-8")) for p in sample_files()]
    return out + [(f"extra{i}", t) for i, t in enumerate(EXTRA + MORE)]


def _check(tok: HFTokenizer, texts: list[tuple[str, str]]) -> None:
    assert tok._fast is not None
    for name, text in texts:
        want = tok.tok.encode(text, add_special_tokens=False).ids
        assert tok.encode(text) == want, name
    batch = [t for _, t in texts]
    assert tok.encode_batch(batch) == [e.ids for e in tok.tok.encode_batch(batch, add_special_tokens=False)]


@pytest.mark.parametrize("name", ["char", "ja-char"])
def test_bundled_char_tokenizers_match_hf(name) -> None:
    _check(load(name), _texts())  # English samples under ja-char: mostly <unk>, which must agree too


def test_trained_char_matches_hf_including_unknown_characters() -> None:
    texts = _texts()
    tok = train_char([t for _, t in texts[:2]], vocab_size=40)  # most characters of the rest are unknown
    _check(tok, texts)


def test_matches_hf_on_shared_corpora() -> None:
    texts = [(name, text[:200_000]) for name, text in _shared()]  # every file's scripts; tokenizers is slow here
    if not texts:
        pytest.skip("needs ../shared/corpora, which only the development checkout has")
    for name in ("char", "ja-char"):
        _check(load(name), texts)


@pytest.mark.parametrize("name", ["char", "ja-char", "trained"])
def test_short_texts_take_a_dict_and_long_ones_the_table_with_the_same_ids(name, monkeypatch) -> None:
    """A text under fastchar.SMALL characters is looked up in a dict (no numpy import), a longer one in the
    numpy table: both give `tokenizers`' ids and the same unknown characters, on every text either way."""
    from tokcli.tokenizer import fastchar

    texts = _texts() + [(n, t[:50_000]) for n, t in _shared()]
    joined = "".join(t for _, t in _texts())
    texts.append(("samples-joined", (joined * (fastchar.SMALL // len(joined) + 2))[: 2 * fastchar.SMALL]))
    texts.append(("unk-as-text", "<unk> <<unk>> 吾輩<unk>は \ud800 lone surrogate"))
    tok = train_char([t for _, t in texts[:2]], vocab_size=40) if name == "trained" else load(name)
    fast = tok._fast
    assert isinstance(fast, fastchar.CharTable)
    assert any(len(t) < fastchar.SMALL for _, t in texts) and any(len(t) >= fastchar.SMALL for _, t in texts)
    results = {}
    for small in (0, 1 << 30):  # everything through the table, then everything through the dict
        monkeypatch.setattr(fastchar, "SMALL", small)
        results[small] = [(fast.encode_ordinary(t), fast.unknown_pieces(t)) for _, t in texts]
    assert results[0] == results[1 << 30]
    for (name_, text), (ids, unknown) in zip(texts, results[0], strict=True):
        if "\ud800" not in text:  # tokenizers takes no lone surrogate
            assert ids == tok.tok.encode(text, add_special_tokens=False).ids, name_
        assert unknown == [c for c, i in zip(text, ids, strict=True) if i == fast.unk_id]
    assert any(unknown for _, unknown in results[0])


def test_a_short_char_count_does_not_import_numpy(tmp_path) -> None:
    """`tokcli count -t char` on a small file is start-up bound: it must not pay for importing numpy."""
    import subprocess
    import sys

    f = tmp_path / "small.txt"
    f.write_text("A small file, with a few words and ü.\n", encoding="utf-8")
    code = (
        "import sys; from tokcli.cli import main\n"
        "try:\n    main(['count', '-t', 'char', sys.argv[1]])\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "print('numpy' in sys.modules, file=sys.stderr)"
    )
    r = subprocess.run([sys.executable, "-c", code, str(f)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "38"
    assert r.stderr.strip().splitlines()[-1] == "False"


def test_other_structures_keep_hf() -> None:
    tok = train_char(["abc"])
    spec = json.loads(tok.tok.to_str())
    spec["pre_tokenizer"]["pattern"]["Regex"] = r"\S+|\s+"  # not one piece per code point
    from tokenizers import Tokenizer

    other = HFTokenizer(Tokenizer.from_str(json.dumps(spec)), "other", kind="char")
    assert other._fast is None
    assert other.encode("ab c") == other.tok.encode("ab c", add_special_tokens=False).ids


def _generic_offsets(tok, text, ids, monkeypatch):
    """token_offsets by searching the tokens' bytes in the text (the path every other tokenizer takes)."""
    from tokcli.analysis.alignment import token_offsets

    with monkeypatch.context() as m:
        m.setattr(HFTokenizer, "char_aligned", lambda self, text: False)
        return token_offsets(tok, text, ids)


@pytest.mark.parametrize("name", ["char", "ja-char", "trained"])
def test_decode_and_alignment_fast_paths_equal_the_general_ones(name, monkeypatch) -> None:
    """The char tokenizer's decode (joining the tokens' strings) equals `tokenizers`' decode, and its
    one-token-per-character alignment equals aligning by searching the tokens' bytes, on every shared corpus
    (Japanese, code, UDHR) and on texts full of unknown characters, "<unk>" written out included."""
    import numpy as np

    from tokcli.analysis.alignment import token_offsets

    texts = [t for _, t in _texts() + [(n, t[:100_000]) for n, t in _shared()]]
    texts += ["<unk> <<unk>> 吾輩<unk>は", "<" * 50 + "ü" * 10]
    tok = train_char(texts[:2], vocab_size=40) if name == "trained" else load(name)
    assert tok._fused is not None
    assert load("char").char_aligned("吾輩 abc") and load("ja-char").char_aligned("吾輩 abc")
    aligned = 0
    seen_unk = False
    for text in texts:
        ids = tok.encode(text)
        seen_unk |= tok.unk_id in ids
        assert tok.decode(ids) == tok.tok.decode(ids, skip_special_tokens=False)
        if tok.char_aligned(text):
            aligned += 1
            fast = token_offsets(tok, text, np.asarray(ids))
            slow = _generic_offsets(tok, text, np.asarray(ids), monkeypatch)
            assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])
    assert seen_unk
    assert aligned >= len(texts) - 2  # all but the texts with "<unk>" written out, where "<" is unknown
    assert tok.decode([]) == ""
    assert tok.decode([tok.vocab_size + 5]) == tok.tok.decode([tok.vocab_size + 5], skip_special_tokens=False)


def test_no_char_alignment_where_the_unknown_token_could_be_found_in_the_text() -> None:
    """A vocabulary without "<": an unknown "<" in front of "unk>" reads as the unknown token's own string to
    the byte search, so the one-token-per-character shortcut is taken only for texts without "<unk>"."""
    tok = train_char(["unk> abc"], vocab_size=40)
    assert tok.tok.token_to_id("<") is None
    assert tok.char_aligned("abc <> unk")
    assert not tok.char_aligned("abc <unk> def")
