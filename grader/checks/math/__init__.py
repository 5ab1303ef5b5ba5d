"""`kind: math`: the math checker and what it rests on. Each module imports only the
modules listed below it (an import-linter contract in pyproject.toml):

    checker       the criterion-level checker: MathSpec, MathChecker, register_math_checkers
    outcomes      which rubric outcome a candidate meets, the best of several, hints
    answertests   the STACK-style answer tests, in one table (answertests.table)
    units         the unit table (and pint for names outside it)

The reading of a free-text answer into candidate trees (definitions, arrays) is
grader.mathlang.reading, below all of them.
"""
