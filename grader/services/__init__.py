"""Use cases (submit, grade, ingest a batch, override, regrade, export): the layer that
handlers and tasks call; a regular package so import contracts see it."""
