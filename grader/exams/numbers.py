"""Find where a rubric holds a number too long to read.

Python refuses to turn a string of more than `sys.get_int_max_str_digits()` digits (4,300 by
default) into an int, so YAML's and JSON's loaders raise a bare ValueError on such a rubric.
Composing the document (nodes only, nothing converted) finds the scalar and its path, so the
author reads which field and line, as for every other rubric error.
"""

from __future__ import annotations

import re
import sys

import yaml

_INT_TAG = "tag:yaml.org,2002:int"
_DIGITS = re.compile(r"[0-9]")


def _too_long(node: yaml.ScalarNode, limit: int) -> bool:
    # a plain scalar the resolver reads as an int (JSON numbers included)
    return node.tag == _INT_TAG and len(_DIGITS.findall(node.value)) > limit


def find_huge_integer(text: str) -> tuple[tuple[str | int, ...], str, int | None] | None:
    """(path, message, line) of the first integer too long to convert, or None."""
    limit = sys.get_int_max_str_digits() or sys.maxsize
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)  # noqa: S506 - safe loader, no objects
    except (yaml.YAMLError, RecursionError):
        return None
    stack: list[tuple[yaml.Node | None, tuple[str | int, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if _too_long(node, limit):
                digits = len(_DIGITS.findall(node.value))
                message = f"a number with {digits} digits is too long (at most {limit})"
                return path, message, node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i)) for i, item in reversed(list(enumerate(node.value))))
        elif isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                stack.append((value, (*path, name)))
                stack.append((key, (*path, name)))
    return None
