"""`python -m nabiz` runs the same command line as the `nabiz` script."""

from nabiz.cli import app

app(prog_name="nabiz")
