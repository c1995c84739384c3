"""Run the command-line interface: ``python -m lgt_graph``."""

import sys

from lgt_graph.cli import main

if __name__ == "__main__":
    sys.exit(main())
