"""The one route every external system posts its webhooks to.

It stores first and answers fast: resolve the backend, bound and authenticate
the body, store the inbox message (its processing is a queue_job job) and answer.
It never runs business logic and never returns record data.
"""

import json
import logging

import psycopg2
from werkzeug.exceptions import RequestEntityTooLarge, ServiceUnavailable

from odoo import SUPERUSER_ID, http
from odoo.http import Response, request

from ..db_outage import ConnectionLossFilter, OutageLog, is_connection_loss
from ..exceptions import SignatureError
from ..intake_rules import (
    WEBHOOK_ROUTING_TYPE,
    IntakeRefused,
    parse_json_body,
    storable,
)
from ..models.integration_backend import HARD_MAX_BODY_BYTES
from ..models.integration_inbox_message import RETRIED_ON_CONFLICT

_logger = logging.getLogger(__name__)

RETRY_AFTER_UNAVAILABLE = "30"
JSON_MIMETYPES = ("application/json",)
WEBHOOK_PATH = "/integration/webhook/"

OUTAGE = OutageLog(_logger)


class IntakeUnavailable(ServiceUnavailable):
    """The database went away during the request: the sender retries later."""

    def get_headers(self, environ=None, scope=None):
        return [
            ("Content-Type", "application/json"),
            ("Retry-After", RETRY_AFTER_UNAVAILABLE),
        ]

    def get_body(self, environ=None, scope=None):
        return '{"status": "unavailable"}'


def _in_webhook_request():
    try:
        return request.httprequest.path.startswith(WEBHOOK_PATH)
    except (RuntimeError, AttributeError):  # no request in this thread
        return False


def _install_log_filter():
    http_logger = logging.getLogger("odoo.http")
    if not any(isinstance(f, ConnectionLossFilter) for f in http_logger.filters):
        http_logger.addFilter(ConnectionLossFilter(OUTAGE, _in_webhook_request))


_install_log_filter()


class IntakeDispatcher(http.HttpDispatcher):
    """The webhook route's dispatcher: a connection loss at any point of the
    request (registry check, cursor, the route, the commit) answers 503 with
    ``Retry-After``, logged once per outage instead of a traceback each; the
    first answer sent after it logs the recovery."""

    routing_type = WEBHOOK_ROUTING_TYPE

    def handle_error(self, exc):
        if is_connection_loss(exc):
            OUTAGE.lost(exc)
            # Odoo logs the error at this level, without its traceback
            exc.loglevel = logging.DEBUG
            return IntakeUnavailable()
        return super().handle_error(exc)

    def post_dispatch(self, response):
        result = super().post_dispatch(response)
        if OUTAGE.down and self.request.db and response.status_code != 503:
            # the response is closed once sent, after the request's commit
            response.call_on_close(OUTAGE.back)
        return result


def json_response(data, status_code=200, headers=None):
    """The JSON answer of the intake, built without a request (the WSGI intake
    has none), with the headers Odoo's ``make_json_response`` and its
    dispatcher give."""
    body = json.dumps(data, ensure_ascii=False).encode()
    response = Response(body, status=status_code, headers=headers)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Length"] = str(len(body))
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _reply(status_code, status, headers=None, **extra):
    return json_response(dict(extra, status=status), status_code, headers)


def unavailable_response():
    """503 with ``Retry-After``: the database cannot be reached."""
    return _reply(
        503, "unavailable", headers=[("Retry-After", RETRY_AFTER_UNAVAILABLE)]
    )


def _malformed(backend, reason):
    """400 with ``reason``, and one warning line (never the payload)."""
    _logger.warning(
        "webhook refused for integration.backend %s: %s", backend.id, reason
    )
    return _reply(400, "malformed", reason=reason)


def _plain_body(raw_body):
    """True when the JSON parsed from ``raw_body`` is storable without
    serialising it again to check (:func:`storable`): UTF-8 without NUL bytes,
    ``\\u`` escapes (``\\u0000``, lone surrogates) or the lead byte of an
    encoded surrogate (0xED, which the JSON decoder lets through); the parser
    already refused non-finite numbers."""
    return (
        b"\\u" not in raw_body and b"\x00" not in raw_body and b"\xed" not in raw_body
    )


def _is_json(mimetype):
    return mimetype in JSON_MIMETYPES or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def body_limit(env, httprequest):
    """The bound of the input stream. A body sent without Content-Length
    (chunked) is read up to its backend's limit only; a body announcing its
    length is checked by the intake itself, to answer 413 like the other
    refusals."""
    if httprequest.content_length is not None or env is None:
        # env is None when Odoo serves without a database: the route answers 503
        return HARD_MAX_BODY_BYTES
    token = httprequest.path.rstrip("/").rsplit("/", 1)[-1]
    try:
        backend = env["integration.backend"].sudo()._get_intake_backend(token)
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        return HARD_MAX_BODY_BYTES  # the intake meets the same error and answers 503
    # one byte more: werkzeug stops a bounded stream at its bound without an
    # error, so reading past the limit is how the intake sees a body is too large
    return backend._webhook_body_limit() + 1 if backend else HARD_MAX_BODY_BYTES


def _stream_limit(controller):
    """The route's ``max_content_length`` (see :func:`body_limit`)."""
    return body_limit(request.env, request.httprequest)


class IntegrationWebhookController(http.Controller):
    @http.route(
        "/integration/webhook/<string:token>",
        type=IntakeDispatcher.routing_type,
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
            return unavailable_response()
        # connection losses raised from here on are answered by IntakeDispatcher
        return WebhookIntake(request.env, request.httprequest).answer(token)


class WebhookIntake:
    """The intake of one delivery, whichever way its request came in (this
    route, or the WSGI intake of :mod:`..wsgi_intake`, which serves the same
    path without Odoo's request machinery): resolve the backend, bound and
    authenticate the body, store the inbox message and its job, answer.

    Runs inside the caller's transaction, which retries it on serialization
    conflicts and commits it."""

    def __init__(self, env, httprequest):
        self.env = env(
            user=SUPERUSER_ID,
            # the caller retries the transaction on serialization failures
            context={"tracking_disable": True, RETRIED_ON_CONFLICT: True},
        )
        self.httprequest = httprequest

    def answer(self, token):
        """The response to the delivery posted to ``token``'s backend."""
        backend = self.env["integration.backend"]._get_intake_backend(token)
        if not backend:
            return _reply(404, "not_found")

        retry_after = backend._intake_rate_limited()
        if retry_after:
            return _reply(
                429, "rate_limited", headers=[("Retry-After", str(retry_after))]
            )

        httprequest = self.httprequest
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
                "webhook refused for integration.backend %s: %s%s",
                backend.id,
                err.reason,
                # the usual cause on a new backend, said where it is looked for
                "; no webhook secret is set on this backend: write one on its "
                "form, Webhook Security tab"
                if backend._webhook_secret_required()
                and not backend._get_webhook_secrets()
                else "",
            )
            return _reply(401, "unauthorized")

        try:
            payload = parse_json_body(raw_body)
            if not _plain_body(raw_body) and not storable(payload):
                raise IntakeRefused("unsupported characters")
            return self._store(backend, payload, headers)
        except IntakeRefused as err:
            return _malformed(backend, err.reason)

    def _store(self, backend, payload, headers):
        """Store the delivery (its payload is storable); raises IntakeRefused
        when it breaks an input rule."""
        try:
            values = {
                "idempotency_key": backend._get_idempotency_key(payload, headers),
                "topic": backend._get_topic(payload, headers),
                "external_ref": backend._get_external_ref(payload, headers),
                "sequence_key": backend._get_sequence_key(payload, headers),
                "event_at": backend._get_event_at(payload, headers),
                "correlation_id": backend._get_correlation_id(payload, headers),
            }
        except IntakeRefused:
            raise
        except (
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            IndexError,
            OverflowError,
        ) as err:
            raise IntakeRefused(
                f"event fields not found ({type(err).__name__})"
            ) from err
        if not values["topic"]:
            raise IntakeRefused("no event type")
        backend._check_payload(values["topic"], payload)
        # WSGI header values are latin-1 text: a NUL is all they can hold that
        # PostgreSQL cannot
        stored_headers = {
            name: value for name, value in headers.items() if "\x00" not in value
        }
        if not storable([v for v in values.values() if isinstance(v, str)]):
            raise IntakeRefused("unsupported characters")
        message, created = backend._inbox_receive(
            payload=payload, headers=stored_headers, **values
        )
        if created:
            return _reply(200, "accepted", id=message.id)
        return _reply(200, "duplicate", id=message.id)
