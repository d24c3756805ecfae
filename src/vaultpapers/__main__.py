"""`python -m vaultpapers` runs the command line."""

from vaultpapers.cli import run

if __name__ == "__main__":  # not when a worker process imports it (see parallel.py)
    run()
