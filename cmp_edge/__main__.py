"""``python -m cmp_edge``: the cmp-edge command."""

import sys

from cmp_edge.cli.main import main

sys.exit(main())
