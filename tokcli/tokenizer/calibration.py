"""Calibrated estimates for private tokenizers: a proxy tokenizer (o200k_base) and, per model generation, the
factor a published source measured between the proxy's counts and the model's, with the error that source
reports. Nothing here is a measurement of tokcli's own: each figure is the source's, cited by name and date.

    generation           proxy       factor (text counts)              stated error
    Claude < Opus 4.7    o200k_base  1 (no published calibration)      unknown
    Claude >= Opus 4.7   o200k_base  by class, relative to Opus 4.6:   unknown (4.6's) x the factors' spread
                                     Latin prose 1.325, code 1.245,
                                     CJK, Cyrillic, Arabic/Devanagari 1
    Gemini 2.x and 3     o200k_base  1.08                              within 1.63% (2.5-pro), 1.30% (3-pro)
    Grok 3               o200k_base  1                                 within 1.33%
    Grok 4               o200k_base  1 (no usable calibration)         wide: the source's own is off 26-33%

A calibrated count is ceil(sum over the text's classes of the proxy's count of that class x its factor): the
text is cut into runs of one class (tokcli.tokenizer.scripts) at points where the runs' proxy counts add up to
the whole text's, and the product is rounded up once per input. ai-tokenizer's constants (a request's base
and per-message tokens) describe a chat request, not a text: they are stated here and in `tokcli models`, and
text counts (count, check, -m) leave them out, as they leave out OpenAI's message framing.

`CalibratedTokenizer` wraps the proxy: its count, count_stream and count_texts are calibrated; encode, ids,
decode and everything else are the proxy's own (so `tokcli encode -t gemini-2.5-pro` shows o200k_base's ids,
fewer than the calibrated count). Exact tokenizers are never wrapped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .base import BATCH_SEGMENTS, Tokenizer, Wrapped

if TYPE_CHECKING:
    import numpy as np

AI_TOKENIZER = (
    "coder/ai-tokenizer 1.0.6 (MIT), src/models.json and accuracy.json at commit 33257fe (2025-12-01); "
    "accuracy measured at about 500, 5k and 50k tokens"
)
SOL = (
    "sol.ava.dev, \"What's actually different about the Opus 4.7 tokenizer\" (2026-04-17), quoting Anthropic's "
    "release notes (1.0-1.35x)"
)
PITHWIRE = 'pithwire, summarising "Measuring Claude 4.7\'s tokenizer costs" (date not stated)'
NO_CLAUDE = "no published calibration of Claude against o200k_base"


@dataclass(frozen=True)
class Calibration:
    """One model generation's proxy, factors and stated error, and where they come from."""

    key: str  # claude, claude-4.7, gemini, grok-3, grok-4
    generation: str  # in words
    proxy: str
    factors: Mapping[str, str]  # class (tokcli.tokenizer.scripts.CLASSES) -> factor; "*" for every class
    error: str  # the stated error, in words
    source: str
    ranges: Mapping[str, str] = field(default_factory=dict)  # class -> the range the sources report
    base: int = 0  # ai-tokenizer's tokens per request (chat requests only; not in text counts)
    per_message: int = 0  # ai-tokenizer's tokens per message (chat requests only)
    error_pct: float | None = None  # the largest error the source reports, in %; None: not known
    calibrated: bool = True  # False: no usable published figure, factor 1

    def factor(self, cls: str) -> Fraction:
        return Fraction(self.factors.get(cls, self.factors.get("*", "1")))

    @property
    def per_class(self) -> bool:
        return "*" not in self.factors

    @property
    def identity(self) -> bool:
        """Every factor 1: the count is the proxy's own."""
        return all(Fraction(f) == 1 for f in self.factors.values())

    @property
    def summary(self) -> str:
        """In short: "x1.08", "x1 (uncalibrated)", "x1-1.325 by class"."""
        if not self.calibrated:
            return "x1 (uncalibrated)"
        if not self.per_class:
            return f"x{self.factors['*']}"
        values = sorted({Fraction(f) for f in self.factors.values()})
        return f"x{_num(values[0])}-{_num(values[-1])} by class"

    def to_dict(self) -> dict[str, Any]:
        return {"generation": self.generation, "proxy": self.proxy, "calibrated": self.calibrated,
                "factors": {k: float(Fraction(v)) for k, v in self.factors.items()},
                "ranges": dict(self.ranges), "request_base": self.base, "per_message": self.per_message,
                "error_pct": self.error_pct, "source": self.source, "summary": self.summary}  # fmt: skip


def _num(f: Fraction) -> str:
    return f"{float(f):g}"


CALIBRATIONS: dict[str, Calibration] = {
    c.key: c
    for c in (
        Calibration(
            "claude",
            "Claude before Opus 4.7",
            "o200k_base",
            {"*": "1"},
            "unknown (no published calibration against o200k_base)",
            f"{AI_TOKENIZER}: its multiplier 1.1 (98-99.9% accurate) is for its own 64,739-id 'claude' "
            "encoding, not o200k_base, and does not transfer; " + NO_CLAUDE,
            calibrated=False,
        ),
        Calibration(
            "claude-4.7",
            "Claude from Opus 4.7",
            "o200k_base",
            {"latin": "1.325", "code": "1.245", "cjk": "1", "cyrillic": "1", "arabic": "1", "other": "1"},
            "unknown: Opus 4.6's (none published) x the factors' spread: prose 1.20-1.47, code 1.13-1.36, "
            "CJK 1.00-1.01",
            f"{SOL}; {PITHWIRE}. Factors relative to Opus 4.6 (counted as o200k_base): Latin prose the middle "
            "of the English reports (1.45 sol.ava.dev, 1.20 pithwire; German 1.46, French 1.36, Spanish 1.24, "
            "technical docs 1.47), code the middle of 1.13-1.33 (sol.ava.dev) and 1.29 Python, 1.36 "
            "TypeScript (pithwire), Russian/CJK/Arabic/Hindi 1.00 (sol.ava.dev; CJK 1.01 pithwire); other "
            "scripts: no figure, 1",
            ranges={
                "latin": "1.20-1.47",
                "code": "1.13-1.36",
                "cjk": "1.00-1.01",
                "cyrillic": "1.00",
                "arabic": "1.00",
                "other": "not measured",
            },
        ),  # fmt: skip
        Calibration(
            "gemini",
            "Gemini 2.x and 3",
            "o200k_base",
            {"*": "1.08"},
            "within 1.63% (98.37-99.82% accurate)",
            f"{AI_TOKENIZER}: Gemini 2.0, 2.5 and 3-pro-preview counted as o200k_base x 1.08, -1 a request, "
            "-1 a message; accuracy at ~500/5k/50k tokens gemini-2.5-pro 98.37/99.42/99.82%, "
            "gemini-3-pro-preview 98.70/98.77/98.91%",
            base=-1,
            per_message=-1,
            error_pct=1.63,
        ),  # fmt: skip
        Calibration(
            "grok-3",
            "Grok 3",
            "o200k_base",
            {"*": "1"},
            "within 1.33% (98.67-99.57% accurate)",
            f"{AI_TOKENIZER}: Grok 3 counted as o200k_base x 1, +5 a request, +3 a message; accuracy at "
            "~500/5k/50k tokens 99.57/98.67/99.23%",
            base=5,
            per_message=3,
            error_pct=1.33,
        ),  # fmt: skip
        Calibration(
            "grok-4",
            "Grok 4",
            "o200k_base",
            {"*": "1"},
            "wide: no usable calibration (the source's is 67-74% accurate)",
            f"{AI_TOKENIZER}: its Grok 4 calibration reaches only 67-74% accuracy at 5k-50k tokens; not used",
            calibrated=False,
        ),  # fmt: skip
    )
}

_CLAUDE = re.compile(
    r"claude-(?:(?:opus|sonnet|haiku)-(\d+)(?:[-.](\d{1,2}))?|(\d+)(?:[-.](\d{1,2}))?-(?:opus|sonnet|haiku))(?!\d)"
)
_GEMINI = re.compile(r"gemini-(?:2|3)(?![\d])")
_GROK = re.compile(r"grok-(3|4)(?!\d)")


def for_model(name: str) -> Calibration | None:
    """The calibration of the model generation `name` belongs to, None for a model of none of them."""
    n = name.lower().rsplit("/", 1)[-1]
    if "claude" in n:
        m = _CLAUDE.search(n)
        if m is not None:
            major, minor = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            if (int(major), int(minor or 0)) >= (4, 7):
                return CALIBRATIONS["claude-4.7"]
        return CALIBRATIONS["claude"]
    if _GEMINI.match(n):
        return CALIBRATIONS["gemini"]
    if (m := _GROK.match(n)) is not None:
        return CALIBRATIONS[f"grok-{m.group(1)}"]
    return None


def calibrated_count(counts: Mapping[str, int], cal: Calibration) -> int:
    """ceil(sum of each class's proxy count x its factor): the calibrated count of one input."""
    return math.ceil(sum((n * cal.factor(c) for c, n in counts.items()), Fraction(0)))


class CalibratedTokenizer(Wrapped):
    """The proxy with calibrated counts (see the module docstring); every other verb is the proxy's."""

    def __init__(self, inner: Tokenizer, calibration: Calibration) -> None:
        super().__init__(inner)
        self.calibration = calibration
        self.cut_pattern = inner.cut_pattern

    # -- counts: calibrated ----------------------------------------------------------------------------
    def class_counts(self, chunks: Iterable[str]) -> dict[str, int]:
        """The proxy's count of each class of the text (they add up to the proxy's count of the whole)."""
        cal = self.calibration
        if not cal.per_class:
            return {"*": self.inner.count_stream(chunks)}
        from .scripts import runs

        out: dict[str, int] = {}
        batch: list[tuple[str, str]] = []

        def flush() -> None:
            for (c, _), n in zip(batch, self.inner.count_texts([p for _, p in batch]), strict=True):
                out[c] = out.get(c, 0) + n
            batch.clear()

        for i, segment in enumerate(self.inner.segments(chunks)):
            batch.extend(runs(segment))
            if i % BATCH_SEGMENTS == BATCH_SEGMENTS - 1:
                flush()
        flush()
        return out

    def count(self, text: str) -> int:
        return self.count_stream([text])

    def count_stream(self, chunks: Iterable[str]) -> int:
        return calibrated_count(self.class_counts(chunks), self.calibration)

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        cal = self.calibration
        if not cal.per_class:
            return [calibrated_count({"*": n}, cal) for n in self.inner.count_texts(texts)]
        return [self.count_stream([t]) for t in texts]

    # -- encoding: the proxy's (the rest, decode, token bytes, the vocabulary: Wrapped) -----------------
    def encode(self, text: str) -> list[int]:
        return self.inner.encode(text)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self.inner.encode_batch(texts)

    def encode_stream(self, chunks: Iterable[str]) -> Iterator[list[int]]:
        return self.inner.encode_stream(chunks)

    def encode_segments(self, chunks: Iterable[str]) -> Iterator[tuple[str, list[int]]]:
        return self.inner.encode_segments(chunks)

    def encode_array(self, chunks: Iterable[str]) -> np.ndarray:
        return self.inner.encode_array(chunks)
