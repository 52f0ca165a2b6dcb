"""Everything that touches the file system: the layer under the tokenizers.

    walk.py       files, directories and globs -> the files to read (gitignore rules, links, binaries)
    text.py       an input -> its text, streamed in chunks (UTF-8, BOMs, --errors)
    datasets.py   JSONL and Parquet records (the --field and --chat inputs)
    shards.py     pre-tokenized shard directories (what `encode --to` writes, `lm train` reads)
    capped.py     a regular file read with a size limit checked before anything is allocated
    atomic.py     outputs written atomically, and only over regular files
    bundled.py    where the bundled models, tokenizers and sample texts live

This package imports nothing of tokcli but tokcli.errors (import-linter checks it).
"""
