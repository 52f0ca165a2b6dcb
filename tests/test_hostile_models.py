"""Model directories, tokenizer files and downloads that are corrupt, absurd or hostile: one `error:` line,
exit 2, nothing allocated or read before the cheap checks; downloads that trickle end at their deadline."""

from __future__ import annotations

import http.server
import json
import os
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import tokcli
from tokcli.errors import InputError, ModelFileError, TokenizerFileError
from tokcli.model import model as model_mod
from tokcli.model.config import GPTConfig, read_config
from tokcli.model.model import Model, load_model
from tokcli.model.weights import random_weights, save_model_dir
from tokcli.tokenizer import fileread
from tokcli.tokenizer.download import DownloadError, download
from tokcli.tokenizer.hf import HFTokenizer
from tokcli.tokenizer.registry import load_file

TEXT = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。\nthe cat sat on the mat.\n"


@pytest.fixture(scope="module")
def char_tok():
    return tokcli.train("char", [TEXT])


@pytest.fixture(scope="module")
def good_dir(tmp_path_factory, char_tok) -> Path:
    """A valid tiny model directory; tests copy what they break."""
    cfg = GPTConfig(vocab_size=char_tok.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=16)
    return save_model_dir(tmp_path_factory.mktemp("good") / "model", cfg, random_weights(cfg, 1), char_tok)


def copy_dir(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def edit_config(d: Path, **changes: object) -> None:
    raw = json.loads((d / "config.json").read_text(encoding="utf-8"))
    for k, v in changes.items():
        if v is DELETE:
            del raw[k]
        else:
            raw[k] = v
    (d / "config.json").write_text(json.dumps(raw), encoding="utf-8")


DELETE = object()


def generate(cli, d: Path):
    return cli("generate", "猫", "-m", str(d), "-n", "3", "--seed", "1")


def test_the_good_model_generates(cli, good_dir):
    r = generate(cli, good_dir)
    assert r.code == 0, r.err
    assert len(r.out) == 4 and r.out.endswith("\n")  # 3 characters (one token each) and a newline
    assert r.err == ""


# -- 1. config.json, field by field ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("n_head", 0, "n_head must be a positive integer, not 0"),
        ("n_head", -2, "n_head must be a positive integer, not -2"),
        ("n_layer", [2], "n_layer must be a positive integer, not [2]"),
        ("n_embd", "16", 'n_embd must be a positive integer, not "16"'),
        ("block_size", 16.0, "block_size must be a positive integer, not 16.0"),
        ("n_layer", True, "n_layer must be a positive integer, not true"),
        ("vocab_size", None, "vocab_size must be a positive integer, not null"),
        ("n_layer", float("inf"), "n_layer must be a positive integer, not Infinity"),
        ("n_layer", 3_000_000, "n_layer must be at most 128, not 3000000; this is no model tokcli can run"),
        ("block_size", 10**9, "block_size must be at most 8192, not 1000000000; this is no model tokcli can run"),
        ("dropout", 1.5, "dropout must be a number from 0 to below 1, not 1.5"),
        ("dropout", False, "dropout must be a number from 0 to below 1, not false"),
        ("layer_norm_eps", 0, "layer_norm_eps must be a positive number up to 1, not 0"),
        ("layer_norm_eps", "1e-5", 'layer_norm_eps must be a positive number up to 1, not "1e-5"'),
        ("meta", [1, 2], "meta must be a JSON object, not [1, 2]"),
        ("n_head", 3, "n_embd 16 must be a multiple of n_head 3"),
    ],
)
def test_config_fields_are_validated(cli, good_dir, tmp_path, key, value, message):
    d = copy_dir(good_dir, tmp_path / "m")
    edit_config(d, **{key: value})
    r = generate(cli, d)
    assert r.code == 2
    assert r.out == ""
    assert r.err == f"error: {d}/config.json: {message}\n"


def test_config_missing_and_unknown_keys(cli, good_dir, tmp_path):
    d = copy_dir(good_dir, tmp_path / "m")
    edit_config(d, n_layer=DELETE)
    r = generate(cli, d)
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith(f"error: {d}/config.json: n_layer is missing; a model config holds format, vocab_size")
    assert r.err.count("\n") == 1

    edit_config(d, n_layer=2, n_heads=2)  # a typo must not fall back to a default silently
    r = generate(cli, d)
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith(f"error: {d}/config.json: unknown key 'n_heads'; a model config holds format, ")


def test_config_without_meta_is_fine(good_dir, tmp_path):
    d = copy_dir(good_dir, tmp_path / "m")
    edit_config(d, meta=DELETE)
    assert read_config(d).meta == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "not a tokcli model config (expected format 'tokcli-gpt v1')"),
        ('{"format": "tokcli-gpt v1", "vocab_size": ' + "9" * 5000 + "}", "not valid JSON"),
        ('{"format": "tokcli-gpt v1", "meta": ' + "[" * 100_000 + "]" * 100_000 + "}", "not valid JSON"),
    ],
)
def test_config_that_is_no_config(good_dir, tmp_path, text, message):
    d = copy_dir(good_dir, tmp_path / "m")
    (d / "config.json").write_text(text, encoding="utf-8")
    with pytest.raises(ModelFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_config(d)


def test_config_nan_and_not_utf8(good_dir, tmp_path):
    d = copy_dir(good_dir, tmp_path / "m")
    text = (d / "config.json").read_text(encoding="utf-8").replace('"layer_norm_eps": 1e-05', '"layer_norm_eps": NaN')
    (d / "config.json").write_text(text, encoding="utf-8")
    with pytest.raises(ModelFileError, match="layer_norm_eps must be a positive number up to 1, not NaN"):
        read_config(d)
    (d / "config.json").write_bytes(b'{"format": "tokcli-gpt v1", "name": "\xff"}')
    with pytest.raises(ModelFileError, match="config.json: not UTF-8 text"):
        read_config(d)


def test_config_too_large_for_the_engine(cli, good_dir, tmp_path):
    d = copy_dir(good_dir, tmp_path / "m")
    edit_config(d, vocab_size=1 << 20, n_embd=8192, n_head=64, n_layer=128)  # each within its bound
    r = generate(cli, d)
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith(f"error: {d}/config.json: this model would take ")
    assert r.err.endswith("GiB (float32 weights and attention cache); tokcli's numpy engine runs models up to 8 GiB\n")


def test_absurd_config_is_refused_at_once(cli, good_dir, tmp_path):
    d = copy_dir(good_dir, tmp_path / "m")
    edit_config(d, n_layer=3_000_000)
    start = time.perf_counter()
    r = generate(cli, d)
    assert time.perf_counter() - start < 2
    assert (r.code, r.out) == (2, "")
    assert "n_layer must be at most 128" in r.err


# -- 2. model.safetensors: the header against the config, then finite values ------------------------------
def safetensors_bytes(tensors: dict[str, dict], data: bytes, length: int | None = None) -> bytes:
    head = json.dumps(tensors).encode()
    return struct.pack("<Q", len(head) if length is None else length) + head + data


def header_of(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


@pytest.fixture
def no_tensor_reads(monkeypatch):
    """Fail the test if any tensor data is read: the header must be enough to refuse."""

    def refuse(*a, **k):
        pytest.fail("weights were read before the header was checked")

    monkeypatch.setattr(model_mod, "read_weights", refuse)


def test_config_with_more_layers_than_the_file(cli, good_dir, tmp_path, no_tensor_reads):
    d = copy_dir(good_dir, tmp_path / "m")
    edit_config(d, n_layer=3)
    r = generate(cli, d)
    assert (r.code, r.out) == (2, "")
    assert r.err == (
        f"error: {d}/model.safetensors: lacks h.2.ln_1.weight, h.2.ln_1.bias, h.2.attn.c_attn.weight and 9 more; "
        "the model directory is corrupt\n"
    )


def test_tensors_the_config_does_not_describe(cli, good_dir, tmp_path, no_tensor_reads):
    d = copy_dir(good_dir, tmp_path / "m")
    edit_config(d, n_layer=1)
    r = generate(cli, d)
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith(f"error: {d}/model.safetensors: holds h.1.")
    assert r.err.endswith(
        "which the config (n_layer 1) does not describe; config.json and model.safetensors do not belong together\n"
    )


def test_shape_against_the_config(cli, good_dir, tmp_path, no_tensor_reads):
    d = copy_dir(good_dir, tmp_path / "m")
    edit_config(d, block_size=32)
    r = generate(cli, d)
    assert (r.code, r.out) == (2, "")
    assert r.err == f"error: {d}/model.safetensors: wpe has shape [16, 16], the config says [32, 16]\n"


def test_dtype_must_be_float(cli, good_dir, tmp_path, no_tensor_reads):
    d = copy_dir(good_dir, tmp_path / "m")
    header, data = header_of(d / "model.safetensors")
    header["wte"]["dtype"] = "I32"  # same size as F32: only the dtype is wrong
    (d / "model.safetensors").write_bytes(safetensors_bytes(header, data))
    r = generate(cli, d)
    assert (r.code, r.out) == (2, "")
    assert r.err == f'error: {d}/model.safetensors: wte is of dtype "I32"; tokcli reads F16 or F32 weights\n'


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("short", "is too short for a safetensors header in a file of 5 bytes; the model directory is corrupt"),
        ("length", "has a header length of 1099511627776 bytes in a file of"),
        ("json", "its safetensors header is not valid JSON; the model directory is corrupt"),
        ("truncated", "the tensors take"),
        ("overlap", "not a safetensors file the config describes: "),
        ("offsets", "not a safetensors file the config describes: wte has data_offsets"),
    ],
)
def test_corrupt_safetensors(good_dir, tmp_path, no_tensor_reads, damage, message):
    d = copy_dir(good_dir, tmp_path / "m")
    f = d / "model.safetensors"
    header, data = header_of(f)
    if damage == "short":
        f.write_bytes(b"\x10\x00\x00\x00\x00")
    elif damage == "length":
        f.write_bytes(safetensors_bytes(header, data, length=1 << 40))
    elif damage == "json":
        head = b"{not json" + b" " * 8
        f.write_bytes(struct.pack("<Q", len(head)) + head + data)
    elif damage == "truncated":
        f.write_bytes(safetensors_bytes(header, data)[:-100])
    elif damage == "overlap":  # wpe claims wte's bytes: the sizes fit, the layout does not
        header["wpe"]["data_offsets"] = header["wte"]["data_offsets"][:1] + [
            header["wte"]["data_offsets"][0] + header["wpe"]["data_offsets"][1] - header["wpe"]["data_offsets"][0]
        ]
        f.write_bytes(safetensors_bytes(header, data))
    elif damage == "offsets":
        header["wte"]["data_offsets"] = [0, 1 << 40]
        f.write_bytes(safetensors_bytes(header, data))
    with pytest.raises(ModelFileError) as e:
        Model.load(d)
    assert str(e.value).startswith(f"{f}: ")
    assert message in str(e.value)


@pytest.mark.parametrize(("value", "what"), [(np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite")])
def test_non_finite_weights(cli, char_tok, tmp_path, value, what):
    cfg = GPTConfig(vocab_size=char_tok.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=16)
    w = random_weights(cfg, 1)
    w["h.1.mlp.c_fc.bias"][5] = value
    d = save_model_dir(tmp_path / "m", cfg, w, char_tok)
    r = generate(cli, d)
    assert r.code == 2
    assert r.out == ""
    assert r.err == f"error: {d}/model.safetensors: h.1.mlp.c_fc.bias holds {what} values; the model is corrupt\n"


def test_nan_in_float16_weights(char_tok, tmp_path):
    cfg = GPTConfig(vocab_size=char_tok.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16)
    w = {k: v.astype(np.float16) for k, v in random_weights(cfg, 1).items()}
    w["wte"][3, 2] = np.nan
    d = save_model_dir(tmp_path / "m", cfg, w, char_tok)
    with pytest.raises(ModelFileError, match=r"model\.safetensors: wte holds NaN values; the model is corrupt"):
        Model.load(d)


def test_float16_weights_load(char_tok, tmp_path):
    cfg = GPTConfig(vocab_size=char_tok.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16)
    w = random_weights(cfg, 1)
    d = save_model_dir(tmp_path / "m", cfg, {k: v.astype(np.float16) for k, v in w.items()}, char_tok)
    m = Model.load(d)
    assert m.params["wte"].dtype == np.float32
    np.testing.assert_array_equal(m.params["wte"], w["wte"].astype(np.float16).astype(np.float32))


@pytest.mark.parametrize("name", ["en", "char", "word", "bpe", "ja-char"])
def test_bundled_models_pass_every_check(name):
    m = load_model(name)
    assert m.vocab_size == m.tokenizer.vocab_size


def test_bundled_models_keep_the_size_rules():
    """Every bundled model: at most 3M parameters and a weights file of at most 6 MB."""
    from tokcli.files.bundled import model_names, models_dir
    from tokcli.model.config import param_shapes, read_config

    assert {"en", "char", "word", "bpe", "ja-char"} <= set(model_names())
    for name in model_names():
        cfg = read_config(models_dir() / name)
        n_params = sum(int(np.prod(shape)) for shape in param_shapes(cfg).values())
        assert n_params <= 3_000_000, name
        assert (models_dir() / name / "model.safetensors").stat().st_size <= 6_000_000, name


# -- 3. tokenizer.json: a size limit checked first, and no second copy of the vocabulary -------------------
def test_tokenizer_over_the_limit(cli, char_tok, tmp_path, monkeypatch):
    path = tmp_path / "tokenizer.json"
    char_tok.save(str(path))
    size = path.stat().st_size
    monkeypatch.setenv("TOKCLI_MAX_TOKENIZER_BYTES", str(size - 1))
    r = cli("count", "-t", path, input=TEXT)
    assert r.code == 2
    assert r.out == ""
    assert r.err == (
        f"error: {path}: {size} bytes is more than the {size - 1} bytes tokcli reads as a tokenizer "
        "(TOKCLI_MAX_TOKENIZER_BYTES; the largest real tokenizer.json files are ~35 MB); "
        f"if you trust the file, raise the limit: TOKCLI_MAX_TOKENIZER_BYTES={size}\n"
    )
    monkeypatch.setenv("TOKCLI_MAX_TOKENIZER_BYTES", str(size))
    r = cli("count", "-t", path, input=TEXT)
    assert (r.code, r.err) == (0, "")
    assert r.out == f"{len(char_tok.encode(TEXT))}\n"


def test_model_tokenizer_over_the_limit(cli, good_dir, tmp_path, monkeypatch):
    d = copy_dir(good_dir, tmp_path / "m")
    monkeypatch.setenv("TOKCLI_MAX_TOKENIZER_BYTES", "100")
    r = generate(cli, d)
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith(f"error: {d}/tokenizer.json: ")
    assert "is more than the 100 bytes tokcli reads as a tokenizer" in r.err


@pytest.mark.parametrize("value", ["abc", "0", "-5"])
def test_bad_tokenizer_limit(cli, char_tok, tmp_path, monkeypatch, value):
    path = tmp_path / "tokenizer.json"
    char_tok.save(str(path))
    monkeypatch.setenv("TOKCLI_MAX_TOKENIZER_BYTES", value)
    r = cli("count", "-t", path, input=TEXT)
    assert (r.code, r.out) == (2, "")
    assert r.err == (
        f"error: TOKCLI_MAX_TOKENIZER_BYTES='{value}': give a positive number of bytes, "
        "e.g. TOKCLI_MAX_TOKENIZER_BYTES=134217728\n"
    )


def test_default_limit_fits_real_tokenizers(monkeypatch):
    monkeypatch.delenv("TOKCLI_MAX_TOKENIZER_BYTES", raising=False)
    assert fileread.max_tokenizer_bytes() >= 40_000_000  # Gemma 3's tokenizer.json is ~33 MB


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_spec_keeps_no_vocabulary_and_fast_paths_still_agree(kind, tmp_path):
    tok = tokcli.train(kind, [TEXT * 3], vocab_size=300 if kind == "bpe" else None)
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    loaded = HFTokenizer.from_file(path)
    assert loaded.kind == kind
    assert "vocab" not in loaded.spec["model"] and "merges" not in loaded.spec["model"]
    assert loaded.spec["model"]["type"] == ("BPE" if kind == "bpe" else "WordLevel")
    assert (loaded._fast is not None) == (kind in ("char", "word", "bpe"))
    text = "吾輩は猫である。the cat 🐈 sat.\n"
    assert loaded.encode(text) == loaded.tok.encode(text, add_special_tokens=False).ids


# -- 4. tokenizer files that are unreadable, not files, or not tokenizers --------------------------------
def test_tokenizer_path_that_is_a_directory(cli, tmp_path):
    path = tmp_path / "tokenizer.json"
    path.mkdir()  # a directory named like the file: what root sees where others see chmod 000
    r = cli("count", "-t", path, input=TEXT)
    assert (r.code, r.out) == (2, "")
    assert r.err == f"error: {path}: not a tokenizer file; give a tokenizer.json, a .model or a model directory\n"
    with pytest.raises(TokenizerFileError, match="not a regular file"):
        load_file(path)


def test_unreadable_tokenizer(cli, char_tok, tmp_path, monkeypatch):
    path = tmp_path / "tokenizer.json"
    char_tok.save(str(path))
    real_open = os.open

    def denied(p, *a, **k):
        if os.fspath(p) == str(path):
            raise PermissionError(13, "Permission denied", str(p))
        return real_open(p, *a, **k)

    monkeypatch.setattr(os, "open", denied)  # the one os module: what tokcli.files.capped opens with
    r = cli("count", "-t", path, input=TEXT)
    assert (r.code, r.out) == (2, "")
    assert r.err == f"error: {path}: cannot read it (Permission denied); give a readable tokenizer file\n"
    with pytest.raises(InputError):
        load_file(path)


def test_fifo_tokenizer_does_not_hang(tmp_path):
    fifo = tmp_path / "tokenizer.json"
    os.mkfifo(fifo)
    r = subprocess.run(
        [sys.executable, "-m", "tokcli", "count", "-t", str(fifo)],
        input=TEXT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == f"error: {fifo}: not a tokenizer file; give a tokenizer.json, a .model or a model directory\n"
    # past the is_file() check (a FIFO swapped in afterwards), reading must not block either
    outcome: list[BaseException] = []
    t = threading.Thread(target=lambda: outcome.append(_raises(load_file, fifo)), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "load_file blocked on a FIFO"
    assert isinstance(outcome[0], TokenizerFileError)
    assert str(outcome[0]) == f"{fifo}: not a regular file; give a tokenizer.json, a .model or a model directory"


def _raises(f, *args) -> BaseException | None:
    try:
        f(*args)
    except BaseException as e:
        return e
    return None


def test_fifo_in_a_model_directory(cli, good_dir, tmp_path):
    d = copy_dir(good_dir, tmp_path / "m")
    (d / "tokenizer.json").unlink()
    os.mkfifo(d / "tokenizer.json")
    r = generate(cli, d)
    assert (r.code, r.out) == (2, "")
    assert r.err == (
        f"error: {d}: no tokenizer.json; a model directory holds config.json, model.safetensors and tokenizer.json\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[]", "not a tokenizer.json (not a JSON object); give a file saved by tokenizers or by `tokcli train`"),
        (b"", "not a tokenizer.json (not a JSON object); give a file saved by tokenizers or by `tokcli train`"),
        (b'"\xe5\x90\xbe\xe8\xbc\xa9"', "not a tokenizer.json (not a JSON object)"),
        (b'{"model": 5}', "not a valid tokenizer.json (data did not match any variant of untagged enum ModelUntagged"),
        (b"{}", "not a valid tokenizer.json (Model missing."),
        (b'{"model": {"type": "BPE"', "not a valid tokenizer.json (EOF while parsing an object"),
    ],
)
def test_json_that_is_no_tokenizer(cli, tmp_path, content, message):
    path = tmp_path / "tokenizer.json"
    path.write_bytes(content)
    r = cli("count", "-t", path, input=TEXT)
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith(f"error: {path}: {message}")
    assert r.err.count("\n") == 1


def test_truncated_tokenizer_json(cli, char_tok, tmp_path):
    path = tmp_path / "tokenizer.json"
    char_tok.save(str(path))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    r = cli("count", "-t", path, input=TEXT)
    assert (r.code, r.out) == (2, "")
    assert r.err.startswith(f"error: {path}: not a valid tokenizer.json (EOF while parsing")
    assert r.err.endswith("; give a file saved by tokenizers or by `tokcli train`\n")


def test_truncated_and_corrupt_model_files(cli, tmp_path):
    ja = (Path(__file__).parent.parent / "corpora" / "ja_prose.txt").read_text(encoding="utf-8")
    spm = tokcli.train("unigram", [ja], vocab_size=540)  # 508 pieces are needed for its characters
    good = tmp_path / "good.model"
    spm.save(str(good))
    data = good.read_bytes()
    assert cli("count", "-t", good, input=TEXT).code == 0
    rng = np.random.default_rng(0)
    flipped = np.frombuffer(data, dtype=np.uint8).copy()
    flipped[rng.integers(0, len(data), 40)] = rng.integers(0, 256, 40)
    for name, content in [("cut.model", data[: len(data) // 2]), ("flip.model", flipped.tobytes()), ("x.model", b"x")]:
        path = tmp_path / name
        path.write_bytes(content)
        r = cli("count", "-t", path, input=TEXT)
        assert (r.code, r.out) == (2, ""), name
        assert r.err == f"error: {path}: not a valid sentencepiece model; give a .model file written by sentencepiece\n"


# -- 5. downloads: one deadline for the whole transfer, a size cap ----------------------------------------
BODY = "東京の天気は晴れ。".encode() * 100


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:
        try:
            self._serve()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _serve(self) -> None:
        if self.path == "/ok":
            self._head(len(BODY))
            self.wfile.write(BODY)
        elif self.path == "/trickle":  # a byte every 0.1 s: each read is quick, the download never ends
            self._head(10_000)
            for _ in range(10_000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path == "/trickle-headers":
            for c in b"HTTP/1.0 200 OK\r\nX-Slow: " + b"y" * 20:  # then it hangs up
                self.wfile.write(bytes([c]))
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path == "/big":
            self._head(1_000_000)
            self.wfile.write(b"z" * 1_000_000)
        elif self.path == "/big-no-length":  # HTTP/1.0, no Content-Length: the cap must hold while reading
            self.send_response(200)
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"z" * 10_000)
        else:
            self.send_error(404)

    def _head(self, length: int) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def test_download_ok(server):
    assert download(f"{server}/ok", timeout_total=10, max_bytes=len(BODY)) == BODY


def test_download_trickle_ends_at_the_deadline(server):
    start = time.monotonic()
    with pytest.raises(DownloadError) as e:
        download(f"{server}/trickle", timeout_total=1.0, max_bytes=1 << 20)
    elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 2.5
    assert str(e.value).startswith(f"{server}/trickle: not complete after 1 s (")
    assert str(e.value).endswith(" bytes received); the network or a proxy is too slow")
    received = int(str(e.value).split("(")[1].split()[0])
    assert 3 <= received <= 15  # about one byte per 0.1 s


def test_download_trickled_headers_end_at_the_deadline(server):
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"not complete after 1 s \(0 bytes received\)"):
        download(f"{server}/trickle-headers", timeout_total=1.0, max_bytes=1 << 20)
    assert time.monotonic() - start < 2.5


def test_download_size_cap(server):
    with pytest.raises(DownloadError) as e:
        download(f"{server}/big", timeout_total=10, max_bytes=1000)
    assert str(e.value) == f"{server}/big: larger than the 1000 bytes allowed (it has 1000000)"
    with pytest.raises(DownloadError) as e:
        download(f"{server}/big-no-length", timeout_total=10, max_bytes=25_000)
    assert str(e.value) == f"{server}/big-no-length: larger than the 25000 bytes allowed"


def test_download_http_error(server):
    with pytest.raises(DownloadError) as e:
        download(f"{server}/missing", timeout_total=10, max_bytes=1000)
    assert str(e.value) == f"{server}/missing: HTTP Error 404: Not Found"
