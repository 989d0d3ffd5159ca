"""Run the benchmark without the bot's command line: ``python bench/run.py [--quick] ...``.

Same options as ``python -m bot bench`` (see ``bot/bench.py`` and ``bench/README.md``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import bench


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__)
    bench.add_arguments(parser)
    return bench.main(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
