"""A throwaway git repository for the README's `tokcli diff` examples (cog blocks): main holds a system
prompt, a guide and a note; the branch `feature` grows the prompt, renames the guide (a line added),
deletes the note and adds a prompt. Dates and names are pinned, so the commit ids, and the README, are
the same on every run. git runs with no system or user configuration."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

SYSTEM = "You are a careful assistant. Answer in the user's language.\nあなたは丁寧なアシスタントです。\n"
MORE = (
    "When a question is ambiguous, ask one short question back before answering.\n"
    "質問が曖昧なときは、答える前に短く確認してください。出典があれば示してください。\n"
)


def _git(root: Path, *args: str) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(root), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "docs", "GIT_AUTHOR_EMAIL": "docs@example.com", "GIT_COMMITTER_NAME": "docs",
           "GIT_COMMITTER_EMAIL": "docs@example.com", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}  # fmt: skip
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)


def make_repo(corpora: str = "corpora") -> tempfile.TemporaryDirectory[str]:
    """The repository, in a temporary directory (its `name`, the repository is `name`/demo); clean it up."""
    tmp = tempfile.TemporaryDirectory(prefix="tokcli-diff-demo-")
    root = Path(tmp.name) / "demo"
    (root / "prompts").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "notes").mkdir()
    guide = (Path(corpora) / "ja_prose.txt").read_text(encoding="utf-8")
    (root / "prompts" / "system.md").write_text(SYSTEM, encoding="utf-8")
    (root / "docs" / "guide.md").write_text(guide, encoding="utf-8")
    (root / "notes" / "old.md").write_text("A note that is no longer needed.\n", encoding="utf-8")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "prompts and docs")
    _git(root, "checkout", "-qb", "feature")
    (root / "prompts" / "system.md").write_text(SYSTEM + MORE, encoding="utf-8")
    (root / "prompts" / "summarise.md").write_text("Summarise the text below in three sentences.\n", encoding="utf-8")
    _git(root, "mv", "docs/guide.md", "docs/handbook.md")
    (root / "docs" / "handbook.md").write_text(guide + "\n付録: 用語集。\n", encoding="utf-8")
    _git(root, "rm", "-q", "notes/old.md")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "a longer prompt, the guide renamed")
    return tmp
