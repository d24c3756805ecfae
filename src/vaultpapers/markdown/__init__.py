"""Markdown text: where it is not prose, arXiv references, tags, front matter properties, links to
notes.
"""
