"""The frozen app's entry point: the same `main` the `account-monitor` console script runs.

PyInstaller needs a script, not an entry point; keeping it one line means the bundle and the wheel
start through exactly the same code.
"""

import sys

from streams.cli import main

if __name__ == "__main__":
    sys.exit(main())
