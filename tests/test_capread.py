"""tokcli.files.capped: a regular file, its size checked from fstat before reading, never more than limit + 1
bytes read; and the four readers built on it (tokenizer file, model config.json, model.safetensors, TOML
configuration) keeping their own errors and words."""

from __future__ import annotations

import errno
import os
import resource
import threading
from pathlib import Path

import pytest
from conftest import tiny_model_dir

from tokcli.budget.config import MAX_CONFIG_BYTES as MAX_TOML_BYTES
from tokcli.budget.config import read_toml
from tokcli.errors import InputError, ModelFileError, TokenizerFileError
from tokcli.files.capped import FileTooLarge, NotRegularFile, UnreadableFile, open_regular, read_capped
from tokcli.model.config import MAX_CONFIG_BYTES, read_config
from tokcli.model.weights import check_weights_file
from tokcli.tokenizer.fileread import read_tokenizer_file

JA = "吾輩は猫である。名前はまだ無い。\n"
WHAT = "a test file"


def in_thread(f, *args):
    """What f(*args) returned or raised, failing the test if it is still running after 10 s (a blocked open)."""
    outcome: list[object] = []

    def run():
        try:
            outcome.append(f(*args))
        except BaseException as e:  # handed to the test
            outcome.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), f"{f.__name__} blocked"
    return outcome[0]


@pytest.fixture
def reads(monkeypatch):
    """The sizes os.read returned, call by call (capread reads through os.read only)."""
    got: list[int] = []
    real = os.read

    def spy(fd, n):
        data = real(fd, n)
        got.append(len(data))
        return data

    monkeypatch.setattr(os, "read", spy)
    return got


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# -- the shared function ----------------------------------------------------------------------------------
def test_reads_a_japanese_named_file_up_to_the_limit(tmp_path):
    path = tmp_path / "設定" / "吾輩は猫である.txt"
    path.parent.mkdir()
    data = (JA * 10).encode("utf-8")
    path.write_bytes(data)
    assert read_capped(path, len(data), what=WHAT) == data  # exactly at the limit
    assert read_capped(str(path), len(data) + 1000, what=WHAT) == data
    empty = tmp_path / "設定" / "空.txt"
    empty.write_bytes(b"")
    assert read_capped(empty, 10, what=WHAT) == b""
    with pytest.raises(FileTooLarge) as e:
        read_capped(path, len(data) - 1, what=WHAT)
    assert (e.value.size, e.value.limit, e.value.path) == (len(data), len(data) - 1, path)
    assert str(e.value) == f"{path}: {len(data)} bytes is more than the {len(data) - 1} bytes tokcli reads as {WHAT}"
    assert isinstance(e.value, InputError) and e.value.exit_code == 2


def test_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "名前付きパイプ.json"
    os.mkfifo(fifo)
    before = open_fds()
    for call in (lambda: read_capped(fifo, 100, what=WHAT), lambda: open_regular(fifo, what=WHAT)):
        e = in_thread(call)  # no writer ever opens it: a blocking open would wait forever
        assert isinstance(e, NotRegularFile)
        assert str(e) == f"{fifo}: not a regular file; give {WHAT}"
    assert open_fds() == before  # the descriptor opened to look is closed again


def test_directory_is_refused(tmp_path):
    d = tmp_path / "ディレクトリ"
    d.mkdir()
    with pytest.raises(NotRegularFile, match="not a regular file"):
        read_capped(d, 100, what=WHAT)
    with pytest.raises(NotRegularFile):
        open_regular(d, what=WHAT)


def test_device_is_refused(tmp_path):
    with pytest.raises(NotRegularFile):  # /dev/zero would fill any buffer it is read into
        read_capped("/dev/zero", 100, what=WHAT)


def test_huge_sparse_file_is_refused_unread(tmp_path, reads):
    path = tmp_path / "巨大.bin"
    with open(path, "wb") as f:
        f.truncate(10 << 30)  # 10 GiB of holes: no disk used, but a read would fill memory
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    before = open_fds()
    with pytest.raises(FileTooLarge) as e:
        read_capped(path, 1 << 20, what=WHAT)
    assert (e.value.size, e.value.limit) == (10 << 30, 1 << 20)  # the size fstat gave
    assert reads == []  # refused before any read
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 64 << 10
    assert open_fds() == before
    with pytest.raises(FileTooLarge):
        open_regular(path, 1 << 20, what=WHAT)
    with open_regular(path, what=WHAT) as f:  # no limit: opened, and read only as far as the caller reads
        assert f.read(8) == bytes(8)


def grow_after_fstat(monkeypatch, path: Path, extra: bytes) -> None:
    """Append `extra` to `path` right after the first fstat: the file grows between the check and the read."""
    real = os.fstat
    done = []

    def fstat(fd):
        st = real(fd)
        if not done:
            done.append(True)
            with open(path, "ab") as f:
                f.write(extra)
        return st

    monkeypatch.setattr(os, "fstat", fstat)


def test_file_growing_past_the_limit_after_the_check(tmp_path, monkeypatch, reads):
    path = tmp_path / "育つ.log"
    path.write_bytes(JA.encode("utf-8"))
    limit = 1000
    grow_after_fstat(monkeypatch, path, b"x" * (10 << 20))
    with pytest.raises(FileTooLarge) as e:
        read_capped(path, limit, what=WHAT)
    assert e.value.size == limit + 1  # what was read, not what the file now holds
    assert sum(reads) == limit + 1
    assert path.stat().st_size == len(JA.encode("utf-8")) + (10 << 20)


def test_file_growing_within_the_limit_is_read_whole(tmp_path, monkeypatch):
    path = tmp_path / "育つ.txt"
    first = JA.encode("utf-8")
    path.write_bytes(first)
    grow_after_fstat(monkeypatch, path, first * 3)
    assert read_capped(path, len(first) * 4, what=WHAT) == first * 4  # up to the limit exactly


def test_file_growing_to_exactly_one_past_the_limit(tmp_path, monkeypatch, reads):
    path = tmp_path / "ちょうど.txt"
    path.write_bytes(b"a" * 100)
    grow_after_fstat(monkeypatch, path, b"b")
    with pytest.raises(FileTooLarge) as e:
        read_capped(path, 100, what=WHAT)
    assert e.value.size == 101 and sum(reads) == 101


def test_symlinks_are_followed_and_their_target_checked(tmp_path):
    target = tmp_path / "本物.txt"
    target.write_text(JA, encoding="utf-8")
    link = tmp_path / "リンク.txt"
    link.symlink_to(target)
    assert read_capped(link, 1000, what=WHAT) == JA.encode("utf-8")

    fifo = tmp_path / "パイプ"
    os.mkfifo(fifo)
    to_fifo = tmp_path / "パイプへのリンク"
    to_fifo.symlink_to(fifo)
    e = in_thread(lambda: read_capped(to_fifo, 1000, what=WHAT))
    assert isinstance(e, NotRegularFile) and str(e).startswith(f"{to_fifo}: not a regular file")

    to_dir = tmp_path / "ディレクトリへのリンク"
    to_dir.symlink_to(tmp_path)
    with pytest.raises(NotRegularFile):
        read_capped(to_dir, 1000, what=WHAT)

    dangling = tmp_path / "行き先なし"
    dangling.symlink_to(tmp_path / "存在しない")
    with pytest.raises(UnreadableFile) as e2:
        read_capped(dangling, 1000, what=WHAT)
    assert e2.value.errno == errno.ENOENT


def test_missing_and_unreadable(tmp_path, monkeypatch):
    missing = tmp_path / "ない.txt"
    with pytest.raises(UnreadableFile) as e:
        read_capped(missing, 10, what=WHAT)
    assert (e.value.errno, e.value.reason) == (errno.ENOENT, "No such file or directory")
    assert str(e.value) == f"{missing}: cannot read it (No such file or directory); give {WHAT}"

    path = tmp_path / "秘密.txt"
    path.write_text(JA, encoding="utf-8")
    real = os.open

    def denied(p, *a, **k):  # chmod 000 does not stop root, so the refusal is simulated
        if os.fspath(p) == str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(p))
        return real(p, *a, **k)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(UnreadableFile) as e:
        read_capped(path, 1000, what=WHAT)
    assert (e.value.errno, e.value.reason) == (errno.EACCES, "Permission denied")


def test_open_regular_hands_back_the_file_from_its_start(tmp_path):
    path = tmp_path / "重み.safetensors"
    path.write_bytes(JA.encode("utf-8"))
    with open_regular(path, 1 << 20, what=WHAT) as f:
        assert f.read() == JA.encode("utf-8")


# -- the four readers keep their own errors and words ------------------------------------------------------
def test_tokenizer_file_over_the_limit_is_refused_unread(tmp_path, monkeypatch, reads):
    path = tmp_path / "トークナイザ.json"
    with open(path, "wb") as f:
        f.truncate(10 << 30)
    monkeypatch.delenv("TOKCLI_MAX_TOKENIZER_BYTES", raising=False)
    with pytest.raises(TokenizerFileError) as e:
        read_tokenizer_file(path)
    assert str(e.value).startswith(f"{path}: 10240.0 MiB is more than the 64.0 MiB tokcli reads as a tokenizer")
    assert reads == []


def test_tokenizer_file_growing_after_the_check(tmp_path, monkeypatch):
    path = tmp_path / "tokenizer.json"
    path.write_bytes(b"{}")
    monkeypatch.setenv("TOKCLI_MAX_TOKENIZER_BYTES", "100")
    grow_after_fstat(monkeypatch, path, b" " * 1000)
    with pytest.raises(TokenizerFileError, match=r"tokenizer.json: 101 bytes is more than the 100 bytes"):
        read_tokenizer_file(path)


@pytest.fixture
def model_dir(tmp_path) -> Path:
    return Path(tiny_model_dir(tmp_path / "モデル", "char", JA * 3))


def test_model_config_that_is_a_fifo_or_too_large(model_dir):
    path = model_dir / "config.json"
    path.unlink()
    with open(path, "wb") as f:
        f.truncate(MAX_CONFIG_BYTES + 1)
    with pytest.raises(ModelFileError) as e:
        read_config(model_dir)
    assert str(e.value) == f"{path}: larger than 16 MiB; no tokcli model config is"

    path.unlink()
    os.mkfifo(path)  # is_file() says no before anything is opened
    e2 = in_thread(read_config, model_dir)
    assert isinstance(e2, ModelFileError)
    assert str(e2) == f"{model_dir}: no config.json; give a model directory written by `tokcli lm train`"


def test_model_config_swapped_for_a_fifo_after_the_is_file_check(model_dir, monkeypatch):
    path = model_dir / "config.json"
    path.unlink()
    os.mkfifo(path)
    monkeypatch.setattr(Path, "is_file", lambda self: True)  # as if it had been a file a moment before
    e = in_thread(read_config, model_dir)
    assert isinstance(e, ModelFileError)
    assert str(e) == f"{path}: not a regular file; the model directory is corrupt"


def test_weights_that_are_a_fifo_or_a_directory(model_dir):
    cfg = read_config(model_dir)
    path = model_dir / "model.safetensors"
    check_weights_file(path, cfg)  # the real one passes
    path.unlink()
    os.mkfifo(path)
    e = in_thread(check_weights_file, path, cfg)
    assert isinstance(e, ModelFileError)
    assert str(e) == f"{path}: not a regular file; the model directory is corrupt"
    path.unlink()
    path.mkdir()
    with pytest.raises(ModelFileError, match="not a regular file; the model directory is corrupt"):
        check_weights_file(path, cfg)
    path.rmdir()
    with pytest.raises(ModelFileError, match=r"cannot read it \(No such file or directory\)"):
        check_weights_file(path, cfg)


def test_toml_configuration(tmp_path, monkeypatch, reads):
    path = tmp_path / "設定.toml"
    path.write_text('tokenizer = "char"  # 文字\n', encoding="utf-8")
    assert read_toml(path) == {"tokenizer": "char"}

    big = tmp_path / "大きい.toml"
    with open(big, "wb") as f:
        f.truncate(10 << 30)
    reads.clear()
    with pytest.raises(InputError) as e:
        read_toml(big)
    assert str(e.value) == f"{big}: larger than {MAX_TOML_BYTES >> 20} MiB; is it really a configuration file?"
    assert reads == []  # refused from fstat, unread

    fifo = tmp_path / "パイプ.toml"
    os.mkfifo(fifo)
    e2 = in_thread(read_toml, fifo)
    assert isinstance(e2, InputError) and str(e2) == f"{fifo}: not a regular file"
    for missing in (tmp_path / "ない.toml", path / "下"):  # nothing there, or a file taken for a directory
        with pytest.raises(InputError) as e:
            read_toml(missing)
        assert str(e.value) == f"{missing}: not a regular file"

    grown = tmp_path / "育つ.toml"
    grown.write_text('a = "あ"\n', encoding="utf-8")
    grow_after_fstat(monkeypatch, grown, b"#" * (2 << 20))
    with pytest.raises(InputError, match=r"larger than 1 MiB; is it really a configuration file\?"):
        read_toml(grown)

    bad = tmp_path / "壊れた.toml"
    bad.write_bytes(b'a = "\xff"\n')
    with pytest.raises(InputError, match="not valid UTF-8; TOML files are UTF-8"):
        read_toml(bad)
