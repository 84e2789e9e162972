"""``python -m routilux``: the same as the ``routilux`` command."""

from routilux.commands import main

main()
