"""The bounds of `generate`'s numbers, importable without numpy (the CLI shows them in --help)."""

# Upper bounds that only a mistake reaches (`-n 99999999999`): a sample of a million tokens takes the bundled
# models minutes; ten thousand samples, or ten million tokens in all, are more than anyone reads, and the
# samples' records (held for --format json and the summary) grow with the total.
MAX_TOKENS = 1_000_000
MAX_SAMPLES = 10_000
MAX_TOTAL_TOKENS = 10_000_000
