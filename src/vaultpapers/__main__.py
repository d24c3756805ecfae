"""`python -m vaultpapers` runs the command line."""

from .cli import main

main()
