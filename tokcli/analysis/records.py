"""Token counts of the records of datasets (`count --field`): per-record lengths under each tokenizer,
their statistics and distribution, and the records longer than a model's window.

Every record is counted exactly as encoding its text alone would count it (records are encoded in
batches of whole texts; a text longer than a segment is streamed, exact as `count` is). Memory is
bounded by one batch and by the number of *distinct* lengths: the lengths are kept as a Counter
(length -> records), from which the percentiles are exact. Lists of record ids (records without text,
records over a window) keep the first MAX_IDS; their counts stay exact beyond.

Percentiles are nearest-rank: p50 is the smallest length that at least half of the records do not
exceed (always a length some record has).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from tokcli.errors import InputError, UsageError
from tokcli.files.datasets import Record, iter_records
from tokcli.tokenizer.base import Tokenizer
from tokcli.tokenizer.counting import about, count_texts

from .chunking import Piece, chunk

BATCH_RECORDS = 256  # records encoded together
BATCH_CHARS = 1 << 20  # ... or fewer, when they hold more characters than this
MAX_IDS = 10_000  # record ids listed (records without text, records over a window)
NEAR_RECORDS = 5
MAX_NAMED = 20  # fields named at most  # records lacking the field whose fields are named in the error when none has it
PERCENTILES = (50, 90, 99)


@dataclass
class Lengths:
    """The token lengths of records under one tokenizer: a Counter length -> records."""

    tokenizer: str
    counts: Counter[int] = field(default_factory=Counter)

    def add(self, n: int) -> None:
        self.counts[n] += 1

    def merge(self, other: Lengths) -> None:
        """Add the lengths of `other` (another part of the same records, counted elsewhere)."""
        self.counts.update(other.counts)

    @property
    def records(self) -> int:
        return sum(self.counts.values())

    @property
    def total(self) -> int:
        return sum(k * v for k, v in self.counts.items())

    @property
    def max(self) -> int | None:
        return max(self.counts) if self.counts else None

    @property
    def mean(self) -> float | None:
        n = self.records
        return self.total / n if n else None

    def percentile(self, p: float) -> int | None:
        """The nearest-rank p-th percentile (0 < p <= 100): the smallest length with at least p% of the
        records at or below it."""
        n = self.records
        if not n:
            return None
        rank = max(1, math.ceil(p / 100 * n))
        seen = 0
        for length in sorted(self.counts):
            seen += self.counts[length]
            if seen >= rank:
                return length
        raise AssertionError("unreachable: the ranks add up to n")

    def histogram(self, bins: int = 16) -> list[tuple[int, int, int]]:
        """(low, high, records) for about `bins` bins of equal, round width (1, 2 or 5 x 10^k tokens),
        from 0 to the longest record: records with low <= length < high."""
        if not self.counts:
            return []
        width = nice_width((self.max or 0) / bins)
        top = (self.max or 0) // width + 1
        hist = [0] * top
        for length, n in self.counts.items():
            hist[length // width] += n
        return [(i * width, (i + 1) * width, n) for i, n in enumerate(hist)]


def nice_width(raw: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... at least `raw`."""
    w = 1
    while True:
        for m in (1, 2, 5):
            if w * m >= raw:
                return w * m
        w *= 10


@dataclass
class Exceeding:
    """The records longer than a model's input budget (counted with its counting tokenizer)."""

    model: str
    tokenizer: str
    exact: bool  # False: counted with a proxy tokenizer (an estimate)
    limit: int
    records: int = 0
    ids: list[str] = field(default_factory=list)  # (the first MAX_IDS) "input:id" of each

    @property
    def more(self) -> bool:
        return self.records > len(self.ids)


@dataclass
class Missing:
    """Records without text in the field: how many, and the first MAX_IDS with what is wrong."""

    records: int = 0
    examples: list[tuple[str, str, str]] = field(default_factory=list)  # (input, id, problem)

    def add(self, label: str, rec: Record) -> None:
        self.records += 1
        if len(self.examples) < MAX_IDS:
            self.examples.append((label, rec.id, rec.problem or "no text"))


@dataclass
class InputRecords:
    """One input's records: how many, and their tokens under each tokenizer."""

    input: str
    records: int = 0
    chars: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    absent: int = 0  # records that lack the field (not null or not a string: without it)
    near: list[tuple[str, ...]] = field(default_factory=list)  # the fields each of the first NEAR_RECORDS has

    def lacking(self, records: Iterable[Record]) -> None:
        """Note the records that lack the field, and (of the first few) what fields they have."""
        for r in records:
            if r.fields is not None:
                self.absent += 1
                if len(self.near) < NEAR_RECORDS:
                    self.near.append(r.fields)

    def check_field(self, field_name: str) -> None:
        """UsageError when every record of this input lacks the field (see `check_field`)."""
        if self.records and self.absent == self.records:
            fields = list(dict.fromkeys(f for fs in self.near for f in fs))
            named = ", ".join(fields[:MAX_NAMED]) + (", ..." if len(fields) > MAX_NAMED else "")
            has = f"its first records have {named}" if fields else "its first records have no fields"
            raise UsageError(f"{self.input}: no record has the field {field_name!r}; {has}")


@dataclass
class RecordReport:
    field: str
    tokenizers: list[str]
    inputs: list[InputRecords]
    lengths: dict[str, Lengths]  # tokenizer -> lengths of the records with text
    missing: Missing
    exceeding: list[Exceeding]

    @property
    def records(self) -> int:
        return sum(i.records for i in self.inputs)


def _batches(records: Iterable[Record]) -> Iterator[list[Record]]:
    batch: list[Record] = []
    chars = 0
    for rec in records:
        batch.append(rec)
        chars += len(rec.text or "")
        if len(batch) >= BATCH_RECORDS or chars >= BATCH_CHARS:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def count_records(
    tokenizers: Sequence[Tokenizer],
    paths: Sequence[str],
    field_name: str,
    *,
    windows: Sequence[Exceeding] = (),
    id_field: str | None = None,
    errors: str = "strict",
) -> RecordReport:
    """Read the `field_name` of every record of every path once, and count each record under every
    tokenizer; `windows` (Exceeding with `limit` set, empty otherwise) collect the records over them."""
    report = RecordReport(field_name, [t.name for t in tokenizers], [], {t.name: Lengths(t.name) for t in tokenizers},
                          Missing(), list(windows))  # fmt: skip
    for path in paths:
        label = "<stdin>" if path == "-" else path
        count_into(report, tokenizers, label, iter_records(path, field_name, id_field=id_field, errors=errors))
    if not report.records:
        raise InputError(f"{', '.join(paths)}: no records (every line is blank)")
    check_field(report)
    return report


def check_field(report: RecordReport) -> None:
    """UsageError for an input none of whose records has the field (a JSONL file as a Parquet file without
    the column): a misspelt --field, not records without text. It names the fields the first records have."""
    for row in report.inputs:
        row.check_field(report.field)


def count_into(report: RecordReport, tokenizers: Sequence[Tokenizer], label: str, records: Iterable[Record]) -> None:
    """Count `records` (of the input `label`) into `report`: a new row of its inputs, its lengths, missing
    records and records over windows (tokcli.workers counts the parts of a file so, and merges them)."""
    row = InputRecords(label, tokens={t.name: 0 for t in tokenizers})
    report.inputs.append(row)
    for batch in _batches(records):
        row.records += len(batch)
        with_text = [r for r in batch if r.text is not None]
        for r in batch:
            if r.text is None:
                report.missing.add(label, r)
        row.lacking(batch)
        texts = [r.text for r in with_text if r.text is not None]
        row.chars += sum(len(t) for t in texts)
        by_tok: dict[str, list[int]] = {}
        for tok in tokenizers:
            ns = by_tok[tok.name] = count_texts(tok, texts, label)
            row.tokens[tok.name] += sum(ns)
            for n in ns:
                report.lengths[tok.name].add(n)
        for w in report.exceeding:
            for r, n in zip(with_text, by_tok[w.tokenizer], strict=True):
                if n > w.limit:
                    w.records += 1
                    if len(w.ids) < MAX_IDS:
                        w.ids.append(f"{label}:{r.id}")


def require_field(path: str, field_name: str, *, errors: str = "strict") -> None:
    """UsageError, as `count --field` gives it, when no record of `path` has the field; reads records only
    until one has it (the first, as a rule). For commands that would write before they know (encode --to)."""
    row = InputRecords("<stdin>" if path == "-" else path)
    for rec in iter_records(path, field_name, errors=errors):
        row.records += 1
        if rec.text is not None or rec.fields is None:  # has it (with text, or null / not a string)
            return
        row.lacking([rec])
    row.check_field(field_name)


def chunk_records(
    tok: Tokenizer, path: str, field_name: str, max_tokens: int, *, overlap: int = 0, id_field: str | None = None,
    errors: str = "strict",
) -> tuple[Missing, Iterator[tuple[str, int, Piece]]]:  # fmt: skip
    """(records without text, filled as the stream is read; (record id, piece number from 1, piece) of the
    pieces of every record's text, as `chunk` cuts a text). A record with empty text gives no pieces; a field
    no record has is a UsageError once the records are read."""
    missing = Missing()
    label = "<stdin>" if path == "-" else path
    row = InputRecords(label)

    def pieces() -> Iterator[tuple[str, int, Piece]]:
        for rec in iter_records(path, field_name, id_field=id_field, errors=errors):
            row.records += 1
            if rec.text is None:
                missing.add(label, rec)
                row.lacking([rec])
                continue
            with about(f"{label}: record {rec.id}"):
                for k, piece in enumerate(chunk(tok, [rec.text], max_tokens, overlap=overlap), 1):
                    yield rec.id, k, piece
        row.check_field(field_name)  # no piece was given: a misspelt field is an error, as for `count`

    return missing, pieces()
