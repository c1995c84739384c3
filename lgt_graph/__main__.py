"""Run the command-line interface: ``python -m lgt_graph``."""

import sys

from lgt_graph.cli import main

# The guard matters: the MLflow writer process is spawned and re-imports __main__.
if __name__ == "__main__":
    sys.exit(main())
