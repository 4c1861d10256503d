"""``python -m cmp_edge``: the cmp-edge command."""

import sys

from cmp_edge.cli import main

sys.exit(main())
