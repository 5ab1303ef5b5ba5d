"""`python -m grader`: the commands that need no queue (grader.cli). The whole command,
serve, worker and redrive included, is the `grader` script or `python -m service`."""

import sys

from grader.cli import main

sys.exit(main())
