"""``python -m ledgerkit.cli``: the same as the ``ledgerkit`` command."""

import sys

from ledgerkit.cli import main

sys.exit(main())
