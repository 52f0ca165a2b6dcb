"""Shell completion: Typer's --show-completion / --install-completion, completing commands, options, and
tokenizer and model names (the shells call tokcli with _TOKCLI_COMPLETE set; nothing is installed here)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def complete(shell: str, words: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"_TOKCLI_COMPLETE": f"complete_{shell}"} | (env_extra or {})
    if shell == "bash":
        env |= {"COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
    else:
        env |= {"_TYPER_COMPLETE_ARGS": words, "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    return subprocess.run([sys.executable, "-m", "tokcli"], env=env, capture_output=True, text=True, timeout=60)


def test_bash_completes_commands_tokenizers_and_bundled_models():
    assert complete("bash", "tokcli gen").stdout.split() == ["generate"]
    assert complete("bash", "tokcli count -t cl100").stdout.split() == ["cl100k_base"]
    assert complete("bash", "tokcli generate -m ").stdout.split() == ["bpe", "char", "en", "ja-char", "word"]
    assert "--max-tokens" in complete("bash", "tokcli check --max").stdout.split()


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_complete_tokenizer_names(shell):
    r = complete(shell, "tokcli encode -t o200")
    assert r.returncode == 0 and "o200k_base" in r.stdout and "cl100k_base" not in r.stdout


def test_compare_completes_model_names_from_the_table(tmp_path):
    r = complete("bash", "tokcli compare -m gpt-4.", {"TOKCLI_CONFIG": str(tmp_path / "none.toml")})
    names = r.stdout.split()
    assert names and all(n.startswith("gpt-4.") for n in names) and "gpt-4.1" in names


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_the_script_for_each_shell(shell):
    r = subprocess.run([sys.executable, "-m", "tokcli", "--show-completion", shell], capture_output=True,
                       text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0 and "_TOKCLI_COMPLETE" in r.stdout and r.stderr == ""
