"""Units for the Units* answer tests: a small exact table (SI, prefixes, common non-SI units).

A quantity is split into its numeric part and its unit part; units convert to SI base
dimensions with exact rational factors, so `1000*m` equals `1*km` exactly. The table comes
first, and is ours, because STACK's unit names differ from pint's (`C` is degrees Celsius
in STACK's fixtures, `cc`, `dpt`, `Kj`) and a table lookup costs microseconds; a plain name
the table lacks (kWh, psi, knot, gal) is then looked up in pint's definitions.
"""

from __future__ import annotations

import functools
import logging
import re
from fractions import Fraction
from typing import Any

log = logging.getLogger(__name__)

Dim = tuple[int, int, int, int, int, int, int]  # m kg s A K mol cd

_BASE: dict[str, tuple[Fraction, Dim]] = {}


def _u(name: str, factor: Fraction | int | str, dim: Dim, *, prefixes: bool = True) -> None:
    _BASE[name] = (Fraction(factor), dim)
    if prefixes:
        for p, f in _PREFIX.items():
            _BASE.setdefault(p + name, (Fraction(factor) * f, dim))


_PREFIX = {
    "Y": Fraction(10) ** 24,
    "Z": Fraction(10) ** 21,
    "E": Fraction(10) ** 18,
    "P": Fraction(10) ** 15,
    "T": Fraction(10) ** 12,
    "G": Fraction(10) ** 9,
    "M": Fraction(10) ** 6,
    "k": Fraction(10) ** 3,
    "K": Fraction(10) ** 3,
    "h": Fraction(100),
    "da": Fraction(10),
    "d": Fraction(1, 10),
    "c": Fraction(1, 100),
    "m": Fraction(1, 1000),
    "u": Fraction(1, 10**6),
    "mu": Fraction(1, 10**6),
    "n": Fraction(1, 10**9),
    "p": Fraction(1, 10**12),
    "f": Fraction(1, 10**15),
    "a": Fraction(1, 10**18),
}
L, M, T, A, K, N, J = (
    (1, 0, 0, 0, 0, 0, 0),
    (0, 1, 0, 0, 0, 0, 0),
    (0, 0, 1, 0, 0, 0, 0),
    (0, 0, 0, 1, 0, 0, 0),
    (0, 0, 0, 0, 1, 0, 0),
    (0, 0, 0, 0, 0, 1, 0),
    (0, 0, 0, 0, 0, 0, 1),
)


def _d(*pairs: tuple[Dim, int]) -> Dim:
    out = [0] * 7
    for dim, p in pairs:
        for i, v in enumerate(dim):
            out[i] += v * p
    return (out[0], out[1], out[2], out[3], out[4], out[5], out[6])


_u("m", 1, L)
_u("g", Fraction(1, 1000), M)
_u("s", 1, T)
_u("A", 1, A)
_u("K", 1, K)
_u("mol", 1, N)
_u("cd", 1, J)
_u("N", 1, _d((M, 1), (L, 1), (T, -2)))
_u("J", 1, _d((M, 1), (L, 2), (T, -2)))
_u("j", 1, _d((M, 1), (L, 2), (T, -2)), prefixes=False)
_u("W", 1, _d((M, 1), (L, 2), (T, -3)))
_u("VA", 1, _d((M, 1), (L, 2), (T, -3)))
_u("Pa", 1, _d((M, 1), (L, -1), (T, -2)))
_u(
    "Hz",
    1,
    _d(
        (T, -1),
    ),
)
_u("V", 1, _d((M, 1), (L, 2), (T, -3), (A, -1)))
_u("Ohm", 1, _d((M, 1), (L, 2), (T, -3), (A, -2)))
_u("F", 1, _d((M, -1), (L, -2), (T, 4), (A, 2)))
_u("H", 1, _d((M, 1), (L, 2), (T, -2), (A, -2)))
_u("T", 1, _d((M, 1), (T, -2), (A, -1)))
_u("Wb", 1, _d((M, 1), (L, 2), (T, -2), (A, -1)))
_u("eV", Fraction("1.602176634e-19"), _d((M, 1), (L, 2), (T, -2)))
_u(
    "l",
    Fraction(1, 1000),
    _d(
        (L, 3),
    ),
)
_u(
    "L",
    Fraction(1, 1000),
    _d(
        (L, 3),
    ),
)
_u("t", 1000, M)
_u(
    "dpt",
    1,
    _d(
        (L, -1),
    ),
    prefixes=False,
)
_u(
    "cc",
    Fraction(1, 10**6),
    _d(
        (L, 3),
    ),
    prefixes=False,
)
_u("min", 60, T, prefixes=False)
_u("h", 3600, T, prefixes=False)
_u("hr", 3600, T, prefixes=False)
_u("d", 86400, T, prefixes=False)
_u("in", Fraction("0.0254"), L, prefixes=False)
_u("ft", Fraction("0.3048"), L, prefixes=False)
_u("yd", Fraction("0.9144"), L, prefixes=False)
_u("mi", Fraction("1609.344"), L, prefixes=False)
_u("lb", Fraction("0.45359237"), M, prefixes=False)
_u("bar", 100000, _d((M, 1), (L, -1), (T, -2)), prefixes=False)
_u("atm", 101325, _d((M, 1), (L, -1), (T, -2)), prefixes=False)
_u("M", 1000, _d((N, 1), (L, -3)))  # molar, mol/L (mM, µM, nM)
_u("C", 1, K, prefixes=False)  # degrees Celsius (offset handled by the caller)
_u("degC", 1, K, prefixes=False)
_u("Coulomb", 1, _d((A, 1), (T, 1)), prefixes=False)

CELSIUS_OFFSET = Fraction("273.15")


_PINT_DIMS = (
    "[length]",
    "[mass]",
    "[time]",
    "[current]",
    "[temperature]",
    "[substance]",
    "[luminosity]",
)
_NAME_OK = re.compile(r"^[A-Za-z]{2,12}$")  # one letter: our table has the SI ones


@functools.cache
def _pint_registry() -> Any:
    """pint's unit registry, built once per process (a failed build is tried again)."""
    import pint

    return pint.UnitRegistry()


def preload_pint() -> None:
    """Build pint's registry now (about a second) instead of inside the first check's time
    limit; the sandbox's fork server calls it once, so every math child starts with it."""
    try:
        _pint_registry()
    except Exception:  # noqa: BLE001 - without pint, units outside our table stay unknown
        log.warning("pint's unit registry could not be loaded", exc_info=True)


# Bounded: the names come from student answers. Kept apart from `_BASE`, so that what
# `common_unit` calls our own table does not grow with the pint lookups a process has made.
@functools.lru_cache(maxsize=4096)
def _pint_info(name: str) -> tuple[Fraction, Dim] | None:
    """Units outside our table (kWh, psi, knot, gal...) from pint's definitions, loaded once
    per process on first need. Only plain names reach pint, never an expression."""
    if not _NAME_OK.match(name):
        return None
    try:
        q = _pint_registry().Quantity(1, name).to_base_units()
        dims = dict(q.dimensionality)
        if set(dims) - set(_PINT_DIMS):
            return None
        dim = tuple(int(dims.get(d, 0)) for d in _PINT_DIMS)
        return Fraction(q.magnitude).limit_denominator(10**15), dim  # type: ignore[return-value]
    except Exception:  # noqa: BLE001 - any pint failure means "not a unit we know"
        return None


# How students spell units our table names otherwise: Ω, ohm, Omega are Ohm; µ (mu) is the
# prefix u; a few words for the common ones.
_ALIASES = {"Omega": "Ohm", "ohm": "Ohm", "ohms": "Ohm", "Ohms": "Ohm", "sec": "s", "secs": "s"}
_ALIAS_PREFIXES = {"mu": "u", "micro": "u", "kilo": "k", "milli": "m", "mega": "M", "nano": "n"}


def unit_name(name: str) -> str:
    """Our table's name for a unit as a student writes it: kΩ -> kOhm, µs -> us."""
    if name in _BASE:
        return name
    for spelled, ours in _ALIASES.items():
        if name.endswith(spelled):
            head = name[: -len(spelled)]
            head = _ALIAS_PREFIXES.get(head, head)
            if head in _PREFIX or head == "":
                return head + ours
    for spelled, ours in _ALIAS_PREFIXES.items():
        if name.startswith(spelled) and len(name) > len(spelled):
            rest = name[len(spelled) :]
            rest = _ALIASES.get(rest, rest)
            if rest in _BASE:
                return ours + rest
    return name


def unit_info(name: str) -> tuple[Fraction, Dim] | None:
    name = unit_name(name)
    hit = _BASE.get(name)
    return hit if hit is not None else _pint_info(name)


def common_unit(name: str) -> bool:
    """A unit of our own table (SI, prefixes, the usual others): in prose, '36 bags' is a
    count even though pint knows a bag of cement."""
    return unit_name(name.replace("µ", "u").replace("μ", "u").replace("Ω", "Ohm")) in _BASE


_BASE["Kj"] = _BASE["kJ"]  # STACK's fixtures accept the capitalised spelling
