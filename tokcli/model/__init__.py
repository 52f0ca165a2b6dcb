"""The bundled Transformer: model directory format (config), numpy inference (gpt, model), sampling,
generation.

    >>> from tokcli.model import load_model
    >>> m = load_model("char")                 # or a directory written by `tokcli lm train`
    >>> m.forward(m.encode("To be")).shape     # logits [T, V], float32
    (5, 66)

Importing this package is cheap: numpy and the tokenizer load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_LM", "load_model", "Model", "GenerateOptions", "SamplingOptions"]

# The model `score`, `next` and `generate` use without -m: change this one line to switch them all.
DEFAULT_LM = "en"


def __getattr__(name: str) -> Any:
    if name in ("load_model", "Model"):
        from . import model

        return getattr(model, name)
    if name == "GenerateOptions":
        from .generate import GenerateOptions

        return GenerateOptions
    if name == "SamplingOptions":
        from .sampling import SamplingOptions

        return SamplingOptions
    raise AttributeError(name)
