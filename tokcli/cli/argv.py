"""Checks on the command line that Click does not make: a single-valued option given twice.

Click keeps the last value of an option given twice (`encode -t bpe -t cl100k_base` encodes with
cl100k_base), which hides a mistake; tokcli refuses it. Only the public attributes of Click's
commands and options are read (name, params, opts, multiple, is_flag, count).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokcli.errors import UsageError


def refuse_repeated(command: Any, args: Sequence[str]) -> None:
    """Raise UsageError when an option of the command `args` name that takes one value is given twice."""
    args = list(args)
    while args and hasattr(command, "commands"):  # a group: follow the subcommand's name
        sub = command.commands.get(args[0])
        if sub is None:
            return
        command, args = sub, args[1:]
    single: dict[str, Any] = {}
    takes_value: set[str] = set()
    for p in getattr(command, "params", []):
        if getattr(p, "param_type_name", "") != "option":
            continue
        for opt in [*p.opts, *p.secondary_opts]:
            if not p.is_flag:
                takes_value.add(opt)
            if not p.multiple and not getattr(p, "count", False) and not p.is_flag:
                single[opt] = p
    seen: set[str] = set()
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a == "--":
            break
        if not a.startswith("-") or a == "-":
            continue
        name = a.split("=", 1)[0] if a.startswith("--") else a[:2]
        if name in takes_value and "=" not in a and len(a) == len(name):
            i += 1  # the next word is this option's value, whatever it looks like
        p = single.get(name)
        if p is None:
            continue
        if p.name in seen:
            raise UsageError(f"{'/'.join(p.opts)} is given twice; it takes one value (give it once)")
        seen.add(p.name)
