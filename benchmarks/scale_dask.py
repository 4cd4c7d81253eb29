"""By hand, never in CI: `python -m benchmarks.scale_dask 1000000 [workers]` writes a seeded book of N lines as
Parquet partitions, computes its monthly revenue schedule by Region with `--engine dask` on a LocalCluster and in
process, checks they are equal to the cent, and prints the wall times and each worker's peak memory (RSS)."""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def main(n_lines: int, workers: int = 2, files: int = 8) -> None:
    import pandas as pd
    from distributed import Client, LocalCluster

    from bbb_xl.scale import file_schedule

    from .generate import generate_book
    t = time.perf_counter()
    rows = generate_book(n_lines, months=36, seed=19)
    folder = Path(tempfile.mkdtemp(prefix="bbb_scale_"))
    body = rows[1:]
    step = -(-len(body) // files)
    for k in range(files):
        pd.DataFrame(body[k * step:(k + 1) * step], columns=rows[0]).to_parquet(folder / f"part{k:02d}.parquet")
    del rows, body
    print(f"book: {n_lines:,} lines in {files} Parquet files, {time.perf_counter() - t:.1f} s", flush=True)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        t = time.perf_counter()
        on_dask = file_schedule(folder, "revenue", "2024-01", "2026-12", group_by="Region", engine="dask",
                                scheduler=cluster.scheduler_address).rows
        dask_s = time.perf_counter() - t
        peaks = client.run(_peak_rss)
    t = time.perf_counter()
    local = file_schedule(folder, "revenue", "2024-01", "2026-12", group_by="Region").rows
    local_s = time.perf_counter() - t
    print(f"dask ({workers} workers): {dask_s:.1f} s; peak RSS per worker: "
          + ", ".join(f"{v / 2**30:.2f} GiB" for v in peaks.values()))
    print(f"in process (Parquet read + engine): {local_s:.1f} s, peak RSS {_peak_rss() / 2**30:.2f} GiB")
    print("equal to the cent:", on_dask == local)


if __name__ == "__main__":
    main(int(sys.argv[1]), *(int(a) for a in sys.argv[2:]))
