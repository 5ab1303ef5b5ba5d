"""`kind: choice`: which option an answer picks. The checker imports the reading, never the
reverse (an import-linter contract in pyproject.toml):

    checker   the criterion-level checker: ChoiceSpec, ChoiceOption, ChoiceChecker
    reading   which option ids the answer states as its choice (read_ids, Rank, IdReading)
"""
