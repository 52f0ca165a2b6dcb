"""The output directories of `lm train` (the model directory and its `.ckpt` checkpoint): replaced whole,
through a hidden staging directory beside them, and only when they are empty or tokcli's own."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tokcli.errors import UsageError
from tokcli.model.config import FORMAT

CKPT_FORMAT = "tokcli-ckpt v1"
_OWN_FILES = {
    "model": ("config.json", {"config.json", "model.safetensors", "tokenizer.json"}),
    "checkpoint": ("state.json", {"state.json", "state.safetensors"}),
}


def check_output_dir(path: Path, kind: str) -> None:
    """Raise UsageError unless `path` may be replaced by a new `kind` ("model" or "checkpoint") directory.

    It may when it does not exist, is an empty directory, or is a directory tokcli wrote: a model
    directory (config.json of format FORMAT) or a checkpoint (state.json written by `lm train`) holding
    nothing but the files tokcli writes there. Anything else, a regular file included, is left alone.
    The directory it is in must exist and take a new directory (tried: a hidden one made and removed),
    so that a read-only place is refused before any training, not after it.
    """
    _check_may_replace(path, kind)
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"{path}: directory {parent} does not exist; create it first, or write the {kind} elsewhere")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".check", dir=parent))
    except OSError as e:
        raise UsageError(
            f"{path}: cannot write the {kind} there ({e.strerror}); check that {parent} is writable, or write elsewhere"
        ) from None


def _check_may_replace(path: Path, kind: str) -> None:
    what = "tokcli model directory" if kind == "model" else "tokcli checkpoint directory"
    fix = "give a new or empty directory, or move it away"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise UsageError(f"{path}: cannot use it for the {kind}: {e.strerror}; {fix}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{path}: exists and is not a directory; the {kind} is a directory: {fix}")
    try:
        entries = set(os.listdir(path))
    except OSError as e:
        raise UsageError(f"{path}: cannot list it: {e.strerror}; {fix}") from None
    if not entries:
        return
    marker, own = _OWN_FILES[kind]
    if not _is_own(path / marker, kind):
        raise UsageError(f"{path}: not a {what} (no {marker} written by `tokcli lm train`); not replacing it: {fix}")
    extra = sorted(entries - own)
    if extra:
        shown = ", ".join(extra[:3]) + (f" and {len(extra) - 3} more" if len(extra) > 3 else "")
        raise UsageError(
            f"{path}: a {what}, but it also holds {shown}, which tokcli did not write; not replacing it: {fix}"
        )


def _is_own(marker: Path, kind: str) -> bool:
    try:
        raw = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(raw, dict):
        return False
    if kind == "model":
        return raw.get("format") == FORMAT
    # checkpoints written before the format field have these keys
    return raw.get("format") == CKPT_FORMAT or {"step", "history", "elapsed_s", "options"} <= raw.keys()


def real_path(path: Path) -> Path:
    """A symbolic link to a directory stands for that directory: it is the directory that is replaced."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


@contextmanager
def staging(target: Path, kind: str) -> Iterator[Path]:
    """A new hidden directory beside `target` to fill; swapped in for `target` when the block ends well,
    removed on any error, Ctrl-C or SIGTERM. Never deletes a directory tokcli did not make."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as e:
        raise UsageError(f"{target}: cannot write the {kind} there: {e.strerror}") from None
    try:
        try:
            yield tmp
            _swap_dir(tmp, target, kind)
        except OSError as e:
            raise UsageError(f"{target}: cannot write the {kind}: {e.strerror}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_dir(new: Path, target: Path, kind: str) -> None:
    check_output_dir(target, kind)  # again: a user may have put something there during training
    if not target.exists():
        new.rename(target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    target.rename(old)  # over the empty directory mkdtemp made
    try:
        new.rename(target)
    except BaseException:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)
