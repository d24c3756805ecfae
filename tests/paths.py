"""Where the tests find the repository and their own data, wherever the test file sits."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
