"""`python -m debugdash` is the `debugdash` command."""

from debugdash.launch import main

main(prog_name="debugdash")
