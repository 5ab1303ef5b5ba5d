"""Outgoing webhooks on the wire: what a message says, how it is signed, where it may go and
one attempt to send it. No database, no configuration: the allow-list, resolver, timeouts and
schedule are parameters, passed in by the services.

    http_attempt   one attempt: a pinned, bounded HTTP POST (deliver, DeliveryOutcome)
    events         the event payloads ({type, timestamp, data}) and their encoding
    signing        Standard Webhooks signatures, secrets and verification
    ssrf           which URLs may be sent to (checked at registration and before each send)
    retries        when to try again (RetrySchedule, Retry-After)

The bookkeeping is in `grader.services`: `webhook_outbox` writes messages with the grade,
`webhook_delivery` claims, sends and logs them, `webhook_endpoints` manages endpoints,
`webhook_options` holds what they depend on.
"""
