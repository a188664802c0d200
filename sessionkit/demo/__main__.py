"""``python -m sessionkit.demo``: the demo without the ``sessionkit`` command."""

import argparse
import sys

from . import add_arguments, main

parser = argparse.ArgumentParser(prog="python -m sessionkit.demo", description=__doc__)
add_arguments(parser)
sys.exit(main(parser.parse_args()))
