"""Files on disk: atomic writes, parquet artifacts and their checks."""
