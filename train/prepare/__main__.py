"""python -m train.prepare: see train.prepare.cli."""

from train.prepare.cli import main

raise SystemExit(main())
