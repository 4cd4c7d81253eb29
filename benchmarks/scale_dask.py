"""By hand, never in CI: `python -m benchmarks.scale_dask 1000000 [workers] [--no-local]` writes a seeded book of N
lines as 8 Parquet files, computes its monthly revenue schedule by Region (36 months) with `--engine dask` on a
LocalCluster of `workers` processes (1 thread each) and in process, checks they are equal to the cent, and prints
the wall times, each worker's peak memory (RSS) and the scheduler's.

The book is generated in chunks of 1,000,000 lines (each chunk's contracts and customers named apart; the j-th
eighth of every chunk goes to file j, a contract's lines together; a customer's contracts are drawn at random,
so its lines sit in several files), so 10 million lines never exist as Python rows at once. The in-process run
is a child process (its own peak RSS, not the generator's); --no-local skips it."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHUNK = 1_000_000
DATES = ("Booking Date", "Start Date", "End Date", "Billing Start")


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def write_book(n_lines: int, folder: Path, files: int = 8, seed: int = 19) -> None:
    """The seeded book of n_lines as `files` Parquet files, one row group per chunk and file."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .generate import generate_book
    writers, schema = [], None
    try:
        for k, first in enumerate(range(0, n_lines, CHUNK)):
            rows = generate_book(min(CHUNK, n_lines - first), months=36, seed=seed + k)
            header, body = rows[0], rows[1:]
            del rows
            frame = pd.DataFrame(body, columns=header)
            del body
            for name in DATES:
                frame[name] = pd.to_datetime(frame[name]).astype("datetime64[us]")
            if k:  # chunks are books of their own: name their contracts and customers apart
                frame["Contract ID"] = f"K{k:03d}-" + frame["Contract ID"]
                frame["Line ID"] = f"K{k:03d}-" + frame["Line ID"]
                frame["Customer"] = frame["Customer"] + f" / {k:03d}"
            table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
            if schema is None:
                schema = table.schema
                writers = [pq.ParquetWriter(folder / f"part{j:02d}.parquet", schema) for j in range(files)]
            step = -(-len(frame) // files)
            for j, writer in enumerate(writers):  # file j: the j-th eighth of every chunk
                writer.write_table(table.slice(j * step, step))
            del frame, table
    finally:
        for writer in writers:
            writer.close()


def _rss_watchdog(limit: int) -> None:
    """Stop this process once its RSS passes `limit` bytes: on a shared machine, a run that does not fit ends
    itself rather than leave the kernel's OOM killer to pick a process (maybe another job's)."""
    import threading
    page = os.sysconf("SC_PAGE_SIZE")

    def watch():
        while True:
            with open("/proc/self/statm") as f:
                rss = int(f.read().split()[1]) * page
            if rss > limit:
                print(f"stopped: RSS {rss / 2**30:.2f} GiB passed the {limit / 2**30:.1f} GiB cap", file=sys.stderr,
                      flush=True)
                os._exit(3)
            time.sleep(0.1)
    threading.Thread(target=watch, daemon=True).start()


def _local(folder: str, cap_gib: float = float(os.environ.get("BBB_SCALE_LOCAL_CAP_GIB", 12))) -> None:
    """The child process of the in-process run: prints its time, peak RSS and the schedule as JSON; it stops
    itself past cap_gib of RSS (the memory a shared 24 GiB machine can spare)."""
    from bbb_xl.scale import file_schedule
    _rss_watchdog(int(cap_gib * 2**30))
    t, c = time.perf_counter(), time.process_time()
    rows = file_schedule(folder, "revenue", "2024-01", "2026-12", group_by="Region").rows
    print(json.dumps({"wall": time.perf_counter() - t, "cpu": time.process_time() - c, "peak": _peak_rss(),
                      "rows": [[str(v) for v in r] for r in rows]}))


def main(n_lines: int, workers: int = 2, files: int = 8, local: bool = True, partitions: int | None = None) -> None:
    from distributed import Client, LocalCluster

    from bbb_xl.scale import file_schedule
    folder = Path(tempfile.mkdtemp(prefix="bbb_scale_"))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "benchmarks.scale_dask", "--write", str(n_lines), str(folder), str(files)],
                   check=True)
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"book: {n_lines:,} lines in {files} Parquet files ({size / 2**20:.0f} MiB), "
          f"{time.perf_counter() - t:.1f} s to write", flush=True)
    limit = f"{max(2, min(10, 20 // workers))}GiB"  # a 24 GiB machine: room for the client and the OS
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      memory_limit=limit) as cluster, Client(cluster) as client:
        cpu0 = client.run(time.process_time)
        t = time.perf_counter()
        on_dask = file_schedule(folder, "revenue", "2024-01", "2026-12", group_by="Region", engine="dask",
                                scheduler=cluster.scheduler_address, partitions=partitions).rows
        dask_s = time.perf_counter() - t
        cpu = {k: v - cpu0[k] for k, v in client.run(time.process_time).items()}
        peaks = client.run(_peak_rss)
        scheduler_peak = client.run_on_scheduler(_peak_rss)
    print(f"dask ({workers} workers, memory_limit {limit} each): {dask_s:.1f} s; peak RSS per worker: "
          + ", ".join(f"{v / 2**30:.2f} GiB" for v in peaks.values())
          + f"; scheduler {scheduler_peak / 2**30:.2f} GiB; client {_peak_rss() / 2**30:.2f} GiB; CPU per worker: "
          + ", ".join(f"{v:.1f} s" for v in cpu.values()), flush=True)
    print("total revenue:", on_dask[-1][0], sum(on_dask[-1][1:]), flush=True)
    if local:
        done = subprocess.run([sys.executable, "-m", "benchmarks.scale_dask", "--local", str(folder)],
                              capture_output=True, text=True)
        if done.returncode:
            print("in process: failed:", (done.stderr.strip().splitlines() or ["?"])[-1])
        else:
            got = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"in process (Parquet read + engine): {got['wall']:.1f} s ({got['cpu']:.1f} s CPU), "
                  f"peak RSS {got['peak'] / 2**30:.2f} GiB")
            print("equal to the cent:", got["rows"] == [[str(v) for v in r] for r in on_dask])
    for p in folder.iterdir():
        p.unlink()
    os.rmdir(folder)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[0] == "--write":
        write_book(int(args[1]), Path(args[2]), int(args[3]))
    elif args[0] == "--local":
        _local(args[1])
    else:
        flags = [a for a in args if a.startswith("--")]
        nums = [int(a) for a in args if not a.startswith("--")]
        main(nums[0], *(nums[1:2] or [2]), local="--no-local" not in flags,
             partitions=next((int(a.split("=")[1]) for a in flags if a.startswith("--partitions=")), None))
