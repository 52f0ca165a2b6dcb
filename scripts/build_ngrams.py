"""Build the n-gram ladder a model ships (`tokcli score --ladder`): MODEL_DIR/ngrams.npz.

    python scripts/build_ngrams.py tokcli/data/models/bpe ../shared/corpora/en_shakespeare.txt
    python scripts/build_ngrams.py tokcli/data/models/en ../shared/corpora/en_large.txt

Give the texts the model was trained on, in the order `tokcli lm train` got them (its config.json
records them in meta.trained_on; with no text given, that list is used). The model's own tokenizer
counts them; the best order is chosen on the held-out last 10% of each text and the tables are counted
on the first 90% (the Transformer's training split), then pruned to fit --budget bytes. See
tokcli/lm/ngram_tables.py for the format. Bundled files must stay listed in pyproject's package-data
(tokcli/data/**/* covers them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tokcli.errors import TokcliError  # noqa: E402
from tokcli.files.text import read_text  # noqa: E402
from tokcli.lm import ngram_tables  # noqa: E402
from tokcli.lm.ngram import MAX_ORDER  # noqa: E402
from tokcli.tokenizer.registry import load_file  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path, help="a model directory (config.json, tokenizer.json, ...)")
    ap.add_argument("texts", nargs="*", type=Path, help="its training texts (default: config meta.trained_on)")
    ap.add_argument("--budget", type=int, default=ngram_tables.DEFAULT_BUDGET, help="file size at most, in bytes")
    ap.add_argument("--max-order", type=int, default=MAX_ORDER, help="the highest order tried")
    ap.add_argument("--val-fraction", type=float, default=None, help="held out (default: the model's, else 0.1)")
    a = ap.parse_args(argv)
    try:
        cfg = json.loads((a.model_dir / "config.json").read_text(encoding="utf-8"))
        meta = cfg.get("meta", {})
        texts = a.texts or [ROOT / p for p in str(meta.get("trained_on", "")).split()]
        if not texts:
            ap.error("give the model's training texts (its config.json names none)")
        val = a.val_fraction if a.val_fraction is not None else meta.get("options", {}).get("val_fraction", 0.1)
        tok = load_file(a.model_dir / "tokenizer.json", name=a.model_dir.name)
        arrays, info = ngram_tables.build(
            tok, [read_text(str(p)) for p in texts], val_fraction=val, max_order=a.max_order, budget=a.budget,
            on_step=lambda s: print(s, file=sys.stderr),
        )  # fmt: skip
        info["built_from"] = [p.name for p in texts]
        out = a.model_dir / ngram_tables.FILENAME
        ngram_tables.save(out, arrays, info)
    except TokcliError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({out.stat().st_size:,} bytes): orders {info['orders']}, min count {info['min_count']}")
    print(json.dumps(info["held_out"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
