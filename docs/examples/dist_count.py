# Count and pre-tokenize on your own Dask cluster (here a local one: two worker processes).
import tempfile

from distributed import Client, LocalCluster

import tokcli.workers

if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster) as client:
        rows = tokcli.workers.count(["corpora/"], ["o200k_base", "ja-char"], client=client)
        for row in rows:
            print(f"{row.input:28} {row.tokens['o200k_base']:>7,} {row.tokens['ja-char']:>7,}")
        out = tempfile.mkdtemp()
        done = tokcli.workers.encode_to(["corpora/"], "o200k_base", out, client=client, eot="<|endoftext|>")
        print(f"{done.tokens:,} tokens in {len(done.index['shards'])} shard(s) of {done.index['dtype']}")
