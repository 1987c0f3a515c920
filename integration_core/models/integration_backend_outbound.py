"""Outbound side of ``integration.backend``: HTTP settings, shared rate limit,
circuit breaker, and the delivery hooks connectors implement per backend type.

Kept apart from ``integration_backend.py`` (connection and intake hooks) so the
delivery code reads on its own. The HTTP mechanics are in ``http_client.py``,
the rate limit and circuit decisions in ``flow_control.py``.
"""

import contextlib
import json as json_module
import logging
import time
from datetime import UTC, datetime

from odoo import fields, models
from odoo.sql_db import TestCursor

from .. import http_client
from ..exceptions import (
    OutboundDeferred,
    PermanentError,
    PermanentHttpError,
    TransientHttpError,
)
from ..flow_control import CLOSED, HALF_OPEN, OPEN, FlowStore
from ..signatures import sign_standard_webhook
from .integration_event import EVENT_PING_TOPIC, EVENT_WEBHOOK_TOPIC, topic_matches

_logger = logging.getLogger(__name__)

# Statuses whose Retry-After holds every call of the backend, not only this one.
BACKEND_WIDE_RETRY_AFTER = (429, 503)


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"  # pylint: disable=consider-merging-classes-inherited

    api_base_url = fields.Char(
        string="API Base URL", help="Relative request paths are resolved against it."
    )
    event_topics = fields.Text(
        string="Events Sent",
        help="Business events this (generic) backend receives at its API Base URL, "
        "one topic per line (order.imported); a line ending with '.' takes every "
        "topic it starts (order.), '*' takes all. Each is POSTed once, signed as "
        "Standard Webhooks with the backend's webhook secret.",
    )
    connect_timeout = fields.Float(
        default=5.0, required=True, help="Seconds to wait for a connection."
    )
    read_timeout = fields.Float(
        default=30.0, required=True, help="Seconds to wait for a response."
    )
    rate_limit_per_second = fields.Float(
        help="Calls per second allowed to the provider, all workers together "
        "(0 = no limit)."
    )
    rate_limit_burst = fields.Integer(
        default=1,
        help="Calls that may go out at once after a quiet period. In any second "
        "the provider sees at most rate + burst - 1 calls.",
    )
    coalesce_delay = fields.Integer(
        help="Seconds a message with a coalesce key waits before it is sent, so a "
        "burst of updates for one key (a SKU's stock level) ends in one call with "
        "the latest value. Later updates keep the first one's send time, so no "
        "update waits longer than this, unless the key keeps changing and Coalesce "
        "Delay Ceiling is set (0 = send at once).",
    )
    coalesce_max_delay = fields.Integer(
        string="Coalesce Delay Ceiling",
        help="Seconds a key that keeps changing may wait at most: each burst of it "
        "that starts within one wait after its last send waits twice as long as "
        "that one, up to this; a key quiet for longer starts again at the coalesce "
        "delay. Fewer calls for hot keys, at the cost of their freshness (0 or "
        "less than the coalesce delay = always the coalesce delay).",
    )
    circuit_failure_threshold = fields.Integer(
        default=5,
        required=True,
        help="Consecutive failed calls (network errors, timeouts, 5xx) that open "
        "the circuit (0 = never).",
    )
    circuit_cooldown = fields.Integer(
        default=60,
        required=True,
        help="Seconds the circuit stays open before one trial call.",
    )
    circuit_state = fields.Selection(
        [(CLOSED, "Closed"), (OPEN, "Open"), (HALF_OPEN, "Half-open")],
        compute="_compute_circuit",
    )
    circuit_failure_count = fields.Integer(
        compute="_compute_circuit", string="Consecutive Failures"
    )
    circuit_open_until = fields.Datetime(compute="_compute_circuit")
    circuit_last_failure = fields.Text(compute="_compute_circuit")

    def init(self):
        res = super().init()
        FlowStore(self.env.cr).ensure_table()
        return res

    @contextlib.contextmanager
    def _flow_store(self):
        """The shared flow state, in a short transaction committed on exit."""
        with self.env.registry.cursor() as cr:
            store = FlowStore(cr)
            if not isinstance(cr, TestCursor):
                # a test cursor is a savepoint in the test's transaction
                store.read_committed()
            yield store

    def _compute_circuit(self):
        ids = [backend.id for backend in self if isinstance(backend.id, int)]
        states = {}
        if ids:
            with self._flow_store() as store:
                states = store.circuit_states(ids)
        for backend in self:
            state = states.get(backend.id, {})
            opened_until = state.get("opened_until")
            backend.circuit_state = state.get("circuit_state") or CLOSED
            backend.circuit_failure_count = state.get("failure_count") or 0
            backend.circuit_open_until = (
                datetime.fromtimestamp(opened_until, UTC).replace(tzinfo=None)
                if opened_until and backend.circuit_state == OPEN
                else False
            )
            backend.circuit_last_failure = state.get("last_failure") or False

    def action_reset_circuit(self):
        """Close the circuit now: calls resume without waiting for the cool-down."""
        with self._flow_store() as store:
            store.reset_circuit(self.ids)
        self.invalidate_recordset(
            ["circuit_state", "circuit_failure_count", "circuit_open_until"]
        )
        for backend in self:
            backend.message_post(body=self.env._("Circuit breaker reset."))
        return True

    # -- HTTP ----------------------------------------------------------------------
    def _get_http_timeout(self):
        self.ensure_one()
        return (self.connect_timeout or 5.0, self.read_timeout or 30.0)

    def _get_outbound_max_wait(self):
        """Seconds a call may sleep for its rate-limit slot; beyond, it is postponed."""
        return 10.0

    def _http_request(
        self, method, path_or_url, json=None, params=None, headers=None, data=None
    ):
        """Call the provider through the backend's rate limit and circuit breaker;
        ``data`` is a raw body sent as it is (signed bytes), instead of ``json``.

        :returns: an ``http_client.Response`` (2xx only)
        :raises OutboundDeferred: the circuit is open or the wait is too long;
            nothing was sent
        :raises TransientHttpError: network error, timeout, 408/425/429/5xx
        :raises PermanentHttpError: other 4xx
        """
        self.ensure_one()
        url = http_client.build_url(self.api_base_url, path_or_url)
        timeout = self._get_http_timeout()
        with self._flow_store() as store:
            admission = store.admit(
                self.id,
                self.rate_limit_per_second,
                self.rate_limit_burst,
                self._get_outbound_max_wait(),
                probe_timeout=sum(timeout) + 5.0,
            )
        if not admission.allowed:
            raise OutboundDeferred(
                self.env._(
                    "%(reason)s on %(backend)s: waiting %(seconds).1f s",
                    reason=admission.reason,
                    backend=self.name,
                    seconds=admission.retry_in,
                ),
                seconds=admission.retry_in,
            )
        if admission.wait:
            time.sleep(admission.wait)
        session = http_client.get_session((self.env.cr.dbname, self.id))
        try:
            response = http_client.send(
                session,
                method,
                url,
                timeout,
                json=json,
                params=params,
                headers=headers,
                data=data,
            )
        except TransientHttpError as err:
            self._flow_after_call(admission, err.response, not err.throttled, str(err))
            raise
        except PermanentHttpError as err:
            self._flow_after_call(admission, err.response, False)
            raise
        self._flow_after_call(admission, response, False)
        return response

    def _flow_after_call(self, admission, response, failed, error=None):
        """Feed one call's outcome to the circuit and the provider throttle."""
        hold = 0.0
        if response is not None:
            hold = self._outbox_throttle_delay(response) or 0.0
            if response.status in BACKEND_WIDE_RETRY_AFTER:
                hold = max(
                    hold,
                    http_client.parse_retry_after(response.headers.get("Retry-After"))
                    or 0.0,
                )
        if not (failed or hold or admission.probe or not admission.clean):
            return
        with self._flow_store() as store:
            if hold:
                store.throttle(self.id, hold)
            if failed or admission.probe or not admission.clean:
                state = store.record(
                    self.id,
                    not failed,
                    self.circuit_failure_threshold,
                    self.circuit_cooldown,
                    error=error,
                )
                if state == OPEN and (failed and (admission.clean or admission.probe)):
                    _logger.warning("circuit of backend %s open: %s", self.id, error)

    # -- delivery ------------------------------------------------------------------
    def _outbox_send(self, message):
        """Deliver one outbound message: prepare, call, hand the response back.

        :returns: the ``http_client.Response`` of the delivery call
        """
        self.ensure_one()
        request = self._outbox_prepare_request(message)
        headers = dict(request.get("headers") or {})
        if self._outbox_supports_idempotency_key():
            headers.setdefault("Idempotency-Key", message.idempotency_key)
        response = self._http_request(
            request.get("method", "POST"),
            request.get("url") or request["path"],
            json=request.get("json"),
            params=request.get("params"),
            headers=headers,
            data=request.get("data"),
        )
        try:
            self._outbox_handle_response(message, response)
        except Exception as err:
            # The provider took the call: sending again could create it twice.
            raise PermanentHttpError(
                self.env._(
                    "delivered (HTTP %(status)s) but handling the response failed: "
                    "%(error)s",
                    status=response.status,
                    error=err,
                ),
                response=response,
            ) from err
        return response

    def _get_outbox_preparer(self, topic):
        """Return the callable building the call of outbound messages of
        ``topic``, or None (the default call). Same idiom as inbound handlers:
        the default looks ``topic`` up in :meth:`_get_outbox_preparer_methods`.
        """
        self.ensure_one()
        method_name = self._get_outbox_preparer_methods().get(topic)
        return getattr(self, method_name) if method_name else None

    def _get_outbox_preparer_methods(self):
        """Map each outbound topic of this backend's type to a backend method
        name taking the message and returning the call (see
        :meth:`_outbox_prepare_request`). Connectors extend ``super()``'s dict.
        """
        if self.backend_type == "generic":
            return {EVENT_WEBHOOK_TOPIC: "_prepare_event_webhook"}
        return {}

    # -- business events out (Standard Webhooks) -------------------------------------
    def _event_topics(self):
        return [line.strip() for line in (self.event_topics or "").splitlines() if line]

    def _event_webhook_wants(self, event):
        """Whether ``event`` is one of the topics this backend receives."""
        return event.topic != EVENT_PING_TOPIC and any(
            topic_matches(event.topic, line) for line in self._event_topics()
        )

    def _event_ping_wants(self, event):
        """Pings are answered for backends listing ``integration.ping``."""
        return EVENT_PING_TOPIC in self._event_topics()

    def _event_ping(self, delivery):
        """The ``integration.ping`` subscriber: changes nothing."""
        return None

    def _event_webhook_send(self, delivery):
        """The ``webhook.events`` subscriber: the event goes out through the
        outbox (retries, rate limit, circuit breaker), once per delivery, in
        order per source record."""
        event = delivery.event_id
        return self._outbox_enqueue(
            EVENT_WEBHOOK_TOPIC,
            {
                "type": event.topic,
                "timestamp": event.published_at.replace(tzinfo=UTC).isoformat(),
                "data": event.sudo().payload,
            },
            idempotency_key=delivery.idempotency_key,
            sequence_key=f"event:{event.res_model}:{event.res_id}"
            if event.res_id
            else None,
        )

    def _prepare_event_webhook(self, message):
        """POST the event to the API Base URL, signed as Standard Webhooks: the
        delivery's key as ``webhook-id`` (the receiver deduplicates on it)."""
        secrets = self._get_webhook_secrets()
        if not secrets:
            raise PermanentError(f"backend {self.name} has no webhook secret to sign")
        body = json_module.dumps(message.payload, separators=(",", ":")).encode()
        timestamp = int(time.time())
        return {
            "method": "POST",
            "url": self.api_base_url,
            "data": body,
            "headers": {
                "Content-Type": "application/json",
                "webhook-id": message.idempotency_key,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign_standard_webhook(
                    secrets[0], message.idempotency_key, timestamp, body
                ),
            },
        }

    def _outbox_prepare_request(self, message):
        """The call delivering ``message``: a dict with ``method``, ``path`` (relative
        to ``api_base_url``) or ``url``, and optional ``json`` (or ``data``, raw
        bytes), ``params``, ``headers``.

        The topic's preparer builds it (it may make preliminary calls with
        :meth:`_http_request`); without one, the payload is POSTed to
        ``<api_base_url>/<topic>``.
        """
        preparer = self._get_outbox_preparer(message.topic)
        if preparer is not None:
            return preparer(message)
        return {"method": "POST", "path": message.topic, "json": message.payload}

    def _outbox_handle_response(self, message, response):
        """Use a successful response (store external ids...); the default does nothing."""
        return None

    def _outbox_adopt_delivered(self, message, found):
        """Use what the provider already held when a preparer raised
        :class:`~..exceptions.AlreadyDelivered` (store its external ids, as
        :meth:`_outbox_handle_response` does); the default does nothing."""
        return None

    def _outbox_supports_idempotency_key(self):
        """Whether the provider deduplicates on an ``Idempotency-Key`` header."""
        return self.backend_type == "generic"

    def _outbox_throttle_delay(self, response):
        """Seconds every call of this backend must wait, read from the provider's
        throttle headers of ``response`` (None: no hold)."""
        return None
