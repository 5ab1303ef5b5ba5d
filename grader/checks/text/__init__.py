"""The `text` checker kind: an explanation scored by meaning.

- `checker`: the `text` checker (spec, guards, confidence, feedback).
- `scoring`: the alignment features and the small fitted models that turn them into credit.
- `learned`: the optional learned pair scorer's reading of a criterion.
- `representation`: an answer or exemplar as sentences, vectors, stems and negation.
- `latex`: LaTeX inside prose read as the signs it stands for.
- `words`: words, a light stemmer, stop words, negation and bare term lists.

Each module imports only the ones listed below it (an import-linter contract).
"""
