"""The bundled sample corpora (`corpora/` in the repository, `tokcli.corpora` in an installed wheel)."""

from __future__ import annotations

from pathlib import Path


def corpora_dir() -> Path:
    """Where the sample texts are: the installed package data, else the repository's corpora/."""
    try:
        from importlib import resources

        p = Path(str(resources.files("tokcli.corpora")))
        if p.is_dir():
            return p
    except ModuleNotFoundError:  # an editable install maps only the tokcli package itself
        pass
    return Path(__file__).resolve().parent.parent / "corpora"


def sample_files() -> list[Path]:
    """The sample texts, sorted by name."""
    return sorted(p for p in corpora_dir().glob("*.txt"))
