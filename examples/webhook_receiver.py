"""A minimal LMS-side receiver for the grader's webhooks.

    pip install flask standardwebhooks
    WEBHOOK_SECRET=whsec_... flask --app examples/webhook_receiver.py run --port 9000

Register http://<this host>:9000/webhooks with the grader. Every message is verified
(signature, and a timestamp within 5 minutes) before it is used; `webhook-id` is the same
for every retry of one message, so it is the key that makes processing happen once.
"""

from __future__ import annotations

import os

from flask import Flask, Response, request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def create_app(secret: str | None = None) -> Flask:
    app = Flask(__name__)
    verifier = Webhook(secret or os.environ["WEBHOOK_SECRET"])
    seen: set[str] = set()  # use your database in production: a unique column on the id
    app.config["RECEIVED"] = received = []

    @app.post("/webhooks")
    def webhooks() -> Response | tuple[str, int]:
        try:
            event = verifier.verify(request.get_data(), dict(request.headers))
        except WebhookVerificationError:
            return "invalid signature", 400
        msg_id = request.headers["webhook-id"]
        if msg_id not in seen:  # a retry of a message already handled: acknowledge, skip
            seen.add(msg_id)
            received.append(event)  # e.g. write event["data"]["score"] to the gradebook
        return Response(status=204)

    return app


if __name__ == "__main__":
    create_app().run(port=9000)
