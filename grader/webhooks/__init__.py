"""Outgoing webhooks: Standard Webhooks signing, SSRF-safe delivery, retry schedule, events.

Nothing here reads configuration or touches the database: the allow-list, resolver,
timeouts and schedule are parameters, passed in by the service layer.
"""
