"""One special-tokens policy for every backend (issue 12 item 4).

Default: a special token's string in the input is ordinary text (several tokens, decoding back to it) and
nothing is added. `with_special("allow")` / `--special allow`: the string is the one special token it
names. `with_special(add_special=True)` / `--add-special`: the model's BOS/EOS once around each input.
"""

from __future__ import annotations

import json

import pytest

import tokcli.tokenizer.base as base
from tokcli import load
from tokcli.errors import UsageError
from tokcli.files.bundled import sample_files
from tokcli.tokenizer import Tokenizer

SAMPLE = "".join(p.read_text(encoding="utf-8") for p in sample_files())

EOT = "<|endoftext|>"
JA = "日本語のテキスト"


def _check_text_default(tok: Tokenizer, special: str) -> list[int]:
    """The default reads `special` as text: more than one token, no special id, decodes back."""
    text = f"{JA}{special}です"
    ids = tok.encode(text)
    sid = tok.special_tokens().get(special)
    assert len(ids) > 2
    assert sid is None or sid not in ids
    assert tok.decode(ids) == text
    assert tok.count(text) == len(ids)
    assert list(tok.encode_stream([text])) and sum(tok.encode_stream([text]), []) == ids
    assert tok.count_stream([text]) == len(ids)
    return ids


def _check_allow(tok: Tokenizer, special: str, sid: int) -> None:
    """`allow` gives exactly the special token's one id for it, the text around it as before."""
    allow = tok.with_special("allow")
    assert allow.encode(special) == [sid]
    text = f"{JA}{special}です"
    assert allow.encode(text) == tok.encode(JA) + [sid] + tok.encode("です")
    assert allow.encode(text).count(sid) == 1
    assert allow.count_stream([text]) == len(allow.encode(text))
    assert tok.special_tokens()[special] == sid


# -- the backends ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hf_path(tmp_path_factory):
    """A byte-level BPE tokenizer.json with added special tokens and a post-processor adding <s> ... </s>."""
    from tokenizers import Tokenizer as Tok
    from tokenizers import decoders, models, pre_tokenizers, processors, trainers

    tok = Tok(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=[EOT, "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([SAMPLE], trainer)
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    plain = tmp_path_factory.mktemp("hf") / "plain.json"
    tok.save(str(plain))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    path = plain.parent / "tokenizer.json"
    tok.save(str(path))
    return path


def test_tiktoken_cl100k():
    tok = load("cl100k_base")
    _check_text_default(tok, EOT)
    _check_allow(tok, EOT, 100257)
    assert tok.with_special(add_special=True).encode(JA) == tok.encode(JA)  # OpenAI's encodings add nothing
    assert tok.with_special("allow", add_special=True).encode(EOT) == [100257]


def test_splintr_o200k(tmp_path, monkeypatch):
    """o200k_base from splintr's embedded vocabulary (no tiktoken file cached: an empty cache folder)."""
    pytest.importorskip("splintr")
    from tokcli.tokenizer.registry import _load

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    _load.cache_clear()
    try:
        tok = load("o200k_base")
    finally:
        _load.cache_clear()  # later tests load o200k_base from their own cache
    assert tok.engine == "splintr"
    ids = _check_text_default(tok, EOT)
    _check_allow(tok, EOT, 199999)
    assert tok.with_special(add_special=True).encode(f"{JA}{EOT}です") == ids


def test_hf_added_special_token(hf_path):
    tok = load(str(hf_path))
    eot, bos, eos = (tok.tok.token_to_id(s) for s in (EOT, "<s>", "</s>"))
    for s, sid in ((EOT, eot), ("<s>", bos), ("</s>", eos)):
        _check_text_default(tok, s)
        _check_allow(tok, s, sid)
    body = tok.encode(JA)
    assert tok.with_special(add_special=True).encode(JA) == [bos, *body, eos]
    assert tok.with_special(add_special=True).count_stream([JA[:3], JA[3:]]) == len(body) + 2
    assert sum(tok.with_special(add_special=True).encode_stream([JA]), []) == [bos, *body, eos]


def test_hf_without_post_processor_adds_nothing(hf_path):
    tok = load(str(hf_path.parent / "plain.json"))
    assert tok.added_around() == ([], [])
    assert tok.with_special(add_special=True).encode(JA) == tok.encode(JA)


def test_bundled_bpe_has_no_special_tokens():
    tok = load("bpe")
    ids = _check_text_default(tok, EOT)
    assert tok.special_tokens() == {}
    assert tok.with_special("allow").encode(f"{JA}{EOT}です") == ids  # nothing to allow: still text
    assert tok.with_special(add_special=True).encode(JA) == tok.encode(JA)


@pytest.fixture(scope="module")
def unigram():
    import tokcli

    return tokcli.train("unigram", [SAMPLE], vocab_size=1500)


def test_sentencepiece_unigram(unigram):
    tok = unigram
    bos, eos, unk = tok.sp.bos_id(), tok.sp.eos_id(), tok.sp.unk_id()
    assert tok.special_tokens() == {"<s>": bos, "</s>": eos, "<unk>": unk}
    for s, sid in (("<s>", bos), ("</s>", eos), ("<unk>", unk)):
        _check_text_default(tok, s)
        _check_allow(tok, s, sid)
    assert tok.with_special(add_special=True).encode(JA) == [bos, *tok.encode(JA)]  # BOS, no EOS


def test_vendor_llama3():
    pytest.importorskip("llama_models", reason='needs the llama extra: pip install "tokcli[llama]"')
    tok = load("llama3")
    begin = tok.special_tokens()["<|begin_of_text|>"]
    eot = tok.special_tokens()["<|eot_id|>"]
    _check_text_default(tok, "<|eot_id|>")
    _check_allow(tok, "<|eot_id|>", eot)
    assert tok.with_special(add_special=True).encode(JA) == [begin, *tok.encode(JA)]
    assert tok.with_special("allow").encode(EOT) == tok.encode(EOT)  # not one of Llama 3's special tokens


# -- streaming ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cl100k_base", "hf"])
def test_streaming_never_cuts_a_special_token_and_adds_once(name, hf_path, monkeypatch):
    monkeypatch.setattr(base, "SEGMENT_CHARS", 40)  # many segments from a short text
    tok = load("cl100k_base" if name == "cl100k_base" else str(hf_path)).with_special("allow", add_special=True)
    text = "".join(f"{JA} {i} {EOT}\n" for i in range(60))
    chunks = [text[i : i + 7] for i in range(0, len(text), 7)]  # chunk ends fall inside <|endoftext|>
    assert len(list(tok.segments(chunks))) > 10
    whole = tok.encode(text)
    assert sum(tok.encode_stream(chunks), []) == whole
    assert tok.count_stream(chunks) == len(whole)
    assert whole.count(tok.special_tokens()[EOT]) == 60


def test_bad_mode_is_a_usage_error():
    with pytest.raises(UsageError, match="not one of: text, allow"):
        load("cl100k_base").with_special("maybe")


def test_defaults_give_the_tokenizer_itself():
    tok = load("cl100k_base")
    assert tok.with_special() is tok


# -- the CLI --------------------------------------------------------------------------------------------


def test_cli_encode_default_and_allow(cli):
    text = f"{JA}{EOT}"
    plain = load("cl100k_base").encode(text)
    r = cli("encode", "-t", "cl100k_base", "--text", text)
    assert (r.code, r.err) == (0, "")
    assert r.out.split() == [str(i) for i in plain]
    r = cli("encode", "-t", "cl100k_base", "--special", "allow", "--text", text)
    assert (r.code, r.err) == (0, "")
    assert r.out.split() == [str(i) for i in load("cl100k_base").encode(JA)] + ["100257"]


def test_cli_count_add_special(cli, hf_path):
    n = len(load(str(hf_path)).encode(JA))
    r = cli("count", "-t", str(hf_path), input=JA)
    assert (r.code, r.out, r.err) == (0, f"{n}\n", "")
    r = cli("count", "-t", str(hf_path), "--add-special", input=JA)
    assert (r.code, r.out, r.err) == (0, f"{n + 2}\n", "")
    r = cli("count", "-t", str(hf_path), "--special", "allow", input=f"{EOT}{EOT}")
    assert (r.code, r.out, r.err) == (0, "2\n", "")


def test_cli_encode_json_add_special(cli, hf_path):
    tok = load(str(hf_path))
    r = cli("encode", "-t", str(hf_path), "--add-special", "--format", "json", "--text", JA)
    assert (r.code, r.err) == (0, "")
    bos, eos = tok.tok.token_to_id("<s>"), tok.tok.token_to_id("</s>")
    assert json.loads(r.out)["inputs"] == [{"input": "<text>", "ids": [bos, *tok.encode(JA), eos]}]


def test_cli_show_allow(cli):
    r = cli("show", "-t", "cl100k_base", "--special", "allow", "--ids", "--text", f"a{EOT}")
    assert (r.code, r.err) == (0, "")
    assert "100257" in r.out
    r = cli("show", "-t", "cl100k_base", "--ids", "--text", f"a{EOT}")
    assert (r.code, r.err) == (0, "")
    assert "100257" not in r.out


def test_cli_bad_special_value(cli):
    r = cli("count", "-t", "cl100k_base", "--special", "maybe", input=JA)
    assert r.code == 2
    assert r.out == ""
    assert "--special" in r.err
    assert "Traceback" not in r.err
