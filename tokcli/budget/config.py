"""tokcli's configuration, read and checked: moved to tokcli.files.config (the tokenizer layer's name resolver
reads the [models] tables too, and sits below budget). Kept so that `tokcli.budget.config` still imports."""

from tokcli.files.config import *  # noqa: F403
from tokcli.files.config import _checked, _type_name  # noqa: F401
