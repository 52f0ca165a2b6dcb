"""`lm train` (torch): a few steps learn, a seed reproduces a run, --resume continues it exactly, the exported
directory loads in the numpy engine with the same logits, and a missing torch names the extra."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_corpus

import tokcli
from tokcli.lm.trainer import train_lm
from tokcli.lm.trainoptions import TrainOptions

TEXT = (
    "the cat sat on the mat. the dog ate the hat. a cat and a dog sat on a mat.\n"
    "To be, or not to be: that is the question. the cat is not the dog.\n"
) * 12

TINY = dict(n_layer=1, n_head=2, n_embd=16, block_size=16, dropout=0.0, batch_size=8, lr=1e-2, min_lr=1e-3,
            warmup=5, eval_every=10, eval_batches=4, checkpoint_every=10, threads=1, seed=7)  # fmt: skip


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="training needs the train extra (pip install 'tokcli[train]')")


@pytest.fixture(scope="module")
def tok():
    return tokcli.train("char", [TEXT])


def _weights(path):
    from safetensors.numpy import load_file

    return load_file(str(path))


def test_a_few_steps_reduce_the_loss(torch, tok, tmp_path):
    report = train_lm([TEXT], tok, tmp_path / "m", TrainOptions(steps=40, **TINY))
    val = [h["val_loss"] for h in report.history]
    assert [h["step"] for h in report.history] == [10, 20, 30, 40]
    assert val[-1] < val[0] - 0.3
    assert val[0] < np.log(tok.vocab_size) + 0.5  # it starts near uniform


def test_the_same_seed_gives_the_same_model(torch, tok, tmp_path):
    opts = TrainOptions(steps=12, **TINY)
    train_lm([TEXT], tok, tmp_path / "a", opts)
    train_lm([TEXT], tok, tmp_path / "b", opts)
    a, b = _weights(tmp_path / "a.ckpt" / "state.safetensors"), _weights(tmp_path / "b.ckpt" / "state.safetensors")
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    other = dict(TINY, seed=8)
    train_lm([TEXT], tok, tmp_path / "c", TrainOptions(steps=12, **other))
    c = _weights(tmp_path / "c.ckpt" / "state.safetensors")
    assert not np.array_equal(a["model.wte.weight"], c["model.wte.weight"])


def test_resume_continues_as_an_unbroken_run(torch, tok, tmp_path):
    const = dict(TINY, schedule="constant")  # the cosine schedule depends on --steps, which resuming changes
    train_lm([TEXT], tok, tmp_path / "whole", TrainOptions(steps=20, **const))
    train_lm([TEXT], tok, tmp_path / "part", TrainOptions(steps=10, **const))
    report = train_lm([TEXT], tok, tmp_path / "part", TrainOptions(steps=20, **const), resume=True)
    assert report.step == 20 and [h["step"] for h in report.history] == [10, 20]
    whole = _weights(tmp_path / "whole.ckpt" / "state.safetensors")
    part = _weights(tmp_path / "part.ckpt" / "state.safetensors")
    for k in whole:
        np.testing.assert_allclose(part[k], whole[k], rtol=0, atol=1e-6, err_msg=k)


def test_exported_model_loads_and_numpy_matches_torch(torch, tok, tmp_path):
    from safetensors.torch import load_file

    from tokcli.lm.torch_gpt import TorchGPT
    from tokcli.model.config import read_config
    from tokcli.model.model import load_model

    out = tmp_path / "m"
    train_lm([TEXT], tok, out, TrainOptions(steps=20, **dict(TINY, n_layer=2)), source="test")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]
    cfg = read_config(out)
    assert (cfg.n_layer, cfg.block_size, cfg.vocab_size) == (2, 16, tok.vocab_size)
    assert cfg.meta["trained_on"] == "test" and cfg.meta["steps"] in (10, 20)
    m = load_model(str(out))
    assert m.tokenizer.encode("the cat") == tok.encode("the cat")
    ref = TorchGPT.from_exported(cfg, {k: v.float() for k, v in load_file(str(out / "model.safetensors")).items()})
    ids = tok.encode(TEXT[:16])
    with torch.no_grad():
        expect = ref(torch.tensor([ids]))[0][0].numpy()
    np.testing.assert_allclose(m.forward(ids), expect, rtol=0, atol=1e-4)


def test_cli_train_then_resume(torch, tok, cli, tmp_path):
    (tmp_path / "t.txt").write_text(TEXT, encoding="utf-8")
    tok.save(str(tmp_path / "tok.json"))
    args = ["lm", "train", tmp_path / "t.txt", "-t", tmp_path / "tok.json", "-o", tmp_path / "m", "--layers", "1",
            "--heads", "2", "--width", "16", "--context", "16", "--batch-size", "4", "--eval-every", "5",
            "--checkpoint-every", "5", "--threads", "1", "--warmup", "2"]  # fmt: skip
    r = cli(*args, "--steps", "5")
    assert r.code == 0, r.err
    assert r.out == "" and "model written to" in r.err
    r = cli(*args, "--steps", "10", "--resume")
    assert r.code == 0, r.err
    assert "step 10/10" in r.err
    wider = [str(a) for a in args]
    wider[wider.index("--width") + 1] = "32"
    r = cli(*wider, "--steps", "10", "--resume")
    assert r.code == 2 and "checkpoint has n_embd=16" in r.err


def test_cli_resume_without_checkpoint(torch, tok, cli, tmp_path):
    (tmp_path / "t.txt").write_text(TEXT, encoding="utf-8")
    r = cli("lm", "train", tmp_path / "t.txt", "-t", "char", "-o", tmp_path / "m", "--resume", "--steps", "2")
    assert r.code == 2 and r.err.startswith("error: --resume: no checkpoint")


def test_missing_torch_names_the_extra(cli, monkeypatch, tmp_path):
    (tmp_path / "t.txt").write_text(TEXT, encoding="utf-8")
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    r = cli("lm", "train", tmp_path / "t.txt", "-t", "char", "-o", tmp_path / "m")
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("error:") and "pip install 'tokcli[train]'" in r.err
    assert not (tmp_path / "m").exists()


def test_init_from_carries_the_blocks_over_to_another_tokenizer(torch, tok, tmp_path):
    from tokcli.lm.torch_gpt import TorchGPT
    from tokcli.lm.trainer import _init_from
    from tokcli.model.config import GPTConfig

    train_lm([TEXT], tok, tmp_path / "src", TrainOptions(steps=10, **TINY))
    src = _weights(tmp_path / "src" / "model.safetensors")
    other = tokcli.train("char", [TEXT.upper()])  # another vocabulary: wte cannot carry over
    assert other.vocab_size != tok.vocab_size
    cfg = GPTConfig(vocab_size=other.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    model = TorchGPT(cfg)
    fresh_wte = model.wte.weight.detach().clone()
    copied = _init_from(model, str(tmp_path / "src"))
    assert "wte" not in copied and "wpe" in copied and "h.0.attn.c_attn.weight" in copied
    state = model.export_state()
    for name in copied:
        assert np.allclose(state[name].numpy(), src[name].astype(np.float32)), name
    assert torch.equal(model.wte.weight, fresh_wte)
    # a run given init_from trains from there and exports a model of its own vocabulary
    train_lm([TEXT.upper()], other, tmp_path / "ft", TrainOptions(steps=10, init_from=str(tmp_path / "src"), **TINY))
    assert _weights(tmp_path / "ft" / "model.safetensors")["wte"].shape == (other.vocab_size, 16)


def test_init_from_a_model_of_another_shape_is_an_error(torch, tok, tmp_path):
    train_lm([TEXT], tok, tmp_path / "src", TrainOptions(steps=10, **TINY))
    wide = dict(TINY, n_embd=32, n_head=4)
    with pytest.raises(tokcli.errors.UsageError, match="no tensor has the shape"):
        train_lm([TEXT], tok, tmp_path / "b", TrainOptions(steps=10, init_from=str(tmp_path / "src"), **wide))


def test_device_cuda_without_a_gpu_is_a_usage_error(torch, tok, cli, tmp_path, monkeypatch):
    """--device cuda where torch sees no GPU: one line naming --device cpu, exit 2, nothing written."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "t.txt").write_text(TEXT, encoding="utf-8")
    with pytest.raises(tokcli.errors.UsageError, match="--device cpu"):
        train_lm([TEXT], tok, tmp_path / "m", TrainOptions(steps=2, device="cuda", **TINY))
    assert not (tmp_path / "m").exists()
    r = cli("lm", "train", tmp_path / "t.txt", "-t", "char", "-o", tmp_path / "m2", "--device", "gpu")
    assert r.code == 2 and "--device" in r.err


def test_device_auto_trains_on_the_cpu_without_a_gpu(torch, tok, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    report = train_lm([TEXT], tok, tmp_path / "m", TrainOptions(steps=10, device="auto", **TINY))
    assert report.step == 10 and (tmp_path / "m" / "model.safetensors").is_file()


@pytest.mark.shared
def test_cli_lm_train_on_a_shard_directory(torch, cli, tmp_path):
    """`encode --to DIR` then `lm train DIR` (here, not in test_dist.py: a test worker that never trains never
    imports torch, ~200 MB)."""
    text = str(shared_corpus("ja_aozora_kokoro.txt"))
    assert cli("encode", text, "-t", "ja-char", "--to", str(tmp_path / "s"), "-q").code == 0
    args = ["lm", "train", str(tmp_path / "s"), "--layers", "1", "--heads", "2",
            "--width", "16", "--context", "16", "--batch-size", "4", "--eval-every", "3", "--threads", "1",
            "--warmup", "1", "--steps", "3", "-q"]  # fmt: skip
    assert cli(*args, "-t", "ja-char", "-o", str(tmp_path / "m")).code == 0
    meta = json.loads((tmp_path / "m" / "config.json").read_text(encoding="utf-8"))["meta"]
    n = len(tokcli.load("ja-char").encode(Path(text).read_text(encoding="utf-8")))
    assert meta["train_tokens"] + meta["val_tokens"] == n
    r = cli(*args, "-t", "o200k_base", "-o", str(tmp_path / "m2"))
    assert r.code == 2
    assert "its shards were made with tokenizer 'ja-char', not 'o200k_base'" in r.err
