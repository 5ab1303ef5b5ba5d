"""The one rule for what a student id may be, for single submissions, batch rows and rosters:
1 to 128 letters, digits and `. @ + - _` (no spaces, no control characters, nothing that needs
quoting in a CSV gradebook or a URL)."""

from __future__ import annotations

import re

MAX_STUDENT_ID_CHARS = 128
STUDENT_ID_PATTERN = r"^[\w.@+-]+$"  # matched whole (fullmatch): no final newline
STUDENT_ID_RULE = "may contain only letters, digits and . @ + - _"
_STUDENT_ID = re.compile(STUDENT_ID_PATTERN)


def is_student_id(text: str) -> bool:
    return 0 < len(text) <= MAX_STUDENT_ID_CHARS and _STUDENT_ID.fullmatch(text) is not None
