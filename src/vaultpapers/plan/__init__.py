"""From scans and metadata to the list of writes: pure."""
