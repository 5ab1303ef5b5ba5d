"""The API's OpenAPI registry (one per process; operations are declared at import)."""

from grader.api.openapi import ApiSpec

api_spec = ApiSpec(title="Exam grader", version="1")
