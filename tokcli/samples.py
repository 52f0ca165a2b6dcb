"""The bundled sample corpora (`corpora/` in the repository, `tokcli.corpora` in an installed wheel)."""

from __future__ import annotations

from pathlib import Path


def corpora_dir() -> Path:
    """Where the sample texts are: inside the installed package (the wheel maps corpora/ to
    tokcli/corpora/), else the repository's corpora/ beside the package (a checkout, an editable install)."""
    here = Path(__file__).resolve().parent
    installed = here / "corpora"
    return installed if installed.is_dir() else here.parent / "corpora"


def sample_files() -> list[Path]:
    """The sample texts, sorted by name."""
    return sorted(p for p in corpora_dir().glob("*.txt"))
