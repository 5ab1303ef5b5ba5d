"""Imported by the sandbox's fork server only (`set_forkserver_preload`): loads what every
math child needs before it forks, so no child pays for it inside a check's time limit.

pint's unit registry takes about a second to build; under load, a child's first check of a
unit outside our table ran into the 2 s wall-clock limit and was sent to review.
"""

from __future__ import annotations

from grader.checks.math.units import preload_pint

preload_pint()
