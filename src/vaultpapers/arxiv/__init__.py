"""arXiv: the id grammar, paper records, the API client, the cache, resolving metadata, fetching
ahead, refreshing.
"""
