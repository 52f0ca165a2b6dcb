"""A cache of token counts across runs (`--cache DIR`, TOKCLI_CACHE_DIR, `[tool.tokcli] cache`): a file's
count under a tokenizer, kept under the file's content and the tokenizer's fingerprint, so that a second
run over unchanged files reads and hashes them but tokenizes nothing.

    DIR/CACHEDIR.TAG          the marker: DIR holds a tokcli count cache (and backup tools may skip it)
    DIR/counts-v1.sqlite      the entries (with its -wal and -shm files while in use)

One entry per (fingerprint, blob): the fingerprint names the tokenizer and how the text was read
(tokcli.tokenizer.counting.cache_fingerprint), the blob is the object id git gives the content,
sha1(b"blob <size>\\0" + content), computed here without git. Each entry carries a checksum of what it
says; one that fails it is a miss (counted again and written over). SQLite in WAL mode takes concurrent
runs (one writer at a time, readers never blocked); every run writes its new entries in one transaction.
The database is kept under `max_bytes`: past it, the least recently used entries go (down to half).

Nothing here prints: what went wrong with the cache (a read-only directory, a damaged file, a busy
database) is a line in `warnings`, at most one per run, and the counts are right regardless: a cache that
cannot be used is a cache that is not there.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tokcli.errors import InputError, UsageError

MARKER = "CACHEDIR.TAG"
# the Cache Directory Tagging Specification's signature, then who made it (`tokcli cache clear` checks both)
MARKER_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by tokcli (token counts).\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
DB = "counts-v1.sqlite"
OWN_FILES = (DB, DB + "-wal", DB + "-shm", DB + "-journal", MARKER)  # everything tokcli puts in DIR
DEFAULT_MAX_BYTES = 256 << 20
USED_EVERY_NS = 3600 * 10**9  # an entry's time of last use is written again once it is this old (LRU to the hour)
BUSY_MS = 30_000  # how long a run waits for another run's write before going on without writing


def blob_id(data: bytes) -> bytes:
    """The 20-byte object id git gives a file with content `data` (its blob's sha1)."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.digest()


def _check(fp: str, blob: bytes, tokens: int, chars: int, nbytes: int) -> bytes:
    return hashlib.blake2b(f"{fp}|{blob.hex()}|{tokens}|{chars}|{nbytes}".encode(), digest_size=8).digest()


@dataclass(frozen=True)
class Entry:
    tokens: int
    chars: int
    bytes: int


def is_ours(directory: str | os.PathLike[str]) -> bool:
    """Whether `directory` holds tokcli's marker (a count cache tokcli made)."""
    try:
        with open(Path(directory) / MARKER, encoding="utf-8", errors="replace") as f:
            return f.read(4096) == MARKER_TEXT
    except OSError:
        return False


@dataclass
class CountCache:
    """An open count cache; `get` and `put` never raise for the cache's sake (see the module docstring)."""

    directory: Path
    max_bytes: int = DEFAULT_MAX_BYTES
    warnings: list[str] = field(default_factory=list)
    hits: int = 0
    misses: int = 0
    _db: sqlite3.Connection | None = None
    _writable: bool = True
    _pending: list[tuple[str, bytes, int, int, int, bytes, int]] = field(default_factory=list)
    _used: list[tuple[int, str, bytes]] = field(default_factory=list)

    @classmethod
    def open(cls, directory: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> CountCache:
        """The cache in `directory`, made (with its marker) if it is not there; an unusable one is a cache
        that finds nothing, with a warning. A `directory` that is not a directory is a UsageError."""
        path = Path(directory)
        if path.exists() and not path.is_dir():
            raise UsageError(f"--cache {directory}: not a directory; give a directory for the count cache")
        if max_bytes <= 0:
            raise UsageError(f"cache size {max_bytes}: give a positive number of bytes (--cache-max)")
        cache = cls(path, max_bytes)
        cache._connect()
        return cache

    def _warn(self, what: str) -> None:
        if not self.warnings:  # one line per run is enough
            self.warnings.append(f"count cache {self.directory}: {what}; counting without it (the counts are right)")

    def _connect(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if not (self.directory / MARKER).exists():
                from .atomic import atomic_write

                atomic_write(self.directory / MARKER, MARKER_TEXT)
        except (OSError, InputError):
            self._writable = False
        db = self.directory / DB
        if self._writable:
            try:
                self._db = self._setup_waiting(db)
                return
            except sqlite3.DatabaseError as e:
                if self._db_damaged(e):
                    return
                self._close()
        # read-only: look entries up if the database is there, write nothing
        self._writable = False
        if db.is_file():
            try:
                self._db = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
                self._db.execute("SELECT count(*) FROM counts LIMIT 1").fetchone()
            except sqlite3.DatabaseError:
                self._close()
        self._warn("cannot write to it (read-only?)" if self._db is not None else "cannot use it (read-only?)")

    def _setup_waiting(self, db: Path) -> sqlite3.Connection:
        """_setup, tried again while another run holds the database (up to BUSY_MS): runs that start at once
        on a new cache race to make it, and SQLite answers "database is locked" at once, without waiting,
        to a connection that would deadlock waiting (one that read while another was about to write)."""
        deadline = time.monotonic() + BUSY_MS / 1000
        while True:
            try:
                return self._setup(sqlite3.connect(db, timeout=BUSY_MS / 1000, isolation_level=None))
            except sqlite3.OperationalError as e:
                self._close()
                if "locked" not in str(e) and "busy" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _setup(self, db: sqlite3.Connection) -> sqlite3.Connection:
        self._db = db
        db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS counts (fp TEXT NOT NULL, blob BLOB NOT NULL, tokens INTEGER NOT NULL, "
            "chars INTEGER NOT NULL, bytes INTEGER NOT NULL, checksum BLOB NOT NULL, used INTEGER NOT NULL, "
            "PRIMARY KEY (fp, blob))"
        )
        db.execute("CREATE INDEX IF NOT EXISTS counts_used ON counts (used)")
        return db

    def _db_damaged(self, e: sqlite3.DatabaseError) -> bool:
        """A database file that is not one (damaged, truncated) in a directory tokcli made: made anew."""
        self._close()
        if "not a database" not in str(e) and "malformed" not in str(e) or not is_ours(self.directory):
            return False
        for name in OWN_FILES[:4]:
            try:
                os.unlink(self.directory / name)
            except OSError:
                pass
        try:
            self._setup_waiting(self.directory / DB)
        except sqlite3.DatabaseError:
            self._close()
            return False
        self.warnings.append(f"count cache {self.directory}: its database was damaged and was made anew")
        return True

    def _close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
        self._db = None

    def get_many(self, fp: str, blobs: Iterable[bytes]) -> dict[bytes, Entry]:
        """The sound entries of these blobs under `fp` (a damaged one is left out: a miss, written anew)."""
        wanted = list(dict.fromkeys(blobs))
        found: dict[bytes, Entry] = {}
        now = time.time_ns()
        if self._db is None or not wanted:
            self.misses += len(wanted)
            return found
        try:
            for i in range(0, len(wanted), 500):  # SQLite's limit on variables
                part = wanted[i : i + 500]
                marks = ",".join("?" * len(part))
                for blob, tokens, chars, nbytes, checksum, used in self._db.execute(
                    f"SELECT blob, tokens, chars, bytes, checksum, used FROM counts WHERE fp = ? AND blob IN ({marks})",
                    [fp, *part],
                ):
                    if (
                        isinstance(blob, bytes)
                        and all(type(v) is int and v >= 0 for v in (tokens, chars, nbytes))
                        and checksum == _check(fp, blob, tokens, chars, nbytes)
                    ):
                        found[blob] = Entry(tokens, chars, nbytes)
                        if not isinstance(used, int) or now - used > USED_EVERY_NS:
                            self._used.append((now, fp, blob))
        except sqlite3.DatabaseError as e:
            self._warn(f"cannot read it ({e})")
            self._close()
            found = {}
        self.hits += len(found)
        self.misses += len(wanted) - len(found)
        return found

    def get(self, fp: str, blob: bytes) -> Entry | None:
        return self.get_many(fp, [blob]).get(blob)

    def put(self, fp: str, blob: bytes, entry: Entry) -> None:
        """Keep `entry` (written with the others at `flush`)."""
        if self._writable:
            check = _check(fp, blob, entry.tokens, entry.chars, entry.bytes)
            self._pending.append((fp, blob, entry.tokens, entry.chars, entry.bytes, check, time.time_ns()))

    def flush(self) -> None:
        """Write the new entries and the times the found ones were used, in one transaction; then, when the
        database is over `max_bytes`, drop its least recently used entries down to half of it."""
        pending, used = self._pending, self._used
        self._pending, self._used = [], []
        if self._db is None or not self._writable or not (pending or used):
            return
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT OR REPLACE INTO counts VALUES (?, ?, ?, ?, ?, ?, ?)", pending)
                db.executemany("UPDATE counts SET used = ? WHERE fp = ? AND blob = ?", used)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            if pending:
                self._bound(db)
        except sqlite3.DatabaseError as e:
            self._warn(f"cannot write to it ({e})")

    def _bound(self, db: sqlite3.Connection) -> None:
        """Past `max_bytes`, the least recently used entries go until the entries left, packed (VACUUM), take
        about half of it: the next runs add to it a while before it is trimmed again (a VACUUM rewrites the
        database, and a B-tree gives pages back only when they are empty)."""
        for _ in range(4):
            size = db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
            if size <= self.max_bytes:
                return
            rows = db.execute("SELECT count(*) FROM counts").fetchone()[0]
            keep = int(rows * min(1.0, 0.5 * self.max_bytes / size))
            db.execute(
                "DELETE FROM counts WHERE rowid IN (SELECT rowid FROM counts ORDER BY used LIMIT ?)", (rows - keep,)
            )
            db.execute("VACUUM")

    def close(self) -> None:
        self.flush()
        self._close()

    def __enter__(self) -> CountCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def clear(directory: str | os.PathLike[str]) -> list[str]:
    """Delete the count cache in `directory`: only the files tokcli made there (its marker says it made
    them); the directory itself goes too when that leaves it empty. The files removed (none when there is no
    `directory`); an InputError when `directory` is not a tokcli count cache."""
    path = Path(directory)
    if not path.exists() and not path.is_symlink():
        return []  # nothing to clear
    if not path.is_dir():
        raise InputError(f"{directory}: not a directory; give the directory of a tokcli count cache")
    if not is_ours(path):
        raise InputError(f"{directory}: not a tokcli count cache (no {MARKER} written by tokcli); nothing was deleted")
    removed = []
    for name in OWN_FILES:  # the marker last: a clear cut short can be run again
        try:
            os.unlink(path / name)
            removed.append(str(path / name))
        except FileNotFoundError:
            pass
        except OSError as e:
            raise InputError(f"{path / name}: cannot delete it ({e.strerror}); check the permissions") from None
    try:
        path.rmdir()
    except OSError:
        pass  # other files (not tokcli's) stay
    return removed


def parse_size(text: str, where: str) -> int:
    """A size in bytes: an integer, or one with a K, M or G suffix (powers of 1024); a UsageError naming
    `where` otherwise."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    digits = t[:-1] if scale > 1 else t
    if not digits.isdigit() or int(digits) <= 0 or len(digits) > 15:
        raise UsageError(f"{where} {text!r}: give a positive size in bytes, such as 268435456 or 256M")
    return int(digits) * scale


def configured(given: str | None, *, off: bool = False, max_bytes: str | None = None) -> tuple[Path, int] | None:
    """The count cache a run uses, and its bound in bytes: None with `off` (--no-cache); else `given`
    (--cache), TOKCLI_CACHE_DIR, `cache` in [tool.tokcli] of the nearest pyproject.toml (relative to it),
    or in the user's config.toml; None when none says one. The bound: `max_bytes` (--cache-max), else
    TOKCLI_CACHE_MAX_BYTES, else DEFAULT_MAX_BYTES."""
    if off:
        return None
    where: Path | None = None
    if given:
        where = Path(given)
    elif env := os.environ.get("TOKCLI_CACHE_DIR"):
        where = Path(env)
    else:
        from .config import pyproject_tool, user_config

        path, tool = pyproject_tool()
        if path is not None and tool.get("cache"):
            where = path.parent / Path(tool["cache"]).expanduser()
        else:
            user_path, user = user_config()
            if user.get("cache"):
                where = user_path.parent / Path(user["cache"]).expanduser()
    if where is None:
        return None
    if max_bytes is not None:
        bound = parse_size(max_bytes, "--cache-max")
    elif env_max := os.environ.get("TOKCLI_CACHE_MAX_BYTES"):
        bound = parse_size(env_max, "TOKCLI_CACHE_MAX_BYTES")
    else:
        bound = DEFAULT_MAX_BYTES
    return where.expanduser(), bound
