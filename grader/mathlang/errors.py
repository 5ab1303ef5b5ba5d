"""Errors of the math language; every message is written for a student."""

from __future__ import annotations


class MathError(ValueError):
    """The answer cannot be read as mathematics (the message says why, in plain words)."""


class MathSyntaxError(MathError):
    """Unsupported syntax: strings, attribute access, unknown commands, unbalanced brackets."""


class TooLarge(MathError):
    """Too long, too deep, too many parts, or a number too large to work with."""


class Undefined(MathError):
    """A value that does not exist: division by zero, infinity minus infinity."""


class EvalError(ArithmeticError):
    """A numeric evaluation failed at one point (pole, overflow); the caller tries another."""
