"""vaultpapers: keep a Markdown research vault linked to the arXiv papers it cites."""

__version__ = "0.1.0"
