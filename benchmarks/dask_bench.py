"""Counting on Dask workers against one process (issue 15): writes benchmarks/DASK.md.

    python benchmarks/dask_bench.py [--mb 60] [--repeat 2]

The corpus is ../shared/corpora/en_large.txt and ja_aozora_kokoro.txt repeated into files of about 6 MB
in a temporary directory (about --mb MB in all). Each configuration counts it with o200k_base:

- one process: tokcli.tokenizer.counting.count_inputs, as `tokcli count` without --workers;
- N workers: tokcli.workers.count on the LocalCluster `--workers N` starts (N worker processes x 1 thread,
  tokcli.workers.runner.local_cluster), already started and with the tokenizer loaded (the start-up of the
  cluster is reported on its own), tasks of 16 MB.

Throughput is text bytes over wall time (the median of --repeat runs); memory is the peak RSS of each
worker process (its ru_maxrss) and of the one process. The totals of every configuration are checked
to be identical.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPORA = ROOT.parent / "shared" / "corpora"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "DASK.md"))
    a = ap.parse_args()

    import dask
    import distributed

    from tokcli import load
    from tokcli.files.text import expand_inputs
    from tokcli.tokenizer.counting import count_inputs
    from tokcli.workers import count
    from tokcli.workers.runner import local_cluster

    en = (CORPORA / "en_large.txt").read_bytes()
    ja = (CORPORA / "ja_aozora_kokoro.txt").read_bytes()
    tmp = Path(tempfile.mkdtemp(prefix="tokcli-dask-bench-"))
    block = en + ja
    n_files = max(1, a.mb * 1_000_000 // len(block))
    for i in range(n_files):
        (tmp / f"part-{i:03d}.txt").write_bytes(block)
    total_bytes = n_files * len(block)
    inputs = [str(tmp)]
    tok = load("o200k_base")
    rows = []

    times = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        ref = count_inputs([tok], expand_inputs(inputs))
        times.append(time.perf_counter() - t0)
    ref_total = sum(r.tokens["o200k_base"] for r in ref)
    one = statistics.median(times)
    rows.append(("1 process (no Dask)", "-", one, total_bytes / one / 1e6, f"{peak_rss_mb():.0f} MB (the process)"))

    for n in (1, 2):
        t0 = time.perf_counter()
        cluster = local_cluster(n)  # what --workers N starts
        client = distributed.Client(cluster)
        start = time.perf_counter() - t0
        client.run(lambda: __import__("tokcli").load("o200k_base").count("warm up"))  # load the tokenizer first
        times = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            got = count(inputs, "o200k_base", client=client, task_bytes=16 << 20)
            times.append(time.perf_counter() - t0)
            assert sum(r.tokens["o200k_base"] for r in got) == ref_total, "totals differ"
        rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        client.close()
        cluster.close()
        t = statistics.median(times)
        per = ", ".join(f"{v:.0f}" for v in rss.values())
        rows.append((f"{n} worker process{'es' if n > 1 else ''}", f"{start:.1f} s", t, total_bytes / t / 1e6,
                     f"{per} MB (each worker)"))  # fmt: skip

    load_avg = os.getloadavg()
    lines = [
        "# Counting on Dask workers (issue 15)",
        "",
        f"Written by `python benchmarks/dask_bench.py --mb {a.mb} --repeat {a.repeat}` on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
        "",
        f"- Machine: {os.cpu_count()} logical cores, {platform.platform()}; Python {platform.python_version()}, "
        f"dask {dask.__version__}, distributed {distributed.__version__}",
        f"- Load average when it finished: {load_avg[0]:.1f} / {load_avg[1]:.1f} / {load_avg[2]:.1f} (1/5/15 min). "
        "The machine is shared with other engineers' jobs: the figures are what one run saw, not the hardware's best.",
        f"- Corpus: {n_files} files of en_large.txt + ja_aozora_kokoro.txt, {total_bytes / 1e6:.0f} MB; "
        f"o200k_base; {ref_total:,} tokens, identical in every row",
        "",
        "| run | cluster start | count time (median) | throughput | peak memory |",
        "|---|---:|---:|---:|---|",
    ]
    for name, start, t, mbs, mem in rows:
        lines.append(f"| {name} | {start} | {t:.2f} s | {mbs:.1f} MB/s | {mem} |")
    speed = rows[2][3] / rows[1][3]
    lines += ["", f"2 workers / 1 worker: {speed:.2f}x; 2 workers / 1 process: {rows[2][3] / rows[0][3]:.2f}x.", ""]
    Path(a.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()


if __name__ == "__main__":
    main()
