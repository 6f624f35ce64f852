"""`python -m kantata_async`: the `kantata-async` command line (see `kantata_async.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
