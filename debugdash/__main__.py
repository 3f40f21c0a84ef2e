"""`python -m debugdash` is the `debugdash` command."""

from debugdash.cli import main

main(prog_name="debugdash")
