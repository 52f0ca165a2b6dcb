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
    p = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    body = p.stdout
    cog.out(f"```console\n$ {show or cmd}\n{body}{'' if body.endswith(chr(10)) or not body else chr(10)}```\n")


def help(*args: str) -> None:
    """The --help text of a command."""
    p = subprocess.run(["tokcli", *args, "--help"], capture_output=True, text=True, env=ENV)
    cog.out(f"```text\n{p.stdout}```\n")


def lm_results(models: list[str]) -> None:
    """The bundled models' evaluation (docs/eval/<model>.json, written by `tokcli lm eval --format json`)
    beside their training record (config.json's meta)."""
    import json
    from pathlib import Path

    rows = [
        "| model | parameters | file | training | unigram | best n-gram | Transformer | beats n-gram | context seen | tokens/s |",
        "|---|---:|---:|---|---:|---:|---:|---|---:|---:|",
    ]
    for name in models:
        d = Path("tokcli/data/models") / name
        meta = json.loads((d / "config.json").read_text(encoding="utf-8"))["meta"]
        ev = json.loads((Path("docs/eval") / f"{name}.json").read_text(encoding="utf-8"))
        base = {b["order"]: b for b in ev["baselines"]}
        best = min(base.values(), key=lambda b: b["bits_per_char"])
        size = (d / "model.safetensors").stat().st_size / 1e6
        steps, total = meta["steps"], meta["options"]["steps"]
        rows.append(
            f"| `{name}` | {meta['n_params']:,} | {size:.1f} MB | step {steps:,} of {total:,}, "
            f"{meta['train_seconds'] / 60:.0f} min | {base[1]['bits_per_char']:.3f} | "
            f"{best['bits_per_char']:.3f} ({best['order']}-gram) | **{ev['bits_per_char']:.3f}** | "
            f"{'yes' if ev['bits_per_char'] < best['bits_per_char'] else 'no'} | "
            f"{ev['avg_context_tokens']:.0f} tokens = {ev['avg_context_chars']:.0f} chars | "
            f"{ev['tokens_per_second']:,.0f} |"
        )
    cog.out("\n".join(rows) + "\n")


def lm_ladder(name: str) -> None:
    """One model's full table: every n-gram order and the Transformer, in bits per character."""
    import json
    from pathlib import Path

    ev = json.loads((Path("docs/eval") / f"{name}.json").read_text(encoding="utf-8"))
    rows = ["| model | context | nats/token | bits/char | perplexity |", "|---|---:|---:|---:|---:|"]
    for b in ev["baselines"]:
        rows.append(f"| {b['order']}-gram | {b['order'] - 1} | {b['nats_per_token']:.3f} | "
                    f"{b['bits_per_char']:.3f} | {b['perplexity']:.1f} |")  # fmt: skip
    rows.append(f"| Transformer | {ev['avg_context_tokens']:.0f} | {ev['nats_per_token']:.3f} | "
                f"{ev['bits_per_char']:.3f} | {ev['perplexity']:.1f} |")  # fmt: skip
    cog.out("\n".join(rows) + "\n")
