"""``python -m pyws URL``: the command-line client (see :mod:`pyws._cli`)."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
