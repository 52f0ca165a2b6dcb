"""The command line: a thin Typer layer over the library, one module per command family.

    app.py      the Typer app, `main` and `run`: errors are turned into exit codes there, once
    common.py   the options shared by the commands; groups.py the option groups (sampling, walk, dist);
    inputs.py   reading inputs: files or stdin, a prompt, text given as an argument
    compare.py  compare            budget.py  check, diff, models, chunk, truncate
    model.py    generate, next, score, attention                lm.py   lm train, lm eval
    train.py    train              tokens.py  encode, decode    count.py  count
    why.py      show, why      cache.py  cache clear, and the --cache options of count, check, diff

Exit codes: 0 ok (also when the reader of stdout went away); 1 a check failed (budget exceeded); 2 usage
or input error (also a full disk); 3 internal error (a bug: rerun with TOKCLI_DEBUG=1 for the traceback);
130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
"""

from __future__ import annotations

from .app import app, main, run

# importing a module registers its commands (in this order: `tokcli --help` lists commands as they were registered)
# isort: off
from . import compare as _compare  # noqa: F401
from . import budget as _budget  # noqa: F401
from . import model as _model  # noqa: F401
from . import lm as _lm  # noqa: F401
from . import train as _train  # noqa: F401
from . import tokens as _tokens  # noqa: F401
from . import count as _count  # noqa: F401
from . import why as _why  # noqa: F401
from . import cache as _cache  # noqa: F401
# isort: on

__all__ = ["app", "main", "run"]
