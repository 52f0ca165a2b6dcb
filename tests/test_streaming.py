"""Streaming encode/count gives exactly the ids of encoding the whole text, for every tokenizer that is
streamed; a tokenizer whose pieces are not provably independent is encoded whole; sentencepiece unigram
models give each segment its own best segmentation (see tokcli.tokenizer.spm.SPM_CUT)."""

from __future__ import annotations

import pytest
from conftest import CORPORA, hf_ids, shared_corpus

import tokcli
from tokcli.files.bundled import sample_files
from tokcli.tokenizer import base
from tokcli.tokenizer.hf import CUT_SAFE_SPLITS, LLAMA3_PATTERN, HFTokenizer, _streams_exactly
from tokcli.tokenizer.patterns import SAFE_CUT

SAMPLE = "".join(p.read_text(encoding="utf-8") for p in sample_files())


def _chunks(text: str, size: int):
    return (text[i : i + size] for i in range(0, len(text), size))


@pytest.fixture(autouse=True)
def small_segments(monkeypatch):
    monkeypatch.setattr(base, "SEGMENT_CHARS", 2000)  # many cuts even in small texts


def _hf_bpe(*pre_tokenizers_) -> HFTokenizer:
    """A byte-level BPE trained with `tokenizers` on SAMPLE, behind the given pre-tokenizers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(cache_capacity=0))  # no cache: its words are never freed (tests/README.md, Memory)
    tok.pre_tokenizer = (
        pre_tokenizers_[0] if len(pre_tokenizers_) == 1 else pre_tokenizers.Sequence(list(pre_tokenizers_))
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator([SAMPLE], trainer)
    return HFTokenizer(tok, "hf-bpe")


def _byte_level(use_regex: bool) -> HFTokenizer:
    from tokenizers import pre_tokenizers

    return _hf_bpe(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=use_regex))


def _llama3_style() -> HFTokenizer:
    from tokenizers import Regex, pre_tokenizers

    return _hf_bpe(pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated"),
                   pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False))  # fmt: skip


TOKS = {
    "char": lambda: tokcli.load("char"),
    "word": lambda: tokcli.load("word"),
    "bpe": lambda: tokcli.load("bpe"),
    "ja-char": lambda: tokcli.load("ja-char"),
    "en": lambda: tokcli.load("en"),
    "cl100k_base": lambda: tokcli.load("cl100k_base"),
    "unigram": lambda: tokcli.train("unigram", [SAMPLE], vocab_size=1500),
    "bpe-spm": lambda: tokcli.train("bpe", [SAMPLE], vocab_size=1500, backend="sentencepiece"),
    "hf-byte-level-with-regex": lambda: _byte_level(use_regex=True),
    "hf-llama3-split": _llama3_style,
    "hf-byte-level-without-regex": lambda: _byte_level(use_regex=False),  # encoded whole
    "spm-dummy-prefix": None,  # built in the test: sentencepiece's defaults, encoded whole (no cut point)
    # BPE with sentencepiece's dummy prefix (as Llama 2 and Mistral v1/v3): cut, each later segment encoded
    # without the space it was cut at
    "spm-bpe-dummy-prefix": lambda: _spm_with_dummy_prefix("bpe"),
}
STREAMED = [
    "char",
    "word",
    "bpe",
    "ja-char",
    "en",
    "cl100k_base",
    "bpe-spm",
    "hf-byte-level-with-regex",
    "hf-llama3-split",
    "spm-bpe-dummy-prefix",
]


def _spm_with_dummy_prefix(model_type: str = "unigram"):
    import io

    import sentencepiece as spm

    from tokcli.tokenizer.spm import SentencePiece

    out = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(SAMPLE.splitlines()), model_writer=out, vocab_size=1500,
                                   byte_fallback=True, minloglevel=2, num_threads=1, model_type=model_type)  # fmt: skip
    tok = SentencePiece(out.getvalue(), "dummy")
    assert tok.dummy_prefix
    return tok


@pytest.mark.parametrize("name", list(TOKS))
@pytest.mark.parametrize("chunk", [1, 997, 8192])
def test_stream_equals_whole(name, chunk):
    tok = _spm_with_dummy_prefix() if TOKS[name] is None else TOKS[name]()
    text = SAMPLE * 3
    streamed = [i for seg in tok.encode_stream(_chunks(text, chunk)) for i in seg]
    assert streamed == tok.encode(text)
    assert tok.count_stream(_chunks(text, chunk)) == len(tok.encode(text))


def test_segments_reassemble_the_text_and_are_cut_where_promised():
    tok = tokcli.load("cl100k_base")
    text = SAMPLE * 5
    segs = list(tok.segments(_chunks(text, 500)))
    assert len(segs) > 5
    assert "".join(segs) == text


def test_cutting_at_fixed_sizes_would_change_the_count():
    """What `count` must not do: cutting every 100 characters adds tokens at the cuts."""
    tok = tokcli.load("cl100k_base")
    text = SAMPLE * 3
    naive = sum(tok.count(text[i : i + 100]) for i in range(0, len(text), 100))
    assert naive > tok.count(text) == tok.count_stream(_chunks(text, 100))


def test_exactly_the_tokenizers_listed_as_streamed_are_streamed():
    streamed = {name for name, make in TOKS.items() if make is not None and make().cut_pattern is not None}
    assert streamed == set(STREAMED) | {"unigram"}
    assert _spm_with_dummy_prefix().cut_pattern is None


def test_byte_level_without_its_regex_is_encoded_whole_because_cutting_would_change_the_ids():
    """ByteLevel(use_regex=False) with no Split before it leaves the whole text one piece, so BPE merges
    run across spaces and newlines: cut where a GPT-style tokenizer may be cut, the ids change."""
    tok = _byte_level(use_regex=False)
    text = SAMPLE * 3
    assert tok.cut_pattern is None
    assert list(tok.segments(_chunks(text, 997))) == [text]
    assert [i for seg in tok.encode_stream(_chunks(text, 997)) for i in seg] == tok.encode(text)
    cut = list(base.Tokenizer().segments(_chunks(text, 997)))  # where SAFE_CUT would cut
    assert len(cut) > 5
    assert [i for seg in cut for i in tok.encode(seg)] != tok.encode(text)


def _pre(*steps: dict) -> dict:
    return steps[0] if len(steps) == 1 else {"type": "Sequence", "pretokenizers": list(steps)}


_SPLIT = {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False}
_BL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
_BL_NO_REGEX = dict(_BL, use_regex=False)
_SPECIAL = {"id": 9, "content": "<|endoftext|>", "special": True, "lstrip": False, "rstrip": False}


@pytest.mark.parametrize(
    ("spec", "streams"),
    [
        ({"pre_tokenizer": _pre(_SPLIT, _BL_NO_REGEX)}, True),
        ({"pre_tokenizer": _pre(_BL)}, True),
        ({"pre_tokenizer": _pre(_BL), "added_tokens": [_SPECIAL]}, True),
        ({"pre_tokenizer": _pre(_SPLIT, {"type": "Digits", "individual_digits": True}, _BL_NO_REGEX)}, True),
        ({"pre_tokenizer": _pre(_BL_NO_REGEX)}, False),  # the whole text is one piece
        ({"pre_tokenizer": _pre(dict(_BL, add_prefix_space=True))}, False),  # a space before each segment
        ({"pre_tokenizer": _pre(_SPLIT), "normalizer": {"type": "NFC"}}, False),
        ({"pre_tokenizer": None}, False),
        ({"pre_tokenizer": _pre(dict(_SPLIT, pattern={"Regex": r"\S+\s+\S+"}))}, False),  # a regex not known safe
        ({"pre_tokenizer": _pre(dict(_SPLIT, behavior="MergedWithNext"))}, False),
        ({"pre_tokenizer": _pre(_SPLIT, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"})}, False),
        ({"pre_tokenizer": _pre(_BL), "added_tokens": [dict(_SPECIAL, rstrip=True)]}, False),  # takes the space
        ({"pre_tokenizer": _pre(_BL), "added_tokens": [dict(_SPECIAL, content="end.\nNext")]}, False),  # a cut inside
        ({"pre_tokenizer": _pre(_BL), "added_tokens": [dict(_SPECIAL, content="  ")]}, True),
    ],
)
def test_which_hf_pre_tokenizers_are_streamed(spec, streams):
    assert _streams_exactly(spec) is streams


def _shared_text(per_file: int | None = None) -> str:
    if not CORPORA.is_dir():
        pytest.skip("needs ../shared/corpora, which only the development checkout has")
    files = sorted(CORPORA.glob("*.txt")) + sorted((CORPORA / "udhr").glob("*.txt"))
    return "\n".join(p.read_text(encoding="utf-8")[:per_file] for p in files)


@pytest.mark.parametrize("pattern", sorted(CUT_SAFE_SPLITS) + ["ByteLevel"])
def test_every_split_regex_trusted_to_stream_cuts_the_shared_corpora_alike(pattern):
    """The pre-tokenizer alone: the pieces of the whole text are the pieces of its SAFE_CUT segments."""
    from tokenizers import Regex, pre_tokenizers

    if pattern == "ByteLevel":
        pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        pre = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    text = _shared_text(per_file=20_000)  # every script of the corpora, a few thousand cuts
    segments = list(base.Tokenizer().segments(_chunks(text, 4096)))
    assert len(segments) > 100

    def pieces(t: str) -> list[str]:
        return [p for p, _ in pre.pre_tokenize_str(t)]

    assert [p for seg in segments for p in pieces(seg)] == pieces(text)


@pytest.mark.slow
@pytest.mark.parametrize("name", STREAMED)
def test_stream_equals_whole_on_the_shared_corpora(name, monkeypatch, tmp_path):
    """At the sizes the CLI uses (1 MiB chunks, 256 K-character segments), on every shared corpus; the
    tokenizers that run through `tokenizers` or sentencepiece (slow) get the first 200,000 characters of
    each file. For those of `tokenizers`, the whole text's ids are its own, in a child process: a Tokenizer
    keeps ~150 bytes a character of the longest text it encoded, even once deleted (tokenizers 0.23.3)."""
    monkeypatch.setattr(base, "SEGMENT_CHARS", 1 << 18)
    text = _shared_text(per_file=200_000 if name.startswith("hf-") or "spm" in name else None)
    tok = TOKS[name]()
    assert tok.cut_pattern is not None
    if name.startswith("hf-"):
        assert tok.encode(text[:5000]) == hf_ids(tok.tok, [text[:5000]], tmp_path, in_a_child=False)[0]
        whole = hf_ids(tok.tok, [text], tmp_path, in_a_child=True)[0]
    else:
        whole = tok.encode(text)
    if name == "cl100k_base":  # counted its own way (a thread pool over tiktoken's buffers)
        assert tok.count_stream(_chunks(text, 1 << 20)) == len(whole)
    assert [i for seg in tok.encode_stream(_chunks(text, 1 << 20)) for i in seg] == whole


def test_segments_end_at_the_last_cut_point_before_segment_chars(monkeypatch):
    """A chunk much larger than SEGMENT_CHARS is cut several times: each segment ends at the last cut
    point within SEGMENT_CHARS characters, or where there is none, at the first one after."""
    import regex

    monkeypatch.setattr(base, "SEGMENT_CHARS", 3000)
    text = SAMPLE * 6
    segs = list(tokcli.load("cl100k_base").segments(_chunks(text, 1 << 20)))  # one chunk
    assert "".join(segs) == text
    assert len(segs) >= len(text) // 3000
    cut = regex.compile(SAFE_CUT)
    at = 0
    for seg, following in zip(segs, segs[1:], strict=False):
        ends = [m.start() - at for m in cut.finditer(text, at + 1, at + len(seg) + len(following))]
        assert len(seg) in ends  # a segment ends at a cut point...
        assert len(seg) == max([e for e in ends if e <= 3000], default=min(e for e in ends if e > 3000))  # ...that one
        at += len(seg)


@pytest.mark.slow
def test_unigram_streams_each_segment_to_its_own_best_and_as_good_a_segmentation(monkeypatch):
    """What SPM_CUT promises for unigram models: the streamed ids are each segment's own encoding; where
    they differ from the whole text's, the two cover the same text and score the same up to the single-
    precision rounding of sentencepiece's running score; the counts agree to a token in 100,000."""
    monkeypatch.setattr(base, "SEGMENT_CHARS", 1 << 18)
    text = shared_corpus("en_large.txt").read_text(encoding="utf-8")[:1_500_000]
    tok = TOKS["unigram"]()
    sp = tok.sp
    segments = list(tok.segments(_chunks(text, 1 << 20)))
    assert len(segments) > 4
    streamed = [i for seg in tok.encode_stream(_chunks(text, 1 << 20)) for i in seg]
    assert streamed == [i for seg in segments for i in tok.encode(seg)]
    whole = tok.encode(text)
    assert abs(len(streamed) - len(whole)) <= len(whole) // 100_000 + 1
    total = abs(sum(sp.GetScore(i) for i in whole))
    for w, s in _differences(whole, streamed, lambda i: len(tok.token_bytes(i))):
        assert tok.decode(w) == tok.decode(s)
        assert abs(sum(map(sp.GetScore, w)) - sum(map(sp.GetScore, s))) <= total * 2**-23, (w, s)


def _differences(a: list[int], b: list[int], width) -> list[tuple[list[int], list[int]]]:
    """The stretches where two segmentations of one text differ, aligned by the bytes their tokens cover."""
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            i, j = i + 1, j + 1
            continue
        i0, j0, pa, pb = i, j, width(a[i]), width(b[j])
        i, j = i + 1, j + 1
        while pa != pb:
            if pa < pb:
                pa, i = pa + width(a[i]), i + 1
            else:
                pb, j = pb + width(b[j]), j + 1
        out.append((a[i0:i], b[j0:j]))
    assert i == len(a) and j == len(b)
    return out
