"""How a change moves token counts: `diff(args)` counts each changed file before (in REF) and after (in the
working tree) under one or more tokenizers, the total, and what is over the growth limits.

    report = diff(["origin/main", "prompts/"], ["cl100k_base"], Limits(max_growth_percent=10))
    report.ok        # False when a file grew more than 10%

The total covers every file compared, the unchanged ones too (counted once), so a limit with --total is
on the set as a whole. Growth is `after - before` tokens: an added file grows by all its tokens, a deleted
one shrinks by all of its. A percentage needs a base: it is not defined for an added file, nor for a file
that had no tokens, so --max-growth-percent does not apply to them (--max-growth does).

Budgets of [tool.tokcli] in pyproject.toml apply to the new versions as `tokcli check` applies them: every
file of each budget is counted, and the results of the changed files are kept (of a total budget, the
whole budget when any of its files changed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from tokcli.errors import UsageError
from tokcli.files.walk import Source, WalkOptions
from tokcli.tokenizer.base import Tokenizer
from tokcli.tokenizer.counting import count_inputs

from .check import BudgetResult, CheckReport
from .gitdiff import Base, tree_diff


@dataclass(frozen=True)
class Limits:
    """How much growth is allowed, per file or (total) for the files together; None: no limit."""

    max_growth: int | None = None  # tokens
    max_growth_percent: float | None = None  # of the tokens before
    total: bool = False

    def __post_init__(self) -> None:
        if self.max_growth is not None and self.max_growth < 0:
            raise UsageError(f"--max-growth {self.max_growth} must be >= 0 tokens")
        if self.max_growth_percent is not None and not 0 <= self.max_growth_percent < float("inf"):
            raise UsageError(f"--max-growth-percent {self.max_growth_percent} must be a number >= 0")
        if self.total and not self:
            raise UsageError(
                "--total needs a limit to apply to the total: add --max-growth N or --max-growth-percent P"
            )

    def __bool__(self) -> bool:
        return self.max_growth is not None or self.max_growth_percent is not None

    def exceeded(self, n: Count) -> list[str]:
        """What `n` goes over, e.g. ["+30 tokens > --max-growth 20", "+25.0% > --max-growth-percent 10"]."""
        over = []
        if self.max_growth is not None and n.change > self.max_growth:
            over.append(f"{n.change:+,} tokens > --max-growth {self.max_growth:,}")
        pct = n.percent
        if self.max_growth_percent is not None and pct is not None and pct > self.max_growth_percent:
            over.append(f"{pct:+.1f}% > --max-growth-percent {self.max_growth_percent:g}")
        return over


@dataclass(frozen=True)
class Count:
    """One tokenizer's numbers for a file (None: the file is not on that side) or for the total."""

    before: int | None
    after: int | None

    @property
    def change(self) -> int:
        return (self.after or 0) - (self.before or 0)

    @property
    def percent(self) -> float | None:
        """The change in percent of the tokens before; None without a base (added, or no tokens before)."""
        return 100 * self.change / self.before if self.before else None


@dataclass
class FileDiff:
    status: str  # "added", "deleted", "modified" or "renamed"
    path: str  # in the working tree (in REF for a deleted file), from the top of the repository
    old_path: str | None  # a renamed file's path in REF
    tokens: dict[str, Count]  # tokenizer name -> its counts
    over: dict[str, list[str]] = field(default_factory=dict)  # tokenizer name -> limits exceeded


@dataclass
class DiffReport:
    base: Base
    tokenizers: list[str]
    limits: Limits
    files: list[FileDiff]
    unchanged: int  # files compared that did not change
    unchanged_tokens: dict[str, int]
    total: dict[str, Count]
    total_over: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    budgets: CheckReport | None = None  # the [tool.tokcli] budgets of the changed files; None: none apply
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why): changed, not counted, under a limit

    @property
    def over(self) -> list[FileDiff]:
        return [f for f in self.files if f.over]

    @property
    def ok(self) -> bool:
        return not self.over and not self.total_over and not self.failed and (self.budgets is None or self.budgets.ok)

    @property
    def uncounted(self) -> list[tuple[str, str]]:
        """(path, why) of each changed file a limit (growth or budget) covers that could not be counted."""
        found = dict(self.failed)
        for path, w in self.budgets.failed if self.budgets is not None else []:
            found.setdefault(path, w)
        return list(found.items())

    def summary(self) -> str:
        """One line: what was compared and what went over, e.g. for the exit-1 message."""
        name = self.tokenizers[0]
        t = self.total[name]
        pct = f", {t.percent:+.1f}%" if t.percent is not None else ""
        n = len(self.files)
        parts = [f"{n} file{'s' if n != 1 else ''} changed, {t.change:+,} tokens ({name}{pct})"]
        if self.over:
            parts.append(f"{len(self.over)} over the growth limit ({', '.join(f.path for f in self.over)})")
        if self.total_over:
            parts.append("the total is over the growth limit")
        if self.failed:
            n = len(self.failed)
            parts.append(f"{n} changed file{'s' if n != 1 else ''} could not be counted "
                         f"({', '.join(p for p, _ in self.failed[:3])}{', ...' if n > 3 else ''})")  # fmt: skip
        if self.budgets is not None and not self.budgets.ok:
            parts.append(f"budgets: {self.budgets.summary()}")
        return "; ".join(parts)


def diff(
    args: Sequence[str], tokenizers: Sequence[Tokenizer], limits: Limits = Limits(), *, errors: str = "strict",
    options: WalkOptions = WalkOptions(), budgets: bool = True,
) -> DiffReport:  # fmt: skip
    """Count the changes `tokcli diff ARGS` finds (see tokcli.budget.gitdiff.tree_diff) and check them."""
    td = tree_diff(args, options)
    names = [t.name for t in tokenizers]
    ref = td.base.spec or td.base.how
    skipped = list(td.skipped)
    uncounted = set(td.uncounted)  # changed files not counted (binary): they fail a growth limit
    # every version and every unchanged file counted in one pass, small ones in batches (as `count` counts),
    # each version read as it is counted: only the counts are kept, never the changed files all at once
    labels = [(f"{c.old.path}: in {ref}" if c.old else None,
               str(c.new.file) if c.new and c.new.file is not None else c.new.path if c.new else None)
              for c in td.changes]  # fmt: skip
    same_files = [Source(str(td.root / path), walked=True) for path in td.unchanged]

    def sources() -> Iterator[Source]:
        for c, (old_label, new_label) in zip(td.changes, labels, strict=True):
            if c.old is not None and old_label is not None:
                yield Source(old_label, walked=True, data=c.old.read())
            if c.new is not None and new_label is not None:
                if c.new.file is not None:
                    yield Source(new_label, walked=True)
                else:
                    yield Source(new_label, walked=True, data=c.new.read())
        yield from same_files

    failed: list[tuple[str, str]] = []  # (label, why): not UTF-8, or a stretch too long to encode
    rows = {r.input: r.tokens for r in count_inputs(tokenizers, sources(), errors=errors, skipped=failed)}
    why = dict(failed)
    files = []
    for c, (old_label, new_label) in zip(td.changes, labels, strict=True):
        if old_label is not None and old_label in why:  # left out, and said so ("in REF: not valid UTF-8 ...")
            skipped.append((c.path, f"in {ref}: {why[old_label]}"))
            uncounted.add(c.path)
            continue
        if new_label is not None and new_label in why:
            skipped.append((c.path, why[new_label]))
            uncounted.add(c.path)
            continue
        before = rows[old_label] if old_label is not None else None
        after = rows[new_label] if new_label is not None else None
        tokens = {n: Count(before[n] if before else None, after[n] if after else None) for n in names}
        old_path = c.old.path if c.status == "renamed" and c.old else None
        files.append(FileDiff(c.status, c.path, old_path, tokens))
    same = {n: 0 for n in names}
    unchanged = 0
    for path, src in zip(td.unchanged, same_files, strict=True):
        if src.path in why:
            skipped.append((path, why[src.path]))
            continue
        for n in names:
            same[n] += rows[src.label][n]
        unchanged += 1
    total = {n: Count(same[n] + sum(f.tokens[n].before or 0 for f in files),
                      same[n] + sum(f.tokens[n].after or 0 for f in files)) for n in names}  # fmt: skip
    report = DiffReport(td.base, names, limits, files, unchanged, same, total, skipped=skipped)
    if limits:  # a changed file the limit cannot be applied to fails it: listed as failed, not skipped
        report.failed = [(p, w) for p, w in skipped if p in uncounted]
        report.skipped = [(p, w) for p, w in skipped if p not in uncounted]
    for f in files if not limits.total else []:
        f.over = {n: over for n in names if (over := limits.exceeded(f.tokens[n]))}
    if limits.total:
        report.total_over = {n: over for n in names if (over := limits.exceeded(total[n]))}
    if budgets:
        changed = [f.path for f in files if f.status != "deleted"] + sorted(uncounted)  # not counted: still covered
        report.budgets = _budgets([td.root / p for p in changed if (td.root / p).exists()], errors, options)
    return report


def _budgets(changed: Sequence[os.PathLike[str]], errors: str, options: WalkOptions) -> CheckReport | None:
    """The [tool.tokcli] budgets checked as `tokcli check` checks them, narrowed to the changed files."""
    from .budgets import pyproject_budgets
    from .check import check

    found = pyproject_budgets()
    if not found or not changed:
        return None
    full = check(found, errors=errors, options=options)
    wanted = {os.path.abspath(p) for p in changed}
    kept = []
    for r in full.results:
        mine = [f for f in r.files if os.path.abspath(f.path) in wanted]
        if not mine:
            continue
        files = r.files if r.budget.total else mine
        kept.append(BudgetResult(r.budget, files, r.tokens if r.budget.total else sum(f.tokens or 0 for f in mine)))
    return CheckReport(kept, full.warnings, full.skipped) if kept else None
