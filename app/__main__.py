"""``python -m app``: the same as the `upcron` command."""

from app.cli import main

main()
