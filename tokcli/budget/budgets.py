"""The budgets `tokcli check` applies: `Budget` (a limit under one tokenizer, for the files of some paths), built
from command-line options (`make_budget`) or from the [[tool.tokcli.budget]] tables of pyproject.toml
(`pyproject_budgets`; the format is described in tokcli.budget.check), and `budgets_for`, which picks between them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from tokcli.errors import UsageError
from tokcli.tokenizer import DEFAULT_TOKENIZER


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
    allow_empty: bool = False  # True: matching no file passes (else an error)
    chat: bool = False  # the files are chat conversations (tokcli.budget.chat): each conversation is checked
    margin: Fraction = Fraction(0)  # safety margin on estimated counts (0.1 for 10%); unused where exact
    margin_own: bool = (
        True  # the margin is the budget's own (else [tool.tokcli]'s default: exact budgets ignore it unsaid)
    )

    @property
    def applied_margin(self) -> Fraction:
        """The margin its counts get: its own for an estimate, none for exact counts."""
        return Fraction(0) if self.exact else self.margin

    def with_margin(self, n: int) -> int:
        """A count as it is set against the limit: an estimate times (1 + margin), rounded up."""
        m = self.applied_margin
        return math.ceil(n * (1 + m)) if m else n


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
    allow_empty: bool = False,
    chat: bool = False,
    margin: Fraction = Fraction(0),
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
    counted_as_model = False
    if model is not None:
        from .models import get_model, input_budget

        entry = get_model(model)
        limits.append(input_budget(entry, reserve))
        if tokenizer is None:
            tokenizer = entry.counting_tokenizer
            exact = entry.exact
            counted_as_model = True
    if max_tokens is not None:
        limits.append(max_tokens - (reserve if model is None else 0))
        if limits[-1] < 1:
            raise UsageError(f"{origin}: reserve {reserve} leaves no room under max-tokens {max_tokens}")
    tok = tokenizer or default_tokenizer or DEFAULT_TOKENIZER
    if not counted_as_model:
        from tokcli.tokenizer.registry import resolve

        exact = resolve(tok).exact  # a tokenizer may be a model name too: exact, or counted with a proxy
    return Budget(tuple(paths), tok, min(limits), total, max_tokens, model, reserve, exact, origin, root, allow_empty,
                  chat, margin)  # fmt: skip


def pyproject_budgets(start: str | Path | None = None) -> list[Budget]:
    """The budgets of [[tool.tokcli.budget]] in the nearest pyproject.toml (see tokcli.budget.check)."""
    from .config import pyproject_tool

    path, tool = pyproject_tool(start)  # checked: known keys, right types
    if path is None:
        return []
    budgets = [
        make_budget(
            e.get("paths", e.get("path", ["**/*"])), max_tokens=e.get("max-tokens"), model=e.get("model"),
            reserve=e.get("reserve", 0), tokenizer=e.get("tokenizer"), total=e.get("total", False),
            default_tokenizer=tool.get("tokenizer"), origin=f"{path}: budget #{i + 1}", root=str(path.parent),
            allow_empty=e.get("allow-empty", False), chat=e.get("chat", False),
            margin=e.get("margin", tool.get("margin", Fraction(0))),
        )
        for i, e in enumerate(tool.get("budget", []))
    ]  # fmt: skip
    return [
        b if "margin" in e else replace(b, margin_own=False)
        for b, e in zip(budgets, tool.get("budget", []), strict=True)
    ]


def budgets_for(
    paths: Sequence[str] | None, *, max_tokens: int | None = None, model: str | None = None, reserve: int = 0,
    tokenizer: str | None = None, total: bool = False, chat: bool = False, margin: Fraction | None = None,
) -> tuple[list[Budget], list[str]]:  # fmt: skip
    """The budgets `check` applies and the paths it restricts them to: with --max-tokens or --model, one budget
    over `paths` (default: the current directory) and no restriction; without either, the pyproject.toml
    budgets, restricted to `paths`. A `margin` given here overrides the pyproject.toml budgets' own."""
    if max_tokens is None and model is None:
        if chat:
            raise UsageError("--chat goes with a budget given here (--max-tokens or --model); in pyproject.toml "
                             "set chat = true in the [[tool.tokcli.budget]]")  # fmt: skip
        budgets = pyproject_budgets()
        if margin is not None:
            budgets = [replace(b, margin=margin, margin_own=True) for b in budgets]
        return budgets, list(paths or [])
    budget = make_budget(paths or ["."], max_tokens=max_tokens, model=model, reserve=reserve, tokenizer=tokenizer,
                         total=total, chat=chat, margin=margin or Fraction(0))  # fmt: skip
    return [budget], []
