"""Commands that fit the learned parts of the grader from ../shared/eval/ data."""
