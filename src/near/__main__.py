"""``python -m near …``: the same as the ``near`` command."""

from near.cli import main

main(prog_name="near")
