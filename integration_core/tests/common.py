"""Test kit of integration_core, for its own tests and for connectors' tests.

Import it as ``odoo.addons.integration_core.tests.common``. Everything a
connector's tests need besides its own payloads:

* factories, plain functions of ``env`` (call them in ``setUpClass``):
  :func:`make_retry_policy`, :func:`make_backend`, :func:`make_product`,
  :func:`make_tax`;
* deliveries stored as the route stores them, from any case: :func:`receive`;
* webhooks through the real route, from an ``HttpCase``: :func:`post_webhook`
  posts the exact bytes a sender signed; :func:`standard_webhook_headers` and
  :func:`new_whsec` sign them for the generic type (Standard Webhooks);
* jobs run in the test, as the job runner would: :func:`process`,
  :func:`run_message_jobs`, and queue_job's ``trap_jobs``;
* a provider on 127.0.0.1 for outbound calls: :class:`LocalServerMixin`, with
  ``LocalHttpServer`` and ``Reply`` of ``http_server.py``;
* :class:`IntegrationCase`: a generic backend and handlers patched per test;
* :func:`recorded_statements` and :func:`statements_like`: the SQL a code path
  runs, to count its writes.
"""

import base64
import contextlib
import importlib
import importlib.util
import json
import os
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from unittest.mock import patch
from urllib.parse import urlsplit

from odoo import Command, fields
from odoo.sql_db import Cursor
from odoo.tests import TransactionCase
from odoo.tests.common import _super_send
from odoo.tools import SQL

from odoo.addons.queue_job.tests.common import trap_jobs  # noqa: F401  (re-exported)

from ..signatures import sign_standard_webhook
from .http_server import LocalHttpServer, Reply  # noqa: F401  (re-exported)

LOOPBACK = "127.0.0.1"


# -- factories -----------------------------------------------------------------------
def make_retry_policy(env, **values):
    """A retry policy of 3 attempts, 30 s doubling up to 600 s, no jitter.

    :param values: ``integration.retry.policy`` values replacing these
    :returns: the ``integration.retry.policy``
    """
    defaults = {
        "name": "Test policy",
        "max_attempts": 3,
        "initial_delay": 30,
        "backoff_factor": 2.0,
        "max_delay": 600,
        # no jitter: a test can assert the exact next attempt
        "jitter": 0.0,
    }
    return env["integration.retry.policy"].create(dict(defaults, **values))


def make_backend(env, backend_type="generic", **values):
    """A backend of ``backend_type`` with a retry policy of its own.

    :param values: ``integration.backend`` values, secrets included
        (``webhook_secret="..."``); without ``retry_policy_id``, one made by
        :func:`make_retry_policy`
    :returns: the ``integration.backend``
    """
    values.setdefault("name", f"Test {backend_type} backend")
    if "retry_policy_id" not in values:
        values["retry_policy_id"] = make_retry_policy(env).id
    return env["integration.backend"].create(dict(values, backend_type=backend_type))


def make_product(env, sku, price, **values):
    """A storable product whose internal reference is ``sku``, without
    customer taxes (an imported line gets the taxes of its channel).

    :param price: the sales price
    :param values: ``product.product`` values replacing these
    :returns: the ``product.product``
    """
    defaults = {
        "name": sku,
        "default_code": sku,
        "list_price": price,
        "type": "consu",
        "is_storable": True,
        "taxes_id": [Command.clear()],
    }
    return env["product.product"].create(dict(defaults, **values))


def make_tax(env, rate, name=None, included=False, **values):
    """A sale tax of ``rate`` percent in the current company.

    :param included: the tax is included in the price
    :param values: ``account.tax`` values replacing these
    :returns: the ``account.tax``
    """
    defaults = {
        "name": name or f"Test tax {rate:g}%{' incl.' if included else ''}",
        "amount": rate,
        "amount_type": "percent",
        "type_tax_use": "sale",
        # explicit: the company's default must not decide for the test
        "price_include_override": "tax_included" if included else "tax_excluded",
        "company_id": env.company.id,
    }
    return env["account.tax"].create(dict(defaults, **values))


# -- webhooks --------------------------------------------------------------------------
def canonical_order(env, external_id, sku, quantity, unit_price, **values):
    """A canonical order of one line of ``quantity`` x ``sku`` at ``unit_price``
    (a decimal string), totalled; ``values`` add or replace keys (give
    ``totals`` too when adding shipping lines)."""
    total = Decimal(unit_price) * quantity
    return {
        "external_id": external_id,
        "name": f"#{external_id}",
        "currency": env.company.currency_id.name,
        "created_at": "2026-03-14T09:00:00Z",
        "customer": {"name": "Jane", "email": f"{external_id}@example.com"},
        "lines": [
            {
                "external_id": "1",
                "sku": sku,
                "quantity": quantity,
                "unit_price": unit_price,
            }
        ],
        "totals": {"total": str(total)},
        **values,
    }


def new_whsec():
    """A random Standard Webhooks secret (``whsec_<base64 of 32 bytes>``)."""
    return "whsec_" + base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()


def standard_webhook_headers(secret, body, msg_id=None, timestamp=None, **extra):
    """Headers of a Standard Webhooks delivery of ``body`` (the generic type).

    :param body: the exact bytes to send
    :param msg_id: ``webhook-id`` (the idempotency key); a new one by default
    :param timestamp: Unix seconds; now by default
    :param extra: more headers, or replacements
    :returns: a dict of headers, ``Content-Type: application/json`` included
    """
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard_webhook(secret, msg_id, timestamp, body),
    }
    headers.update(extra)
    return headers


def webhook_path(backend):
    """Path of ``backend``'s webhook route."""
    return f"/integration/webhook/{backend.webhook_token}"


def receive(backend, payload, headers=None):
    """Store ``payload`` as the webhook route does once its signature is
    checked: topic, key, references, time and correlation id come from the
    backend's reading hooks. The job is not run (:func:`process` runs it).

    :param headers: the delivery's headers, lower-case names
    :returns: the ``integration.inbox.message`` (the first one for a duplicate)
    """
    headers = headers or {}
    message, _created = backend._inbox_receive(
        backend._get_topic(payload, headers),
        payload,
        backend._get_idempotency_key(payload, headers),
        external_ref=backend._get_external_ref(payload, headers),
        sequence_key=backend._get_sequence_key(payload, headers),
        event_at=backend._get_event_at(payload, headers),
        headers=headers,
        correlation_id=backend._get_correlation_id(payload, headers),
    )
    return message


def post_webhook(case, backend, body, headers=None, timeout=30):
    """POST a delivery to ``backend``'s webhook route on the server of ``case``.

    Any signature scheme: sign ``body`` as the sender does and pass the
    signature in ``headers``. The route runs in the test's transaction.

    :param case: the running ``HttpCase``
    :param body: the bytes to send as they are, or a value sent as JSON
    :param headers: the request's headers, sent as they are (the route wants
        ``Content-Type: application/json`` unless the type says otherwise)
    :returns: the ``requests.Response`` (``.json()["id"]`` is the message's id)
    """
    if not isinstance(body, bytes | str):
        body = json.dumps(body).encode()
    # the route reads the database, not the test's cache
    case.env.flush_all()
    # url_open turns an empty body into a GET: post explicitly
    response = case.opener.post(
        case.base_url() + webhook_path(backend),
        data=body,
        headers=headers or {},
        timeout=timeout,
    )
    case.env.invalidate_all()
    return response


# -- jobs ------------------------------------------------------------------------------
def process(message):
    """Run one attempt of ``message``'s job now, as the job runner would:
    ``_job_process`` for an inbox message, ``_job_send`` for an outbox one.

    :returns: the job's outcome: ``done``, ``sent``, ``failed``, ``dead``,
        ``waiting``, ``ignored``, ``conflict``, or why nothing was done
        (``nothing to do in state done``, ``superseded by message 12``)
    """
    message.ensure_one()
    return getattr(message, message._job_method)()


def pick_in_full(picking):
    """Reserve ``picking`` and mark each of its moves picked in full, as the
    warehouse does before ``button_validate()``."""
    picking.action_assign()
    for move in picking.move_ids:
        move.quantity = move.product_uom_qty
        move.picked = True
    return picking


def deliver_events(record):
    """Run the pending deliveries of the events published about ``record``
    (what the job runner does after commit); returns their outcomes."""
    deliveries = (
        record.env["integration.event.delivery"]
        .sudo()
        .search(
            [
                ("event_id.res_model", "=", record._name),
                ("event_id.res_id", "in", record.ids),
                ("state", "in", ("pending", "failed")),
            ],
            order="id",
        )
    )
    return [process(delivery) for delivery in deliveries]


def run_message_jobs(messages):
    """One attempt of each message's job, in order (see :func:`process`).

    :param messages: a recordset of messages, or a list of recordsets
        (inbox and outbox messages together)
    :returns: the list of outcomes, one per message
    """
    # iterating a record yields the record itself
    return [process(message) for records in messages for message in records]


# -- outbound --------------------------------------------------------------------------
@contextlib.contextmanager
def recorded_statements():
    """The SQL statements the block runs, as a list of strings filled while it
    runs: count what a code path costs (``INSERT``, ``UPDATE`` of a table)."""
    statements = []
    execute = Cursor.execute

    def recording(cr, query, params=None, log_exceptions=None):
        statements.append(query.code if isinstance(query, SQL) else str(query))
        return execute(cr, query, params, log_exceptions)

    with patch.object(Cursor, "execute", recording):
        yield statements


def statements_like(statements, prefix):
    """The statements of :func:`recorded_statements` starting with ``prefix``
    (case and spaces ignored), e.g. ``"UPDATE queue_job"``."""
    wanted = " ".join(prefix.lower().split())
    return [s for s in statements if " ".join(s.lower().split()).startswith(wanted)]


def load_migration(addon_module, version, name):
    """The migration script ``<addon>/migrations/<version>/<name>.py`` as a
    module, to call its ``migrate(cr, version)`` in a test; ``addon_module`` is
    any module of the addon (``__name__`` of the test)."""
    package = importlib.import_module(addon_module.rsplit(".tests", 1)[0])
    path = os.path.join(
        os.path.dirname(package.__file__), "migrations", version, f"{name}.py"
    )
    spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LocalServerMixin:
    """For cases calling a provider played by ``LocalHttpServer``; put it
    before the ``TransactionCase`` class in the bases.

    Calls to 127.0.0.1 leave with the backend's own timeouts: Odoo's test guard
    raises them to 10 s and rejects the ``(connect, read)`` tuple of the core
    HTTP layer. Other hosts stay blocked.
    """

    @classmethod
    def _request_handler(cls, session, request, **kwargs):
        if urlsplit(request.url).hostname == LOOPBACK:
            return _super_send(session, request, **kwargs)
        return super()._request_handler(session, request, **kwargs)

    def start_server(self, **kwargs):
        """A started ``LocalHttpServer(**kwargs)``, stopped after the test;
        point the backend's ``api_base_url`` at its ``url``."""
        server = LocalHttpServer(**kwargs).start()
        self.addCleanup(server.stop)
        return server


# -- core cases ------------------------------------------------------------------------
class IntegrationCase(TransactionCase):
    """A generic backend, a fast retry policy and handlers installed per test.

    ``self.handlers`` maps topics to callables ``handler(message)``; the patched
    ``_get_inbox_handler`` of every backend looks topics up there.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.policy = make_retry_policy(cls.env, jitter=0.1)
        cls.backend = make_backend(
            cls.env, name="Test backend", retry_policy_id=cls.policy.id
        )

    def setUp(self):
        super().setUp()
        self.handlers = {}
        handlers = self.handlers

        def _get_inbox_handler(backend, topic):
            return handlers.get(topic)

        self.patch(
            type(self.env["integration.backend"]),
            "_get_inbox_handler",
            _get_inbox_handler,
        )

    def receive(self, topic="test/create", payload=None, key=None, **kwargs):
        payload = payload if payload is not None else {"id": key or "1"}
        message, created = self.backend._inbox_receive(
            topic, payload, key or f"{topic}:{payload}", **kwargs
        )
        return message

    def ignore_with_wizard(self, messages, reason):
        """Mark ``messages`` ignored (inbox) or cancelled (outbox) as a user does."""
        wizard = (
            self.env["integration.message.ignore.wizard"]
            .with_context(active_model=messages._name, active_ids=messages.ids)
            .create({"reason": reason})
        )
        wizard.action_confirm()

    def ago(self, **delta):
        return fields.Datetime.now() - timedelta(**delta)

    def partner_handler(self, message):
        """An idempotent handler: one partner per external_ref."""
        partner = self.env["res.partner"].search([("ref", "=", message.external_ref)])
        if not partner:
            partner = self.env["res.partner"].create(
                {"name": message.payload.get("name", "x"), "ref": message.external_ref}
            )
        return partner
