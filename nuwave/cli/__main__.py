"""`python -m nuwave.cli ...` is `nuwave ...`."""

from nuwave.cli import main

main()
