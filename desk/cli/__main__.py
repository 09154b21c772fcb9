"""`python -m desk.cli …`: the same as the `desk` console script."""

from __future__ import annotations

import sys

from desk.cli import main

sys.exit(main())
