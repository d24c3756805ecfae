"""Which papers are related: names and series, successors and mentions, and the
evidence for them.
"""
