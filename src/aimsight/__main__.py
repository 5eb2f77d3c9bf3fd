"""Allow ``python -m aimsight``."""

from aimsight.cli import main

main()
