"""The pipeline's numerical steps, as pure functions on numpy/pandas objects (no paths)."""
