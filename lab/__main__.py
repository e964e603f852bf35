"""`python -m lab ...` runs the `lab` CLI."""

from lab.serve.cli import main

main()
