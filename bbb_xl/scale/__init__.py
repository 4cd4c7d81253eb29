"""Books beyond one sheet: the engine over Parquet / CSV partitions, in process or on Dask (optional extra
`pip install bbb_xl[scale]`). Never imported by core or engine; it imports the engine."""
from .journal import file_journal
from .partitioned import file_schedule, read_sources, schedule_rows

__all__ = ["file_journal", "file_schedule", "read_sources", "schedule_rows"]
