"""Helpers for the README's cog blocks: run a command with the terminal pinned and paste its output.

`cog -r README.md` regenerates the blocks; CI runs `cog --check README.md`, so the README's examples and
--help texts are always what the code prints.
"""

from __future__ import annotations

import os
import subprocess

import cog

ENV = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "TOKCLI_OFFLINE": "1"}
for var in ("FORCE_COLOR", "GITHUB_ACTIONS"):
    ENV.pop(var, None)


def console(cmd: str, *, show: str | None = None) -> None:
    """A ```console block: `$ cmd` and what it printed (stdout and stderr, as a terminal shows them)."""
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=ENV)
    body = p.stdout + p.stderr
    cog.out(f"```console\n$ {show or cmd}\n{body}{'' if body.endswith(chr(10)) or not body else chr(10)}```\n")


def help(*args: str) -> None:
    """The --help text of a command."""
    p = subprocess.run(["tokcli", *args, "--help"], capture_output=True, text=True, env=ENV)
    cog.out(f"```text\n{p.stdout}```\n")
