"""The ranges of `lm train`'s numeric options (shown in its --help, checked again by trainoptions.check_options).

The shape limits are those of a model directory that tokcli can load (tokcli.model.config.INT_FIELDS): a
larger model could be trained but never used. The others bound values that can only be mistakes.
Importing this is cheap (no numpy, no torch): the CLI reads it to build `lm train`'s options.
"""

from __future__ import annotations

from tokcli.model.config import INT_FIELDS

MAX_LAYERS = INT_FIELDS["n_layer"][1]
MAX_HEADS = INT_FIELDS["n_head"][1]
MAX_WIDTH = INT_FIELDS["n_embd"][1]
MAX_CONTEXT = INT_FIELDS["block_size"][1]
MAX_BATCH = 1 << 16  # sequences per step
MAX_STEPS = 100_000_000  # optimizer steps (also --warmup, --eval-every, --checkpoint-every)
MAX_SEED = (1 << 32) - 1  # numpy's and torch's seeds are drawn from it
MAX_THREADS = 1024  # torch threads
MAX_LR = 1.0  # AdamW's learning rate (and --min-lr); more only diverges
MAX_WEIGHT_DECAY = 10.0
MAX_DROPOUT = 0.999  # below 1: a dropout of 1 zeroes every activation
