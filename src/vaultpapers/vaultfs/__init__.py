"""The vault on disk: listing and reading notes, the one safe writer, the state store."""
