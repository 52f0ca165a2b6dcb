"""README examples that cog does not run: they work from the repository root as written."""

from __future__ import annotations

import glob
import re
import shlex
from pathlib import Path

import pytest

from tokcli.tokenizer.registry import load_file  # not tokcli.load: it caches by path, and bpe.json is written twice

ROOT = Path(__file__).resolve().parent.parent


def _train_block() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Train a tokenizer", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README's train section has no bash block"
    return [line.split("  #")[0].strip() for line in block[1].splitlines() if line.strip()]


def test_the_train_block_runs_from_the_repository_root(cli, monkeypatch, tmp_path):
    """`tokcli train ... corpora/ --vocab-size 8000` on the small sample corpora: the largest vocabulary
    they support, a warning, exit 0 (it was exit 2 for unigram and sentencepiece bpe)."""
    monkeypatch.chdir(ROOT)  # read only: every output goes to tmp_path
    lines = _train_block()
    assert len(lines) == 6
    for line in lines:
        piped = None
        if " | " in line:
            feed, line = line.split(" | ")
            cmd, *paths = shlex.split(feed)
            assert cmd == "cat"
            files = [f for p in paths for f in sorted(glob.glob(p))]
            assert files, f"{feed}: matches nothing from the repository root"
            piped = "".join(Path(f).read_text(encoding="utf-8") for f in files)
        args = shlex.split(line)
        assert args[0] == "tokcli"
        out = args.index("-o") + 1
        args[out] = str(tmp_path / args[out])
        r = cli(*args[1:], input=piped)
        assert r.code == 0, f"{line}: {r.err}"
        for warning in [w for w in r.err.splitlines() if w.startswith("warning:")]:
            m = re.search(r"trained \w+ with ([\d,]+) tokens, not ([\d,]+)", warning)
            assert m, warning
            assert load_file(args[out]).vocab_size == int(m[1].replace(",", "")) < int(m[2].replace(",", ""))


@pytest.mark.parametrize(
    "args",
    [
        ["count", "-t", "bpe", "-t", "char", "corpora/en_prose.txt"],
        ["compare", "-t", "bpe", "-t", "char", "corpora/en_prose.txt", "--chart", "tokens"],
        ["why", "-t", "bpe", "-n", "3", "corpora/en_prose.txt"],
    ],
)
def test_format_table_is_another_name_for_text(cli, monkeypatch, args):
    """The --help of these commands long said `table`; the option took only `text`."""
    monkeypatch.chdir(ROOT)
    text = cli(*args, "--format", "text")
    table = cli(*args, "--format", "table")
    assert (table.code, table.err) == (0, text.err)
    if args[0] == "compare":  # all but the timed columns, the last two
        assert [line.split()[:-2] for line in table.out.splitlines()] == [
            line.split()[:-2] for line in text.out.splitlines()
        ]
        assert "load s" in table.out
    else:
        assert table.out == text.out != ""
