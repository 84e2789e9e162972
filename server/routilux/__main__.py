"""``python -m routilux``: the same as the ``routilux`` command."""

from routilux.cli import main

main()
