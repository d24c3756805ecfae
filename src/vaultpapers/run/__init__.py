"""One run of the pipeline: scan, resolve, plan, write, remember."""
