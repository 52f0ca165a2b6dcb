# Pre-tokenize with Ray Data (not run by the README's checks: Ray is not a dependency of tokcli).
import ray

import tokcli.workers

ds = ray.data.read_parquet("s3://bucket/corpus/")  # a column "text"
encode = tokcli.workers.batch_encoder("o200k_base", column="text", eot="<|endoftext|>")  # adds "ids", "tokens"
ds = ds.map_batches(encode, batch_format="numpy", batch_size=256)
print(ds.sum("tokens"))
ds.select_columns(["ids"]).write_parquet("s3://bucket/corpus-ids/")
