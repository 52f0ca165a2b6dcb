"""One way to name any tokenizer: one table of names, each resolved lazily, then paths.

    bundled      en, char, word, bpe, ja-char (tokenizers of the bundled models, see tokcli.files.bundled)
    encodings    o200k_base, cl100k_base, p50k_base, r50k_base, gpt2   (tiktoken)
    vendors      llama3, llama4, mistral-v1/v3/v7, tekken, qwen (the vendors' own files, through the llama,
                 mistral and qwen extras; see tokcli.tokenizer.vendors), and the model names they are known by
                 (llama-3.1-8b, mistral-nemo, qwen2.5-7b, ...)
    models       every model `tokcli models` lists, and its aliases (tokcli.tokenizer.models: the vendored
                 LiteLLM snapshot with the user's config and pyproject.toml applied): gpt-4o, claude-sonnet-4-5,
                 llama-3.1-8b-instruct, ... A model is counted with its own tokenizer where tokcli has it
                 (exact), else with a stated proxy (an estimate)
    tiktoken     any other OpenAI model name tiktoken's model table knows (gpt-4o-2024-08-06, ...)
    paths        tokenizer.json (HF), *.model (sentencepiece), a model directory holding tokenizer.json

A name is matched exactly first, then with case and the spelling of versions ignored (Claude-Sonnet-4.5 is
claude-sonnet-4-5), then as LiteLLM and the hosts write model names (tokcli.tokenizer.models.lookup: a provider
prefix such as anthropic/, openrouter/openai/, bedrock/us.anthropic., a date suffix, -latest, -instruct): a
name with a / is a path when that path exists, or starts with . / or ~, else a model name where one matches. `resolve(name)` says what a name stands for without loading anything (a `Resolved`: the
tokenizer counts are made with, whether exactly, through which proxy); `load(name)` is `resolve(name).load()`.
Every command resolves `-t`, `-m`, `check -t`, `diff -t` and the [tool.tokcli] budgets here, so they all
accept the same names. An unknown name is TokenizerNotFound with at most five close names.

The tokenizers are built by the constructors of `constructors()`, a dict name -> constructor in the manner of
tiktoken's registry; a tokenizer is built once per process (`_load`), and a second name for it (a model
name) is a shallow copy under that name, sharing what was built.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from tokcli.errors import InputError, TokenizerFileError, TokenizerNotFound
from tokcli.files import bundled

from .base import Tokenizer
from .patterns import DEFAULT_TOKENIZER  # noqa: F401  (re-exported: tokcli.tokenizer.registry.DEFAULT_TOKENIZER)
from .pretrained import ENCODINGS, TiktokenEncoding, model_encoding

if TYPE_CHECKING:
    from .models import ModelEntry

MAX_DEPTH = 8  # a model's tokenizer may name another model; deeper than this is a loop in the config


@dataclass(frozen=True)
class Resolved:
    """What a tokenizer name or path stands for (`resolve`), before anything is loaded.

    name       the name as the table spells it (a path as given): the loaded tokenizer's name, and its
               column in every table
    tokenizer  what counts are made with: a name of `constructors()` or a path; the proxy for an estimate
    exact      True: the counts are the model's own. False: an estimate, made with `proxy`
    kind       bundled, encoding, vendor, model, tiktoken or path
    proxy      the tokenizer an estimate is made with (None when exact)
    model      the model of `tokcli models` the name stands for, if any
    vendor     the vendor tokenizer that counts the name exactly (its extra may be missing: then not exact)
    note       for an estimate, the sentence the CLI prints on stderr:
               "NAME: counting with PROXY, an estimate (~) of its tokens (WHY)"
    calibration  for an estimate of a private tokenizer, the key of its published calibration
               (tokcli.tokenizer.calibration.CALIBRATIONS): `load` wraps the proxy in a CalibratedTokenizer
               where its factors change the counts
    """

    name: str
    tokenizer: str
    exact: bool
    kind: str
    proxy: str | None = None
    model: str | None = None
    vendor: str | None = None
    note: str = ""
    calibration: str | None = None

    def load(self) -> Tokenizer:
        """The tokenizer under `name`: the exact one, or for a private tokenizer the proxy. A name whose exact
        tokenizer is a vendor's whose extra is missing is BackendMissing naming the pip command: loading asks
        for that tokenizer; `tokenizer` and `proxy` say what a model's window is estimated with meanwhile (-m)."""
        if self.vendor is not None and not self.exact:
            from .vendors import VENDORS, vendor_file

            vendor_file(self.name, VENDORS[self.vendor])  # raises BackendMissing or TokenizerFileError
        tok = _load(self.tokenizer, None if self.name == self.tokenizer else self.name)
        if self.calibration is not None:
            from .calibration import CALIBRATIONS, CalibratedTokenizer

            cal = CALIBRATIONS[self.calibration]
            if not cal.identity:
                return CalibratedTokenizer(tok, cal)
        return tok


# -- the constructors -----------------------------------------------------------------------------------


def _bundled(name: str) -> Tokenizer:
    from .hf import HFTokenizer

    path = bundled.tokenizer_path(name)
    assert path is not None  # listed by constructors()
    return HFTokenizer.from_file(path, name=name)


def _encoding(name: str) -> Tokenizer:
    return TiktokenEncoding.load(name)


def _vendor(name: str) -> Tokenizer:
    from .vendors import load as load_vendor

    tok = load_vendor(name)
    assert tok is not None  # listed by constructors()
    return tok


@cache
def constructors() -> dict[str, tuple[str, Callable[[str], Tokenizer]]]:
    """Every tokenizer tokcli has by name -> (its kind, its constructor): bundled, encodings, vendors.
    Nothing is built here; model names point at these (see `resolve`)."""
    from .vendors import VENDORS

    table: dict[str, tuple[str, Callable[[str], Tokenizer]]] = {}
    table |= {n: ("bundled", _bundled) for n in bundled.tokenizer_names()}
    table |= {n: ("encoding", _encoding) for n in ENCODINGS}
    table |= {n: ("vendor", _vendor) for n in VENDORS}
    return table


# -- resolving a name -----------------------------------------------------------------------------------


def looks_like_path(spec: str) -> bool:
    return "/" in spec or spec.endswith((".json", ".model")) or spec.startswith(".")


def resolve(spec: str) -> Resolved:
    """What `spec` stands for (see the module docstring); nothing is loaded. Raises TokenizerNotFound for an
    unknown name, TokenizerFileError for a path that is no tokenizer, InputError for a bad config file."""
    return _resolve(spec, 0)


def _resolve(spec: str, depth: int) -> Resolved:
    if depth > MAX_DEPTH:
        raise TokenizerNotFound(f"{spec}: the [models] tables of the config name each other's tokenizers in a loop")
    if looks_like_path(spec) and (_exists(spec) or not spec.count("/") or spec.startswith((".", "/", "~"))):
        return _path(spec)
    if not looks_like_path(spec) and (found := _by_name(spec, depth)) is not None:
        return found
    from .models import key, load_models, lookup, names

    by_key: dict[str, str] = {}
    for n in all_names():
        by_key.setdefault(key(n), n)
    if (name := by_key.get(key(spec))) is not None and name != spec:
        return _resolve(name, depth + 1)
    # a model as LiteLLM and the hosts write it: anthropic/claude-..., gpt-4o-2024-08-06, ...-latest
    if (name := lookup(spec, names(load_models()))) is not None and name != spec:
        return _resolve(name, depth + 1)
    if not looks_like_path(spec) and (enc := model_encoding(spec)) is not None:
        return Resolved(spec, enc, True, "tiktoken")  # an OpenAI model tiktoken knows and the table does not
    return _path(spec)


def _exists(spec: str) -> bool:
    try:
        return Path(spec).exists()
    except (OSError, ValueError):
        return False


def _by_name(spec: str, depth: int) -> Resolved | None:
    """`spec` looked up exactly: a tokenizer, a model (or alias), a vendor's model name, a tiktoken model."""
    if (entry := constructors().get(spec)) is not None:
        kind = entry[0]
        if kind == "vendor":
            return _vendor_resolved(spec, spec, "vendor")
        return Resolved(spec, spec, True, kind)
    from .models import find, load_models, names

    models = load_models()
    if spec in names(models):
        found = find(spec, models)
        assert found is not None
        return _model_resolved(spec, found[1], depth)
    from .vendortable import MODELS

    if spec in MODELS:
        return _vendor_resolved(spec, MODELS[spec], "vendor")
    return None


def _vendor_resolved(name: str, vendor: str, kind: str, model: str | None = None) -> Resolved:
    from .models import EXTRAS, PROXY, vendor_available

    if vendor_available(vendor):
        return Resolved(name, vendor, True, kind, model=model, vendor=vendor)
    why = f'exact with pip install "tokcli[{EXTRAS.get(vendor, "models")}]"'
    return Resolved(name, PROXY, False, kind, proxy=PROXY, model=model, vendor=vendor,
                    note=f"{name}: counting with {PROXY}, an estimate (~) of its tokens ({why})")  # fmt: skip


def _model_resolved(name: str, e: ModelEntry, depth: int) -> Resolved:
    """A model's resolution: its tokenizer (tiktoken's encoding, or the one a config file names), else its
    vendor's where the extra is installed, else its proxy (an estimate)."""
    from .models import PROXY

    if e.tokenizer is not None:
        inner = _inner(e.tokenizer, e, "tokenizer", depth)
        return replace(inner, name=name, kind="model", model=e.name,
                       note=inner.note.replace(f"{inner.name}: ", f"{name}: ", 1))  # fmt: skip
    if e.vendor is not None:
        r = _vendor_resolved(name, e.vendor, "model", e.name)
        if r.exact or e.proxy in (None, PROXY):
            return r
    proxy = _inner(e.proxy or PROXY, e, "proxy", depth).tokenizer
    why = e.note or e.count_via
    cal = e.calibration
    if cal is not None:
        how = "" if cal.identity else f" {cal.summary}"
        why += f"; {'calibrated' if cal.calibrated else 'not calibrated'}, stated error {cal.error}"
        return Resolved(name, proxy, False, "model", proxy=proxy, model=e.name, vendor=e.vendor,
                        note=f"{name}: counting with {proxy}{how}, an estimate (~) of its tokens ({why})",
                        calibration=cal.key)  # fmt: skip
    return Resolved(name, proxy, False, "model", proxy=proxy, model=e.name, vendor=e.vendor,
                    note=f"{name}: counting with {proxy}, an estimate (~) of its tokens ({why})")  # fmt: skip


def _inner(spec: str, e: ModelEntry, what: str, depth: int) -> Resolved:
    """The tokenizer or proxy a model entry names, resolved; an error in it names the config file."""
    try:
        return _resolve(spec, depth + 1)
    except (TokenizerNotFound, TokenizerFileError) as err:
        if e.origin == "built-in":
            raise
        raise type(err)(f"{e.origin}: models.{e.name}.{what}: {err}") from None


def _path(spec: str) -> Resolved:
    path = Path(spec)
    if (path.is_dir() and (path / "tokenizer.json").is_file()) or path.is_file():
        return Resolved(spec, spec, True, "path")
    if path.exists():
        raise TokenizerFileError(f"{spec}: not a tokenizer file; give a tokenizer.json, a .model or a model directory")
    close = suggestions(spec, all_names())
    hint = f"did you mean {', '.join(close)}? Give" if close else "give"
    raise TokenizerNotFound(
        f"unknown tokenizer {spec!r}: {hint} a model `tokcli models` lists, a tokenizer (an encoding such as "
        "cl100k_base, a bundled one such as bpe, a vendor's such as llama3), or a path to a tokenizer.json or "
        ".model file"
    )


# -- names ------------------------------------------------------------------------------------------------


def all_names(models: Mapping[str, ModelEntry] | None = None) -> list[str]:
    """Every name the table answers, each once: tokenizers, the vendors' model names, the models of
    `tokcli models` and their aliases (with the config applied; `models` to give that table)."""
    from .models import load_models, names
    from .vendortable import MODELS

    models = load_models() if models is None else models
    return list(dict.fromkeys([*constructors(), *MODELS, *names(models)]))


def known_names() -> list[str]:
    """`all_names()`, with the built-in model table where a config file is broken (shell completion)."""
    from .models import builtin

    try:
        return all_names()
    except InputError:
        return all_names(builtin())


def is_tokenizer_name(spec: str) -> bool:
    """Whether `spec` resolves (without loading it): a name of the table, a tiktoken model, or a path."""
    try:
        resolve(spec)
    except (TokenizerNotFound, TokenizerFileError):
        return False
    return True


def suggestions(spec: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    """At most `n` names of `candidates` close to `spec` (case and the spelling of versions ignored)."""
    from .models import base_name, key

    by_key: dict[str, str] = {}
    for c in candidates:
        by_key.setdefault(key(c), c)
    wanted = base_name(spec) if "/" in spec and not spec.startswith((".", "/", "~")) else key(spec)
    return [by_key[k] for k in difflib.get_close_matches(wanted, list(by_key), n=n, cutoff=0.6)]


# -- loading ---------------------------------------------------------------------------------------------


def load(spec: str) -> Tokenizer:
    """The tokenizer named by `spec` (see the module docstring): `resolve(spec).load()`. Raises
    TokenizerNotFound, BackendMissing (a vendor's extra is missing), TokenizerFileError."""
    return resolve(spec).load()


def _load(spec: str, name: str | None = None) -> Tokenizer:
    """The tokenizer `spec` (a name of `constructors()` or a path), built once; under `name`, a shallow copy
    of it sharing what was built (callers give no `name` where it would be `spec`: one cache entry each).
    A path is built again once its file changes (the cache is keyed by its device, inode, size and mtime):
    a tokenizer rewritten in place (`tokcli train -o bpe.json` twice) is never answered from the old one."""
    return _load_cached(spec, name, _file_stamp(spec))


def _file_stamp(spec: str) -> tuple[int, int, int, int] | None:
    """What identifies the file a path `spec` loads (None for a registered name or a path that is not there)."""
    if spec in constructors():
        return None
    path = Path(spec)
    try:
        st = (path / "tokenizer.json" if path.is_dir() else path).stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


@cache
def _load_cached(spec: str, name: str | None, stamp: tuple[int, int, int, int] | None) -> Tokenizer:
    if name is not None and name != spec:
        tok = copy.copy(_load(spec))
        tok.name = name
        return tok
    if (entry := constructors().get(spec)) is not None:
        return entry[1](spec)
    from .hf import HFTokenizer

    path = Path(spec)
    if path.is_dir() and (path / "tokenizer.json").is_file():
        return HFTokenizer.from_file(path / "tokenizer.json", name=spec)
    if path.is_file():
        return load_file(path)
    return resolve(spec).load()  # not a tokenizer of its own: what resolve makes of it


_load.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]  # tests reset the one cache


def load_file(path: str | Path, name: str | None = None) -> Tokenizer:
    """A tokenizer file: JSON (an HF tokenizer.json) by its first byte or its .json name, anything else as
    sentencepiece. The file must be a regular file within TOKCLI_MAX_TOKENIZER_BYTES (tokcli.tokenizer.fileread),
    which is checked before anything is parsed. Raises TokenizerFileError or InputError."""
    from .fileread import read_tokenizer_file
    from .hf import HFTokenizer
    from .spm import SentencePiece

    path = Path(path)
    data = read_tokenizer_file(path)
    if data[:64].lstrip(b" \t\r\n\xef\xbb\xbf").startswith((b"{", b"[")) or path.suffix == ".json":
        return HFTokenizer.from_bytes(data, name or str(path), source=str(path))
    return SentencePiece(data, name or str(path))
