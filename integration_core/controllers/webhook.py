"""The one route every external system posts its webhooks to.

It stores first and answers fast: resolve the backend, bound and authenticate
the body, store the inbox message (its processing is a queue_job job) and answer.
It never runs business logic and never returns record data.
"""

import json
import logging

import psycopg2
from psycopg2 import errorcodes
from werkzeug.exceptions import RequestEntityTooLarge, ServiceUnavailable

from odoo import SUPERUSER_ID, http
from odoo.http import request

from ..exceptions import SignatureError
from ..models.integration_backend import HARD_MAX_BODY_BYTES
from ..models.integration_inbox_message import RETRIED_ON_CONFLICT

_logger = logging.getLogger(__name__)

RETRY_AFTER_UNAVAILABLE = "30"
JSON_MIMETYPES = ("application/json",)


class IntakeUnavailable(ServiceUnavailable):
    """The database went away during the request: the sender retries later."""

    def get_headers(self, environ=None, scope=None):
        return [
            ("Content-Type", "application/json"),
            ("Retry-After", RETRY_AFTER_UNAVAILABLE),
        ]

    def get_body(self, environ=None, scope=None):
        return '{"status": "unavailable"}'


def _reply(status_code, status, headers=None, **extra):
    return request.make_json_response(
        dict(extra, status=status), headers=headers, status=status_code
    )


def _is_connection_error(err):
    """True for errors meaning PostgreSQL cannot be reached (not lock conflicts)."""
    if isinstance(err, psycopg2.InterfaceError):
        return True
    code = getattr(err, "pgcode", None)
    return (
        code is None
        or code.startswith("08")
        or code
        in (
            errorcodes.ADMIN_SHUTDOWN,
            errorcodes.CRASH_SHUTDOWN,
            errorcodes.CANNOT_CONNECT_NOW,
        )
    )


def _is_json(mimetype):
    return mimetype in JSON_MIMETYPES or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def _storable(value):
    """PostgreSQL refuses NUL characters and lone surrogates in text and jsonb."""
    try:
        text = json.dumps(value, ensure_ascii=False)
        text.encode()
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
        return False
    return "\x00" not in text and "\\u0000" not in text


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def _stream_limit(controller):
    """The route's ``max_content_length``, which bounds the input stream. A body
    sent without Content-Length (chunked) is read up to its backend's limit only;
    a body announcing its length is checked by the route itself, to answer 413
    like the other refusals."""
    httprequest = request.httprequest
    if httprequest.content_length is not None or request.env is None:
        # request.env is None when Odoo serves without a database: the route
        # answers 503 then
        return HARD_MAX_BODY_BYTES
    token = httprequest.path.rstrip("/").rsplit("/", 1)[-1]
    try:
        backend = request.env["integration.backend"].sudo()._get_intake_backend(token)
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        return HARD_MAX_BODY_BYTES  # the route meets the same error and answers 503
    # one byte more: werkzeug stops a bounded stream at its bound without an
    # error, so reading past the limit is how the route sees a body is too large
    return backend._webhook_body_limit() + 1 if backend else HARD_MAX_BODY_BYTES


class IntegrationWebhookController(http.Controller):
    @http.route(
        "/integration/webhook/<string:token>",
        type="http",
        auth="none",
        csrf=False,
        methods=["POST"],
        save_session=False,
        readonly=False,
        max_content_length=_stream_limit,
    )
    def integration_webhook(self, token, **kwargs):
        if not request.db:
            # Odoo falls back to here without a database when PostgreSQL is down.
            return _reply(
                503, "unavailable", headers=[("Retry-After", RETRY_AFTER_UNAVAILABLE)]
            )
        try:
            return self._intake(token)
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as err:
            if not _is_connection_error(err):
                raise  # lock conflicts: Odoo retries the whole request
            _logger.warning(
                "webhook intake: database unavailable (%s)", type(err).__name__
            )
            raise IntakeUnavailable() from err

    def _intake(self, token):
        env = request.env(
            user=SUPERUSER_ID,
            # Odoo retries the request on serialization failures
            context={"tracking_disable": True, RETRIED_ON_CONFLICT: True},
        )
        backend = env["integration.backend"]._get_intake_backend(token)
        if not backend:
            return _reply(404, "not_found")

        retry_after = backend._intake_rate_limited()
        if retry_after:
            return _reply(
                429, "rate_limited", headers=[("Retry-After", str(retry_after))]
            )

        httprequest = request.httprequest
        limit = backend._webhook_body_limit()
        if (
            httprequest.content_length is not None
            and httprequest.content_length > limit
        ):
            return _reply(413, "too_large")

        if backend._webhook_requires_json() and not _is_json(httprequest.mimetype):
            return _reply(415, "unsupported_media_type")

        # The stream is bounded by Content-Length (checked above) or, for chunked
        # bodies, by this backend's limit (the route's max_content_length).
        try:
            raw_body = httprequest.get_data()
        except RequestEntityTooLarge:
            return _reply(413, "too_large")
        if len(raw_body) > limit:
            return _reply(413, "too_large")

        headers = {name.lower(): value for name, value in httprequest.headers.items()}
        try:
            backend._verify_signature(raw_body, headers)
        except SignatureError as err:
            _logger.warning(
                "webhook refused for integration.backend %s: %s", backend.id, err.reason
            )
            return _reply(401, "unauthorized")

        try:
            payload = json.loads(raw_body, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return _reply(400, "malformed", reason="body is not valid JSON")
        return self._store(backend, payload, headers)

    def _store(self, backend, payload, headers):
        try:
            values = {
                "idempotency_key": backend._get_idempotency_key(payload, headers),
                "topic": backend._get_topic(payload, headers),
                "external_ref": backend._get_external_ref(payload, headers),
                "sequence_key": backend._get_sequence_key(payload, headers),
                "event_at": backend._get_event_at(payload, headers),
                "correlation_id": backend._get_correlation_id(payload, headers),
            }
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as err:
            _logger.warning(
                "webhook for integration.backend %s not understood: %s",
                backend.id,
                type(err).__name__,
            )
            return _reply(400, "malformed", reason="event fields not found")
        if not values["topic"]:
            return _reply(400, "malformed", reason="no event type")
        stored_headers = {
            name: value for name, value in headers.items() if _storable(value)
        }
        if not _storable(payload) or not _storable(
            [v for v in values.values() if isinstance(v, str)]
        ):
            return _reply(400, "malformed", reason="unsupported characters")
        message, created = backend._inbox_receive(
            payload=payload, headers=stored_headers, **values
        )
        if created:
            return _reply(200, "accepted", id=message.id)
        return _reply(200, "duplicate", id=message.id)
