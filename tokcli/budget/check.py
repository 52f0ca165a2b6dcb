"""Token budgets for files, as a CI check: `check(budgets)` counts every file and says what is over.

A budget is a limit (`max_tokens`, or a model's input budget less `reserve` tokens kept for the answer)
under one tokenizer, applied to each file (default) or to their total. Files come from paths:

    a file        always checked
    a directory   walked as every command walks one (tokcli.files.walk): .gitignore honoured, hidden files
                  left out unless --hidden, --exclude globs applied; git itself is never run
    a glob        expanded like a shell would (`**` crosses directories), filtered the same way

Budgets can live in pyproject.toml, so that `tokcli check` alone works in a repository:

    [tool.tokcli]
    tokenizer = "o200k_base"              # default for the budgets below (else the model's, else cl100k_base)
    margin = "10%"                        # safety margin on estimated counts (default for the budgets below)

    [[tool.tokcli.budget]]
    paths = ["prompts/**/*.md"]           # globs relative to pyproject.toml, over the files git does not ignore
    max-tokens = 4000                     # (a directory matches everything under it)

    [[tool.tokcli.budget]]
    paths = ["docs/**/*.md"]
    model = "gpt-4o"                      # the model's input budget ...
    reserve = 2000                        # ... less tokens kept free for the answer
    total = true                          # all matching files together
    allow-empty = true                    # pass when no file matches (else that is an error, exit 2)
    margin = "15%"                        # this budget's margin (only where its counts are estimates)

    [[tool.tokcli.budget]]
    paths = ["fixtures/chats/*.jsonl"]
    model = "gpt-4o"
    chat = true                           # chat files: each conversation, with its message overhead
                                          # (tokcli.budget.chat), is held to the limit (a row FILE:LINE)

A safety margin (`--margin 10%`, `margin = "10%"`; 0% to 100%) is for budgets counted with an estimate (a
private tokenizer counted with a proxy, tokcli.tokenizer.calibration): each estimated count is multiplied by
(1 + margin) and rounded up before it is set against the limit (the rows show that figure, JSON the count
before it as "counted"). Exact counts never get it; a margin on an exact budget is said to be unused.

The configuration is checked by tokcli.budget.config before it is used.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from tokcli.errors import InputError, UsageError
from tokcli.files.text import expand_inputs
from tokcli.files.walk import Source, Walk, WalkOptions, expand, has_glob, walk_dir
from tokcli.tokenizer.counting import count_inputs

from .budgets import Budget


@dataclass(frozen=True)
class FileResult:
    path: str
    tokens: int | None  # None: the file could not be counted (see `reason`)
    limit: int | None  # None in a total budget: the limit is on the total
    status: str  # "ok" or "over" ("counted" in a total budget), or "error": covered, but not countable
    counted: int | None = None  # the count before the budget's safety margin (None: no margin applied)
    reason: str | None = None  # why a file with status "error" could not be counted


@dataclass
class BudgetResult:
    budget: Budget
    files: list[FileResult]
    tokens: int  # all files together

    @property
    def over(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "over"]

    @property
    def failed(self) -> list[FileResult]:
        """Files the budget covers that could not be counted: each fails the budget (nothing passes unread)."""
        return [f for f in self.files if f.status == "error"]

    @property
    def ok(self) -> bool:
        if self.failed:
            return False
        return self.tokens <= self.budget.limit if self.budget.total else not self.over


@dataclass
class CheckReport:
    results: list[BudgetResult]
    warnings: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): walked files not read

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> list[tuple[str, str]]:
        """(path, reason) of each file a budget covers that could not be counted, once each."""
        seen: dict[str, str] = {}
        for r in self.results:
            for f in r.failed:
                seen.setdefault(f.path, f.reason or "could not be counted")
        return list(seen.items())

    def summary(self) -> str:
        parts = []
        for r in self.results:
            b = r.budget
            counted = [f for f in r.files if f.status != "error"]
            if b.total:
                verdict = "within" if r.tokens <= b.limit else "over"
                parts.append(f"{len(counted)} files, {r.tokens:,} tokens in total: {verdict} the limit of {b.limit:,}")
            else:
                what = "conversations" if b.chat else "files"
                parts.append(f"{len(r.over)} of {len(counted)} {what} over the limit of {b.limit:,} tokens")
        if failed := self.failed:
            n = len(failed)
            parts.append(f"{n} file{'' if n == 1 else 's'} a budget covers could not be counted "
                         f"({', '.join(p for p, _ in failed[:3])}{', ...' if n > 3 else ''})")  # fmt: skip
        return "; ".join(parts)


# -- finding files ------------------------------------------------------------------------------------


def matcher(patterns: Sequence[str]) -> Any:
    """A pathspec for budget globs relative to their root: shell-like (`*` stays in one directory, `**`
    crosses them), a directory matches everything under it."""
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines("/" + p.removeprefix("./").lstrip("/") for p in patterns)


# -- checking -----------------------------------------------------------------------------------------


def files_for(
    budget: Budget, restrict: Sequence[str] = (), options: WalkOptions = WalkOptions()
) -> tuple[list[Source], list[tuple[str, str]]]:
    """(the files a budget covers, the covered files or directories a walk could not read, and why: binary
    files, unlistable directories). Command-line budgets: their paths, walked as every command walks.
    Config budgets: the project's files (as a walk of its root finds them) matching its globs; with
    `restrict`, the files those paths stand for (a file named is matched as it is, whether or not a walk
    would leave it out) that match the globs, relative to the project root."""
    if budget.origin == "command line":
        w = expand(budget.paths, options)
        if not w.found and not w.skipped:
            expand_inputs(budget.paths, options)  # the usual error: nothing to read there
        return [Source(s.path, walked=True, stream=s.stream) for s in w.found], list(w.skipped)
    root = Path(budget.root)
    hidden = options.hidden or any(part.startswith(".") and part not in (".", "..")
                                   for p in budget.paths for part in Path(p).parts)  # fmt: skip
    walk_options = WalkOptions(options.no_ignore, hidden, options.exclude)
    covers = _Covers(root, budget.paths)
    if restrict:
        w = expand(restrict, walk_options)
        found = [s.path for s in w.found if not s.stream and covers.file(s.path)]
    else:
        w = Walk()
        found = [f for f in walk_dir(str(root), walk_options, w) if covers.file(f)]
    unread = [(_shown(p), why) for p, why in w.skipped if covers.file(p) or covers.directory(p)]
    return [Source(_shown(f), walked=True) for f in found], unread


def _shown(path: str) -> str:
    """A path as check shows it: relative to the current directory where it can be."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path


class _Covers:
    """Whether a budget's globs cover a path (on disk, given relative to the current directory or absolute)."""

    def __init__(self, root: Path, patterns: Sequence[str]) -> None:
        self.roots = list(dict.fromkeys([Path(os.path.abspath(root)), root.resolve()]))
        self.spec = matcher(patterns)
        # the literal directories each glob starts with: a directory a walk could not list may hold files
        # a glob matches when it lies on (or below) one of them
        self.starts = []
        for p in patterns:
            parts = Path(p.removeprefix("./").lstrip("/")).parts
            literal = next((i for i, part in enumerate(parts) if has_glob(part)), len(parts))
            self.starts.append(Path(*parts[:literal]) if literal else Path("."))

    def rel(self, path: str) -> Path | None:
        full = Path(os.path.abspath(path))
        for root in self.roots:
            for candidate in (full, full.parent.resolve() / full.name):
                try:
                    return candidate.relative_to(root)
                except ValueError:
                    continue
        return None  # outside the project

    def file(self, path: str) -> bool:
        rel = self.rel(path)
        return rel is not None and bool(self.spec.match_file(rel.as_posix()))

    def directory(self, path: str) -> bool:
        if not os.path.isdir(path):
            return False
        rel = self.rel(path.rstrip("/") or "/")
        if rel is None:
            return False
        if self.spec.match_file(rel.as_posix() + "/"):
            return True
        return any(s == Path(".") or rel == s or s in rel.parents or rel in s.parents for s in self.starts)


def chat_counts(
    tok: Any, source: Source, budget: Budget, report: CheckReport, errors: str = "strict"
) -> list[tuple[str, int]]:
    """(FILE or FILE:LINE, tokens) of each conversation of a chat file, overhead included (tokcli.budget.chat);
    a warning in `report` when the overhead of the budget's model is not documented (a lower bound)."""
    from .chat import count_conversation, overhead_for
    from .conversations import read_conversations

    entry = None
    if budget.model is not None:
        from .models import get_model

        entry = get_model(budget.model)
    oh = overhead_for(tok, entry)
    if not oh.known:
        note = f"{budget.origin}: no documented chat overhead for {budget.model or tok.name}; conversations counted without it (a lower bound)"
        if note not in report.warnings:
            report.warnings.append(note)
    return [(c.label, c.tokens[tok.name]) for c in (count_conversation(conv, [(tok, oh)])
                                                     for conv in read_conversations(source.path, errors=errors))]  # fmt: skip


def check(
    budgets: Sequence[Budget], *, restrict: Sequence[str] = (), errors: str = "strict",
    options: WalkOptions = WalkOptions(),
) -> CheckReport:  # fmt: skip
    """Count every file of every budget and compare with its limit. A budget that matches no file is an
    InputError (unless it allows that). A file a budget covers that cannot be counted (binary, not UTF-8,
    a stretch too long to cut, not a chat file, unreadable; a directory the walk could not list) fails
    the budget: a row with status "error" and its reason, never a pass."""
    from tokcli.tokenizer.registry import load

    if not budgets:
        raise UsageError(
            "no budget: give --max-tokens N or --model NAME, or add [[tool.tokcli.budget]] to pyproject.toml"
        )
    report = CheckReport([])
    for b in budgets:
        if b.margin and b.exact and b.margin_own:
            report.warnings.append(f"{b.origin}: {b.tokenizer} counts exactly: the margin of {_pct(b.margin)} "
                                   "is for estimates and is not added")  # fmt: skip
        tok = load(b.tokenizer)
        files, unread = files_for(b, restrict, options)
        if not files and not unread and not restrict:
            if not b.allow_empty:
                raise InputError(
                    f"{b.origin}: no files match {', '.join(b.paths)}; fix the paths, or set "
                    "allow-empty = true in its [[tool.tokcli.budget]] if that is expected"
                )
            report.warnings.append(f"{b.origin}: no files match {', '.join(b.paths)} (allow-empty)")
        failed = list(unread)
        counted: list[tuple[str, int]] = []
        if b.chat:
            for f in files:
                try:
                    counted += chat_counts(tok, f, b, report, errors)
                except InputError as e:
                    failed.append((f.path, str(e).removeprefix(f"{f.path}: ")))
        else:  # small files counted in batches, as `count` counts them; every file is `walked`: a failure is kept
            rows = count_inputs([tok], files, errors=errors, skipped=failed)
            as_named = {f.label: f.path for f in files}  # stdin's row is "-", as it was named
            counted = [(as_named[row.input], row.tokens[tok.name]) for row in rows]
        results = []
        for path, raw in counted:
            n = b.with_margin(raw)
            status = "counted" if b.total else ("ok" if n <= b.limit else "over")
            results.append(FileResult(path.replace(os.sep, "/"), n, None if b.total else b.limit, status,
                                      raw if b.applied_margin else None))  # fmt: skip
        for path, why in failed:
            results.append(FileResult(path.replace(os.sep, "/"), None, None if b.total else b.limit, "error",
                                      reason=why))  # fmt: skip
        at = {f.path.replace(os.sep, "/"): i for i, f in enumerate(files)}  # rows in the order of the files
        results.sort(key=lambda r: at.get(r.path, at.get(r.path.rpartition(":")[0], len(at))))
        report.results.append(BudgetResult(b, results, sum(r.tokens or 0 for r in results)))
    if restrict and not any(r.files for r in report.results):
        named = all(os.path.isfile(p) for p in restrict)  # pre-commit passes the changed files by name
        if not named:
            raise InputError(
                f"{', '.join(restrict)}: no file there is covered by a [[tool.tokcli.budget]]; check their paths"
            )
        report.warnings.append(f"no budget covers {', '.join(restrict)}: nothing to check")
    return report


def _pct(m: Fraction) -> str:
    """1/10 -> "10%"."""
    return f"{float(m * 100):g}%"
