"""The core: money, dates, periods and error records. Pure Python + numpy; no Excel, no files."""
