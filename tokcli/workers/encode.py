"""`encode --to DIR`: every input encoded into flat binary shards of token ids plus a JSON index (see
tokcli.files.shards), one shard per task, each written atomically by the worker that encoded it.

The client enters each finished shard in the index (rewritten atomically, at most every INDEX_EVERY
seconds and at the end), so a run that is interrupted can be run again with the same arguments: a
shard whose index entry names the same sources and whose file has the size its token count gives is
kept; the others are encoded again. The plan does not depend on the number of workers, so the shards
are the same bytes with and without --workers.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from tokcli.errors import InputError, UsageError, limit_from_env
from tokcli.files.capped import CappedReadError, read_capped
from tokcli.files.shards import FORMAT, INDEX, SHARD_FILE, SHARD_NAME, dtype_for, fingerprint, itemsize
from tokcli.files.walk import WalkOptions

from .count import Progress, ProgressFn, specs_of
from .files import digest, expand, is_url, join, make_dir, read_bytes, size, write_bytes
from .plan import TASK_BYTES, Task, plan
from .runner import Where, run
from .work import ShardResult, encode_task, parts

INDEX_EVERY = 2.0  # seconds between rewrites of the index while shards finish


@dataclass
class Written:
    """What encode_to did: the directory, its index, and how many shards it wrote or kept."""

    path: str
    index: dict[str, Any]
    written: int
    kept: int
    missing: int = 0  # records without text in the field (this run's shards only)

    @property
    def tokens(self) -> int:
        return int(self.index["total_tokens"])


def encode_to(
    paths: str | Sequence[str],
    tokenizer: str,
    out_dir: str,
    client: Any = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float | None = None,
    eot: int | str | None = None,
    special: str = "text",
    add_special: bool = False,
    errors: str = "strict",
    walk: WalkOptions | None = None,
    task_bytes: int = TASK_BYTES,
    progress: ProgressFn | None = None,
    field: str | None = None,
) -> Written:
    """Encode every file of `paths` with `tokenizer` into shards in `out_dir` (a new or empty directory, one
    this function wrote before, which it resumes, or an fsspec URL). `eot`: a token id, or a special-token
    string such as "<|endoftext|>", appended after each file. With `field`, the inputs are JSONL or Parquet
    files and each record's text in that field is a document (`eot` after each; records without it are
    left out and counted in `missing`). Runs where `count` runs (see there).

        >>> encode_to(["corpus/"], "o200k_base", "shards/", eot="<|endoftext|>")   # doctest: +SKIP
    """
    (spec,) = specs_of(tokenizer, special, add_special)
    where = Where(workers, scheduler, client, timeout=timeout)
    where.check()
    tok = spec.load()
    eot_id = eot_token(tok, eot)
    dtype = dtype_for(tok.vocab_size)
    out = out_dir if is_url(out_dir) else os.path.abspath(out_dir)
    paths = [paths] if isinstance(paths, str) else list(paths)
    tasks: list[Any]  # Task, or RecordTask with --field: both have index, pieces (their files) and nbytes
    if field is not None:
        from tokcli.analysis.records import require_field

        from .records import encode_record_task, record_tasks

        files, parts_ = record_tasks(paths, task_bytes)
        for f in files:  # a field no record has: refused before a shard is written (as count --field refuses it)
            require_field(f.path, field, errors=errors)
        tasks = cast("list[Any]", parts_)
        fn: Any = encode_record_task
        extra: dict[str, Any] = {"field": field}
    else:
        files, _ = expand(paths, walk)
        tasks = cast("list[Any]", plan(files, [parts(tok)[0]], task_bytes))
        fn, extra = encode_task, {}
    header = {
        "format": FORMAT,
        "tokenizer": {"name": tok.name, "fingerprint": fingerprint(tok), "vocab_size": tok.vocab_size,
                      "special": special, "add_special": add_special},
        "dtype": dtype, "byteorder": "little", "eot": eot_id, "task_bytes": task_bytes, "field": field,
    }  # fmt: skip
    lock = _lock(out_dir, out)  # before anything in the directory is read or written; released at the end
    try:
        entries = _kept(out_dir, out, header, tasks)
        kept = len(entries)
        todo = [t for t in tasks if SHARD_NAME.format(t.index) not in entries]
        state = Progress.of(files, tasks)
        for t in tasks:
            if SHARD_NAME.format(t.index) in entries:
                state.done(t)
        # an index from the start: a run stopped by an error, Ctrl-C or SIGTERM can always be resumed
        _write_index(out, header, tasks, entries, complete=False)
        last_write = [time.monotonic()]
        missing = [0]

        def done(task: Task, r: ShardResult) -> None:
            if r.error is not None:
                raise InputError(r.error)
            sources = _sources(task)
            if len(r.digests) == len(sources):
                sources = [{**s, "sha256": d} for s, d in zip(sources, r.digests, strict=True)]
            entries[r.file] = {"file": r.file, "tokens": r.tokens, "sources": sources}
            missing[0] += r.missing
            state.done(task)
            if time.monotonic() - last_write[0] > INDEX_EVERY:
                _write_index(out, header, tasks, entries, complete=False)
                last_write[0] = time.monotonic()
            if progress:
                progress(state)

        if progress:
            progress(state)
        try:
            run(fn, todo, where, done, spec=spec, out_dir=out, dtype=dtype, eot=eot_id, errors=errors, **extra)
        except BaseException:
            try:  # keep what finished: the rerun resumes from here
                _write_index(out, header, tasks, entries, complete=False)
            except Exception:  # noqa: S110 - the error that stopped the run is the one to report
                pass
            raise
        index = _write_index(out, header, tasks, entries, complete=True)
    finally:
        if lock is not None:
            os.close(lock)
    return Written(out_dir, index, len(todo), kept, missing[0])


def eot_token(tok: Any, eot: int | str | None) -> int | None:
    """The id of --eot: an id of the vocabulary, or the string of one of its special tokens."""
    if eot is None:
        return None
    if isinstance(eot, str) and not eot.isdigit():
        specials = tok.special_tokens()
        if eot not in specials:
            known = ", ".join(list(specials)[:8]) or "none"
            raise UsageError(f"--eot {eot!r} is not a special token of {tok.name} (it has: {known}); or give an id")
        return int(specials[eot])
    i = int(eot)
    if not 0 <= i < tok.vocab_size:
        raise UsageError(f"--eot {i} is outside the vocabulary of {tok.name} (0..{tok.vocab_size - 1})")
    return i


def _sources(task: Any) -> list[dict[str, Any]]:
    if hasattr(task, "split"):  # a part of a records file: byte range or row groups, and its first line or row
        s = task.split
        return [{"path": s.path, "start": s.start, "stop": s.stop, "first": s.first}]
    return [{"path": p.path, "start": p.start, "stop": p.stop} for p in task.pieces]


LOCK = ".tokcli.lock"  # in the output directory: held (fcntl.flock) by the run writing it, holds its pid
INDEX_LIMIT = 256 << 20  # bytes of an index.json read back (TOKCLI_MAX_INDEX_BYTES)


def _lock(out_dir: str, out: str) -> int | None:
    """Create the output directory and take its lock: the descriptor of DIR/.tokcli.lock, or None where
    there is no flock (Windows, URLs). UsageError when another run holds it."""
    names = make_dir(out)
    if is_url(out):
        return None
    _check_names(out_dir, out, names)
    if INDEX not in names:
        _refuse_foreign(out_dir, names)  # before the lock file is made in a directory that is not ours
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    path = os.path.join(out, LOCK)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as e:
        raise InputError(f"{path}: cannot write it ({e.strerror}); give a directory you can write") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pid = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise UsageError(
            f"{out_dir}: is being written by another tokcli (pid {pid}); wait for it to end, or give another directory"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _check_names(out_dir: str, out: str, names: Sequence[str]) -> None:
    """UsageError when a name tokcli writes in the directory is a symbolic link or not a regular file: a
    rerun would write through it, outside the directory."""
    for name in names:
        p = os.path.join(out, name)
        if (name in (INDEX, LOCK) or SHARD_FILE.fullmatch(name)) and (os.path.islink(p) or not os.path.isfile(p)):
            if os.path.islink(p):
                raise UsageError(
                    f"{p}: is a symbolic link; tokcli writes only its own regular files there (a rerun would "
                    "write through it): remove it, or give a new or empty directory"
                )
            raise UsageError(f"{p}: is not a regular file; give a new or empty directory")


def _refuse_foreign(out_dir: str, names: Sequence[str]) -> None:
    """UsageError when a directory without an index holds anything but the lock and temporary files."""
    if [n for n in names if not (n == LOCK or n.startswith((".shard-", ".index.json.")))]:
        raise UsageError(
            f"{out_dir}: is not empty and has no {INDEX} (it was not written by `tokcli encode --to`); "
            "give a new or empty directory"
        )


def _ranges(task: Any) -> list[tuple[str, int, int | None]]:
    """(path, start, stop) of the bytes each source of a task was read from (what its digests cover)."""
    if hasattr(task, "split"):
        from .records import source_range

        return [source_range(task)]
    return [(p.path, p.start, p.stop) for p in task.pieces]


def _read_index(out: str) -> bytes | None:
    path = join(out, INDEX)
    if is_url(out):
        return read_bytes(path)
    if not os.path.lexists(path):
        return None
    limit = limit_from_env("TOKCLI_MAX_INDEX_BYTES", INDEX_LIMIT)
    try:
        return read_capped(path, limit, what="a shard index (set TOKCLI_MAX_INDEX_BYTES for a larger one)")
    except CappedReadError as e:
        raise UsageError(f"{e}; or give a new directory") from None


def _kept(out_dir: str, out: str, header: dict[str, Any], tasks: Sequence[Task]) -> dict[str, dict[str, Any]]:
    """The entries of shards a previous run wrote that this run keeps: same plan, same size, and inputs
    whose bytes have the sha256 recorded when they were encoded (after checking the directory is one
    tokcli may write into)."""
    names = make_dir(out)
    if not is_url(out):
        _check_names(out_dir, out, names)
    raw = _read_index(out)
    if raw is None:
        _refuse_foreign(out_dir, names)
        return {}
    try:
        old = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        old = None
    if not isinstance(old, dict) or old.get("format") != FORMAT:
        raise UsageError(f"{out_dir}/{INDEX}: not a tokcli shard index; give a new or empty directory")
    for key in ("tokenizer", "dtype", "eot", "task_bytes", "field"):
        if old.get(key) != header[key]:
            raise UsageError(
                f"{out_dir}: holds shards made with other settings ({key}: {old.get(key)!r}, now {header[key]!r}); "
                "give a new directory, or the same tokenizer and options to resume"
            )
    by_name = {SHARD_NAME.format(t.index): t for t in tasks}
    kept: dict[str, dict[str, Any]] = {}
    entries = old.get("shards")
    for e in entries if isinstance(entries, list) else []:
        if not (isinstance(e, dict) and isinstance(e.get("file"), str) and e["file"] in by_name):
            continue
        if not isinstance(e.get("tokens"), int) or isinstance(e["tokens"], bool) or e["tokens"] < 0:
            continue
        name = str(e["file"])
        task = by_name[name]
        sources = e.get("sources")
        if name in kept or not isinstance(sources, list) or not all(isinstance(x, dict) for x in sources):
            continue
        digests = [x.get("sha256") for x in sources]
        if [{k: v for k, v in x.items() if k != "sha256"} for x in sources] != _sources(task):
            continue
        if size(join(out, name)) != e["tokens"] * itemsize(header["dtype"]):
            continue
        # the inputs must be what was encoded: their bytes now, not their sizes or times, decide
        if not all(isinstance(d, str) for d in digests) or [digest(*r) for r in _ranges(task)] != digests:
            continue
        kept[name] = {"file": name, "tokens": e["tokens"], "sources": sources}
    return kept


def _write_index(out: str, header: dict[str, Any], tasks: Sequence[Task], entries: dict[str, dict[str, Any]],
                 *, complete: bool) -> dict[str, Any]:  # fmt: skip
    shards = [entries[n] for t in tasks if (n := SHARD_NAME.format(t.index)) in entries]
    index = {**header, "complete": complete, "planned_shards": len(tasks), "shards": shards,
             "total_tokens": sum(s["tokens"] for s in shards)}  # fmt: skip
    write_bytes(join(out, INDEX), (json.dumps(index, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    return index
