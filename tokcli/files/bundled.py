"""Where the bundled things live: models (with their tokenizers) and the sample corpora.

The tokenizer registry and the model loader both ask this module, so neither knows the other's layout.

    tokcli/data/models/NAME/tokenizer.json      a bundled tokenizer (en, char, word, bpe, ja-char)
    tokcli/data/models/NAME/config.json         ... and its model, with model.safetensors
    corpora/*.txt                               sample texts (tokcli/corpora/ in an installed wheel)
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent.parent  # the tokcli package; importlib.resources costs start-up time


def models_dir() -> Path:
    """The directory holding one directory per bundled model."""
    return _HERE / "data" / "models"


def _names(*files: str) -> list[str]:
    d = models_dir()
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if all((p / f).is_file() for f in files))


def tokenizer_names() -> list[str]:
    """Bundled tokenizers: every model directory with a tokenizer.json."""
    return _names("tokenizer.json")


def tokenizer_path(name: str) -> Path | None:
    """The tokenizer.json of bundled tokenizer `name`, or None."""
    p = models_dir() / name / "tokenizer.json"
    return p if "/" not in name and name in tokenizer_names() else None


def model_names() -> list[str]:
    """Bundled models that have weights (config.json and model.safetensors)."""
    return _names("config.json", "model.safetensors")


def model_path(name: str) -> Path | None:
    """The directory of a bundled name (with or without weights yet), or None."""
    if "/" in name or name.startswith("."):
        return None
    d = models_dir() / name
    return d if d.is_dir() else None


def corpora_dir() -> Path:
    """Where the sample texts are: inside the installed package (the wheel maps corpora/ to
    tokcli/corpora/), else the repository's corpora/ beside the package (a checkout, an editable install)."""
    installed = _HERE / "corpora"
    return installed if installed.is_dir() else _HERE.parent / "corpora"


def sample_files() -> list[Path]:
    """The sample texts, sorted by name."""
    return sorted(p for p in corpora_dir().glob("*.txt"))
