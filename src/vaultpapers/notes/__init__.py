"""The notes we write: paper notes, index notes, the related section, citekeys, bibliographies."""
