"""STACK-style answer tests on our own math language. `table` holds them all, one name per
test; each module below it holds one family. Each module imports only the modules listed
below it (an import-linter contract in pyproject.toml):

    table         ANSWER_TESTS (name -> test), answer_test(), known_tests()
    algebra | calculus | extract | form | numeric     the families of tests
    equivalence | verdict     equivalence of trees | what a test takes and gives
"""
