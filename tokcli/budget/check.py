"""Token budgets for files, as a CI check: `check(budgets)` counts every file and says what is over.

A budget is a limit (`max_tokens`, or a model's input budget less `reserve` tokens kept for the answer)
under one tokenizer, applied to each file (default) or to their total. Files come from paths:

    a file        always checked
    a directory   walked honouring .gitignore: `git ls-files --cached --others --exclude-standard` inside a
                  git work tree, else tokcli's own reading of the .gitignore files (see `GitIgnore`)
    a glob        expanded like a shell would (`**` crosses directories); nothing is ignored

Budgets can live in pyproject.toml, so that `tokcli check` alone works in a repository:

    [tool.tokcli]
    tokenizer = "o200k_base"              # default for the budgets below (else the model's, else cl100k_base)

    [[tool.tokcli.budget]]
    paths = ["prompts/**/*.md"]           # globs relative to pyproject.toml, over the files git does not ignore
    max-tokens = 4000

    [[tool.tokcli.budget]]
    paths = ["docs/**/*.md"]
    model = "gpt-4o"                      # the model's input budget ...
    reserve = 2000                        # ... less tokens kept free for the answer
    total = true                          # all matching files together
"""

from __future__ import annotations

import glob as globmod
import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import regex

from tokcli.errors import InputError, UsageError
from tokcli.textio import Source, is_binary_file, iter_text

DEFAULT_TOKENIZER = "cl100k_base"
GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Budget:
    """A limit under one tokenizer, for the files of `paths`."""

    paths: tuple[str, ...]
    tokenizer: str
    limit: int  # tokens allowed per file, or in total
    total: bool = False  # the limit applies to the files together
    max_tokens: int | None = None
    model: str | None = None
    reserve: int = 0
    exact: bool = True  # False: counted with a proxy tokenizer for a model whose tokenizer is private
    origin: str = "command line"
    root: str = "."  # what globs from a config file are relative to


@dataclass(frozen=True)
class FileResult:
    path: str
    tokens: int
    limit: int | None  # None in a total budget: the limit is on the total
    status: str  # "ok" or "over" ("counted" in a total budget)


@dataclass
class BudgetResult:
    budget: Budget
    files: list[FileResult]
    tokens: int  # all files together

    @property
    def over(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "over"]

    @property
    def ok(self) -> bool:
        return self.tokens <= self.budget.limit if self.budget.total else not self.over


@dataclass
class CheckReport:
    results: list[BudgetResult]
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def summary(self) -> str:
        parts = []
        for r in self.results:
            b = r.budget
            if b.total:
                verdict = "within" if r.ok else "over"
                parts.append(f"{len(r.files)} files, {r.tokens:,} tokens in total: {verdict} the limit of {b.limit:,}")
            else:
                parts.append(f"{len(r.over)} of {len(r.files)} files over the limit of {b.limit:,} tokens")
        return "; ".join(parts)


# -- budgets ------------------------------------------------------------------------------------------


def make_budget(
    paths: Sequence[str] = (".",),
    *,
    max_tokens: int | None = None,
    model: str | None = None,
    reserve: int = 0,
    tokenizer: str | None = None,
    total: bool = False,
    default_tokenizer: str | None = None,
    origin: str = "command line",
    root: str = ".",
) -> Budget:
    """A Budget from command-line style options: --max-tokens N, or --model NAME [--reserve N], or both
    (the smaller limit wins). The tokenizer is the one given, else the model's, else the default."""
    if max_tokens is None and model is None:
        raise UsageError(
            "no budget: give --max-tokens N or --model NAME, or add [[tool.tokcli.budget]] to pyproject.toml"
        )
    if max_tokens is not None and max_tokens < 1:
        raise UsageError(f"{origin}: max-tokens {max_tokens} must be positive")
    if reserve < 0:
        raise UsageError(f"{origin}: reserve {reserve} must not be negative")
    exact = True
    limits = []
    if model is not None:
        from .models import get_model, input_budget

        entry = get_model(model)
        limits.append(input_budget(entry, reserve))
        if tokenizer is None:
            tokenizer = entry.counting_tokenizer
            exact = entry.exact
    if max_tokens is not None:
        limits.append(max_tokens - (reserve if model is None else 0))
        if limits[-1] < 1:
            raise UsageError(f"{origin}: reserve {reserve} leaves no room under max-tokens {max_tokens}")
    tok = tokenizer or default_tokenizer or DEFAULT_TOKENIZER
    return Budget(tuple(paths), tok, min(limits), total, max_tokens, model, reserve, exact, origin, root)


def pyproject_budgets(start: str | Path | None = None) -> list[Budget]:
    """The budgets of [[tool.tokcli.budget]] in the nearest pyproject.toml (see the module docstring)."""
    from .models import pyproject_tool

    path, tool = pyproject_tool(start)
    entries = tool.get("budget", [])
    if path is None or not entries:
        return []
    if not isinstance(entries, list):
        raise InputError(f"{path}: [tool.tokcli] budget must be an array of tables: [[tool.tokcli.budget]]")
    known = {"paths", "path", "max-tokens", "model", "reserve", "tokenizer", "total"}
    budgets = []
    for i, e in enumerate(entries):
        where = f"{path}: budget #{i + 1}"
        if not isinstance(e, dict):
            raise InputError(f"{where} must be a table")
        keys = {k.replace("_", "-"): v for k, v in e.items()}
        if unknown := sorted(set(keys) - known):
            raise InputError(f"{where}: unknown key {unknown[0]!r}; use {', '.join(sorted(known))}")
        paths = keys.get("paths", keys.get("path", ["**/*"]))
        paths = [paths] if isinstance(paths, str) else paths
        for k in ("max-tokens", "reserve"):
            if k in keys and (not isinstance(keys[k], int) or isinstance(keys[k], bool)):
                raise InputError(f"{where}: {k} must be an integer")
        budgets.append(
            make_budget(
                [str(p) for p in paths], max_tokens=keys.get("max-tokens"), model=keys.get("model"),
                reserve=keys.get("reserve", 0), tokenizer=keys.get("tokenizer"), total=bool(keys.get("total", False)),
                default_tokenizer=tool.get("tokenizer"), origin=str(path), root=str(path.parent),
            )
        )  # fmt: skip
    return budgets


# -- finding files ------------------------------------------------------------------------------------


def has_glob(p: str) -> bool:
    return any(c in p for c in GLOB_CHARS)


def collect(paths: Sequence[str]) -> list[str]:
    """The files of command-line paths: files as given, directories walked honouring .gitignore, globs expanded."""
    files: list[str] = []
    for p in paths:
        if has_glob(p):
            found = sorted(f for f in globmod.glob(p, recursive=True) if os.path.isfile(f) and not _in_git_dir(f))
            if not found:
                raise InputError(f"{p}: no files match")
            files.extend(found)
        elif os.path.isdir(p):
            files.extend(_join(p, f) for f in walk(p))
        elif os.path.isfile(p):
            files.append(p)
        elif os.path.exists(p):
            raise InputError(f"{p}: not a regular file or directory")
        else:
            raise InputError(f"{p}: no such file or directory")
    return list(dict.fromkeys(files))


def _join(d: str, f: str) -> str:
    return f if d in (".", "./") else os.path.join(d, f)


def _in_git_dir(path: str) -> bool:
    return ".git" in Path(path).parts


def walk(directory: str | Path) -> list[str]:
    """Text files under `directory` that git does not ignore, relative to it, sorted ('/' separated)."""
    listed = _git_files(Path(directory))
    if listed is None:
        listed = list(GitIgnore.walk(Path(directory)))
    out = []
    for rel in sorted(set(listed)):
        f = Path(directory) / rel
        if f.is_file() and not f.is_symlink() and not is_binary_file(f):
            out.append(rel)
    return out


def _git_files(directory: Path) -> list[str] | None:
    """`git ls-files --cached --others --exclude-standard` in `directory`, or None outside a work tree."""
    if os.environ.get("TOKCLI_NO_GIT") == "1":
        return None
    try:
        inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=directory,
                                capture_output=True, text=True, timeout=30)  # fmt: skip
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return None
        res = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=directory, capture_output=True, timeout=120)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    return [p for p in res.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


class GitIgnore:
    """A small reading of .gitignore files, for directories outside a git work tree.

    Handles: comments, blank lines, `!` negation, a trailing `/` (directories only), anchoring by a `/`
    at the start or in the middle, `*`, `?`, `[...]` and `**`; each directory's .gitignore applies
    below it, the last matching rule wins, and nothing inside an ignored directory is re-included.
    Not handled: .git/info/exclude and the global excludes file (there is no git here to ask).
    """

    def __init__(self) -> None:
        self.rules: list[tuple[str, regex.Pattern[str], bool, bool]] = []  # base, pattern, negate, dir_only

    def add(self, base: str, lines: Sequence[str]) -> None:
        for raw in lines:
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            line = regex.sub(r"(?<!\\)\s+$", "", line)
            negate = line.startswith("!")
            if negate:
                line = line[1:]
            if line.startswith(("\\#", "\\!")):
                line = line[1:]
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            if not line:
                continue
            anchored = "/" in line
            line = line.lstrip("/")
            rx = glob_regex(line)
            pattern = regex.compile(rx if anchored else r"(?:.*/)?" + rx)
            self.rules.append((base, pattern, negate, dir_only))

    def ignored(self, rel: str, is_dir: bool) -> bool:
        verdict = False
        for base, pattern, negate, dir_only in self.rules:
            if dir_only and not is_dir:
                continue
            if base:
                if not rel.startswith(base + "/"):
                    continue
                sub = rel[len(base) + 1 :]
            else:
                sub = rel
            if pattern.fullmatch(sub):
                verdict = not negate
        return verdict

    @classmethod
    def walk(cls, root: Path) -> Iterator[str]:
        """Paths (relative to root, '/' separated) of the files not ignored, top-down."""
        ign = cls()
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            rel_dir = "" if rel_dir == "." else rel_dir
            gi = Path(dirpath) / ".gitignore"
            if gi.is_file():
                ign.add(rel_dir, gi.read_text(encoding="utf-8", errors="replace").splitlines())
            keep = []
            for d in sorted(dirnames):
                rel = f"{rel_dir}/{d}" if rel_dir else d
                if d != ".git" and not ign.ignored(rel, True):
                    keep.append(d)
            dirnames[:] = keep
            for name in sorted(filenames):
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if not ign.ignored(rel, False):
                    yield rel


@cache
def glob_regex(pattern: str) -> str:
    """A regex (for fullmatch on '/'-separated paths) for a gitignore-style glob."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i) and (i == 0 or pattern[i - 1] == "/"):
            out.append(r"(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i) and (i == 0 or pattern[i - 1] == "/") and i + 2 == n:
            out.append(r".*")
            i += 2
        elif c == "*":
            out.append(r"[^/]*")
            i += 1
        elif c == "?":
            out.append(r"[^/]")
            i += 1
        elif c == "[" and (j := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1 : j]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = j + 1
        elif c == "\\" and i + 1 < n:
            out.append(regex.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(regex.escape(c))
            i += 1
    return "".join(out)


def match_glob(pattern: str, rel: str) -> bool:
    """Whether a '/'-separated relative path matches a glob (`**` crosses directories; no leading ./)."""
    pattern = pattern[2:] if pattern.startswith("./") else pattern
    return regex.fullmatch(glob_regex(pattern), rel) is not None


# -- checking -----------------------------------------------------------------------------------------


def files_for(budget: Budget, restrict: Sequence[str] = ()) -> list[str]:
    """The files a budget covers. Command-line budgets: `collect(paths)`. Config budgets: the files of the
    project (honouring .gitignore) matching its globs, further limited to `restrict` when given."""
    if budget.origin == "command line":
        return collect(budget.paths)
    root = Path(budget.root)
    cwd = Path.cwd()
    found = []
    for rel in walk(root):
        if any(match_glob(p, rel) for p in budget.paths):
            f = root / rel
            try:
                found.append(os.path.relpath(f, cwd))
            except ValueError:
                found.append(str(f))
    if restrict:
        wanted = {os.path.abspath(f) for f in collect(restrict)}
        found = [f for f in found if os.path.abspath(f) in wanted]
    return found


def count_file(tok: Any, path: str, errors: str = "strict") -> int:
    return tok.count_stream(iter_text(Source(path), errors=errors))


def check(budgets: Sequence[Budget], *, restrict: Sequence[str] = (), errors: str = "strict") -> CheckReport:
    """Count every file of every budget and compare with its limit. Raises InputError for unreadable files."""
    from tokcli.tokenizer.registry import load

    if not budgets:
        raise UsageError(
            "no budget: give --max-tokens N or --model NAME, or add [[tool.tokcli.budget]] to pyproject.toml"
        )
    report = CheckReport([])
    for b in budgets:
        tok = load(b.tokenizer)
        files = files_for(b, restrict)
        if not files:
            report.warnings.append(f"{b.origin}: no files match {', '.join(b.paths)}")
        results = []
        for f in files:
            n = count_file(tok, f, errors)
            status = "counted" if b.total else ("ok" if n <= b.limit else "over")
            results.append(FileResult(f.replace(os.sep, "/"), n, None if b.total else b.limit, status))
        report.results.append(BudgetResult(b, results, sum(r.tokens for r in results)))
    return report
