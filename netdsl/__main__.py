"""``python -m netdsl``: the same as the ``netdsl`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
