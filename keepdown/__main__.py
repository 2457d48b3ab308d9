"""``python -m keepdown`` runs the command line."""

import sys

from keepdown.cli import main

sys.exit(main())
