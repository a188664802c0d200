"""``python -m loadtests run --store URL ...``; see :mod:`loadtests.run`."""

import sys

from loadtests.run import main

sys.exit(main())
