"""Aligning tokens with the text they stand for, for the analyses (metrics, why, show side by side,
chunking): tokcli.tokenizer.alignment's aligner with its default rule, where a run of tokens not in the
text shares its gap one character each. The aligner lives in the tokenizer layer so that the model's word
grouping (tokcli.model.words) uses the same one."""

from __future__ import annotations

from tokcli.tokenizer.alignment import char_byte_offsets, offset_dtype, token_offsets, token_spans

__all__ = ["char_byte_offsets", "offset_dtype", "token_offsets", "token_spans"]
