"""compare: rows per input and tokenizer, --train on a held-out split, formats, parity."""

from __future__ import annotations

import csv
import io
import json

import pytest
from test_metrics import _spans_by_loop  # the plain one-token-at-a-time reference

from tokcli.analysis.compare import Input, TrainSpec, compare, parallel_files, parity
from tokcli.errors import UsageError

EN = "The quick brown fox jumps over the lazy dog. " * 20 + "\n\nIt was the best of times.\n" * 10


@pytest.fixture
def texts(tmp_path):
    (tmp_path / "en.txt").write_text(EN, encoding="utf-8")
    (tmp_path / "ja.txt").write_text("吾輩は猫である。名前はまだ無い。\n" * 20, encoding="utf-8")
    return tmp_path


def test_train_spec():
    assert TrainSpec.parse("bpe:8000") == TrainSpec("bpe", 8000)
    assert TrainSpec.parse("char") == TrainSpec("char", None)
    assert TrainSpec.parse("unigram:8k").vocab_size == 8000
    assert TrainSpec.parse("word:100").label == "trained word:100"
    for bad in ("xyz", "bpe:lots", "bpe:1"):
        with pytest.raises(UsageError):
            TrainSpec.parse(bad)


def test_rows_per_input_and_tokenizer_with_nsl_against_the_reference():
    result = compare([Input("en", EN), Input("ja", "猫が座った。")], ["char", "bpe"], reference="bpe")
    assert [(r.input, r.tokenizer) for r in result.rows] == [
        ("en", "char"),
        ("en", "bpe"),
        ("ja", "char"),
        ("ja", "bpe"),
    ]
    by = {(r.input, r.tokenizer): r for r in result.rows}
    assert by[("en", "bpe")].nsl == 1.0
    assert by[("en", "char")].nsl == pytest.approx(by[("en", "char")].tokens / by[("en", "bpe")].tokens)
    assert by[("ja", "bpe")].unit == "char" and by[("en", "bpe")].unit == "word"
    assert by[("en", "bpe")].round_trip


def test_train_measures_on_the_held_out_part():
    text = EN + "Zebras quiver.\n"  # the held-out tail has letters the training part never saw
    result = compare([Input("en", text)], train=[TrainSpec("char")], holdout=0.1)
    (row,) = result.rows
    assert row.tokenizer == "trained char" and result.holdout == 0.1
    assert row.chars == len(text) - int(len(text) * 0.9)
    assert row.unk_rate > 0  # Z, q, ... are unknown: real, not zero by construction


def test_cli_default_compares_bundled_tokenizers_on_bundled_corpora(cli):
    r = cli("compare", "-f", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["tokenizers"] == ["char", "word", "bpe", "ja-char", "cl100k_base"] and doc["reference"] == "char"
    assert len(doc["rows"]) == 5 * len(doc["inputs"]) >= 5
    # Japanese prose is measured by a Japanese vocabulary too: ja-char knows almost every character of it
    ja = {r["tokenizer"]: r for r in doc["rows"] if r["input"].endswith("ja_prose.txt")}
    assert ja["ja-char"]["unk_rate"] < 0.05 < ja["char"]["unk_rate"]
    assert {"fertility", "continued", "unk_rate", "renyi", "renyi_vocab", "nsl", "mb_per_s", "unit"} <= set(
        doc["rows"][0]
    )


def test_cli_formats_and_chart(cli, texts, tmp_path):
    args = ["compare", "-t", "char", "-t", "bpe", str(texts / "en.txt")]
    rows = list(csv.DictReader(io.StringIO(cli(*args, "-f", "csv").out)))
    assert [r["tokenizer"] for r in rows] == ["char", "bpe"] and rows[1]["round_trip"] == "True"
    assert cli(*args, "-f", "tsv").out.startswith("input\ttokenizer\tvocab_size")
    md = cli(*args, "-f", "markdown").out
    assert "| input | tokenizer |" in md and "**" in md  # the best values are bold
    table = cli(*args, "--chart", "chars_per_token").out
    assert "(* best in its column" in table and "chars_per_token:" in table and "█" in table
    out = tmp_path / "report.json"
    r = cli(*args, "-f", "json", "-o", str(out))
    assert r.out == "" and json.loads(out.read_text())["rows"]
    bad = cli(*args, "--chart", "nonsense")
    # a choice checked when the command line is parsed, before any tokenizer is loaded
    assert bad.code == 2 and bad.out == ""
    assert bad.err.startswith("error: Invalid value for '--chart'") and "'nonsense' is not one of" in bad.err


def test_cli_train_and_model(cli, texts):
    r = cli("compare", str(texts / "en.txt"), "--train", "char", "--train", "bpe:300", "-m", "gpt-4", "-f", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["tokenizers"] == ["trained char", "trained bpe:300"] and doc["holdout"] == 0.1
    (fit,) = doc["models"]
    assert fit["model"] == "gpt-4" and fit["limit"] == 8192 and fit["exact"] and fit["fits"]


def test_cli_errors(cli, tmp_path):
    assert cli("compare", str(tmp_path / "missing.txt")).code == 2
    assert cli("compare", "-t", "no-such-tokenizer", "--parity", str(tmp_path)).code == 2
    r = cli("compare", "--train", "bpe:1")
    assert r.code == 2 and "at least 2" in r.err


def test_parity_relative_to_the_pivot(tmp_path):
    (tmp_path / "index.tsv").write_text("file\tbcp47\nen.txt\ten\nde.txt\tde\n", encoding="utf-8")
    (tmp_path / "en.txt").write_text("a b c d", encoding="utf-8")
    (tmp_path / "de.txt").write_text("a b c d a b c d", encoding="utf-8")
    assert [lang for lang, _ in parallel_files(tmp_path)] == ["en", "de"]
    p = parity(tmp_path, ["char"], pivot="en")
    assert p.premium("en", "char") == 1.0
    assert p.premium("de", "char") == pytest.approx(15 / 7)  # characters, one token each
    with pytest.raises(UsageError):
        parity(tmp_path, ["char"], pivot="fr")


def test_parity_cli_without_index(cli, tmp_path):
    (tmp_path / "en.txt").write_text("hello", encoding="utf-8")
    (tmp_path / "xx.txt").write_text("hello hello", encoding="utf-8")
    r = cli("compare", "--parity", str(tmp_path), "-t", "char", "-f", "csv")
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [(x["language"], x["char premium"]) for x in rows] == [("en", "1.0"), ("xx", "2.2")]


def test_parity_on_udhr(cli):
    from conftest import shared_corpus

    udhr = shared_corpus("udhr")
    r = cli("compare", "--parity", str(udhr), "-f", "json")
    assert r.code == 0, r.err
    rows = {x["language"]: x for x in json.loads(r.out)["rows"]}
    assert rows["en"]["premium"] == 1.0 and rows["ja"]["premium"] > 1.2


# -- the vectorised metrics against a plain, one-token-at-a-time reference ------------------------

MIXED = {
    "en": "The cat sat on the mat. Zebras quiver; naïve café — ÆØÅ ⟨x⟩ 🎉\n" * 3,
    "ja": "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。\n" * 3 + "Ω𝔘 ok\n",
    "code": "def f(x):\n    return x ** 2  # 二乗\n\tprint(f'{x!r}')\n" * 3,
}


@pytest.mark.parametrize("key", sorted(MIXED))
def test_compare_rows_equal_a_plain_reference(key):
    import regex

    from tokcli.tokenizer.registry import load

    text = MIXED[key]
    names = ["char", "word", "bpe", "cl100k_base"]
    result = compare([Input(key, text)], names)
    data = text.encode("utf-8")
    unit = "char" if key == "ja" else "word"  # over 30% of the letters in scripts without spaces
    units = []
    for m in regex.finditer(r"\S+" if unit == "word" else r"\S", text):
        s = len(text[: m.start()].encode())
        units.append((s, s + len(m.group().encode())))
    ref_tokens = len(load("char").encode(text))
    for name, row in zip(names, result.rows, strict=True):
        tok = load(name)
        ids = tok.encode(text)  # one segment: the text is far below the streaming segment size
        spans = _spans_by_loop(tok, data.decode("utf-8"), ids)
        continued = sum(sum(1 for s, e in spans if e > s and s < ue and e > us) >= 2 for us, ue in units)
        counts: dict[int, int] = {}
        for i in ids:
            counts[i] = counts.get(i, 0) + 1
        assert (row.tokenizer, row.unit, row.units) == (name, unit, len(units))
        assert (row.tokens, row.chars, row.bytes) == (len(ids), len(text), len(data))
        assert row.continued == continued / len(units)
        assert row.fertility == len(ids) / len(units)
        assert row.distinct == len(counts)
        assert row.round_trip == (tok.decode(ids) == text)
        assert row.nsl == len(ids) / ref_tokens
        want_unk = None if tok.unk_id is None else counts.get(tok.unk_id, 0) / len(ids)
        assert row.unk_rate == want_unk
    assert result.rows[0].nsl == 1.0


def test_the_charts_the_command_line_offers_are_the_metrics_compare_renders():
    from tokcli.cli.compare import CHART_METRICS as offered
    from tokcli.output.tables import CHART_METRICS as rendered

    assert list(offered) == list(rendered)
