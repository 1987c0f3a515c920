"""The input rules of readme/DEVELOP.md at the route: each class of extreme
input gets 400 naming what is wrong, or 200 with the value kept safely; never
5xx. Connection losses anywhere in a request get 503, logged once."""

import logging
import threading
import time
import unittest
from unittest.mock import patch

import psycopg2

from odoo import sql_db
from odoo.modules.registry import Registry
from odoo.tests import tagged

from odoo.addons.integration_core.controllers.webhook import OUTAGE
from odoo.addons.integration_core.intake_rules import (
    MAX_IDENTIFIER_LENGTH,
    IntakeRefused,
    check_identifiers,
    parse_event_time,
    parse_json_body,
)

from .common_webhook import OdooRouteMixin, WebhookCase

WEBHOOK_LOGGER = "odoo.addons.integration_core.controllers.webhook"
LONG = "k" * 3000
EDGE_TIMES = ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00")


class TestInputRules(unittest.TestCase):
    def test_numbers_beyond_float_range_refused(self):
        for text in ('{"a": 1e400}', '{"a": [-1e400]}', '{"a": NaN}', "Infinity"):
            with self.assertRaises(IntakeRefused, msg=text):
                parse_json_body(text)
        self.assertEqual(parse_json_body('{"a": 1e300}'), {"a": 1e300})

    def test_times_out_of_range_are_no_event_time(self):
        for text in EDGE_TIMES:
            self.assertIsNone(parse_event_time(text))
        self.assertEqual(
            str(parse_event_time("9999-12-31T23:59:59+14:00")), "9999-12-31 09:59:59"
        )

    def test_long_identifiers_refused_naming_the_field(self):
        check_identifiers({"idempotency_key": "k" * MAX_IDENTIFIER_LENGTH})
        with self.assertRaisesRegex(IntakeRefused, "external_ref is longer"):
            check_identifiers({"idempotency_key": "k", "external_ref": LONG})


@tagged("post_install", "-at_install")
class TestWebhookInputRules(WebhookCase):
    def assertRefused(self, send, reason):
        with self.assertLogs(WEBHOOK_LOGGER, "WARNING") as logs:
            response = send()
        self.assertEqual(response.status_code, 400, response.text)
        self.assertIn(reason, response.json()["reason"])
        self.assertFalse(self.messages())
        self.assertEqual(len(logs.output), 1, "one warning line per refusal")
        self.assertIn(reason, logs.output[0])

    def test_event_times_out_of_range_stored_without_event_time(self):
        for moment in EDGE_TIMES:
            event = dict(self.event(), timestamp=moment)
            response = self.post_signed(event, msg_id=f"msg_{moment}")
            self.assertEqual(response.status_code, 200, response.text)
            message = self.messages().browse(response.json()["id"])
            # the header's time instead; the raw value is kept in the payload
            self.assertTrue(message.event_at)
            self.assertEqual(message.payload["timestamp"], moment)

    def test_numbers_beyond_float_range_refused(self):
        for number in ("1e400", "-1e400"):
            body = b'{"type": "item.created", "data": {"id": "1", "total": %s}}' % (
                number.encode()
            )
            self.assertRefused(
                lambda body=body: self.post(body, self.signed_headers(body)),
                "number out of range",
            )

    def test_long_idempotency_key_refused(self):
        self.assertRefused(
            lambda: self.post_signed(self.event(), msg_id=LONG),
            "idempotency_key is longer",
        )

    def test_long_external_id_refused(self):
        self.assertRefused(
            lambda: self.post_signed(self.event(obj_id=LONG)), "external_ref is longer"
        )

    def test_long_event_type_refused(self):
        self.assertRefused(
            lambda: self.post_signed(self.event(event_type=LONG)), "topic is longer"
        )


@tagged("post_install", "-at_install")
class TestConnectionLoss(WebhookCase):
    """PostgreSQL lost at any point of a request: 503, one log line."""

    def setUp(self):
        super().setUp()
        OUTAGE.back()

    def assertUnavailable(self, response):
        self.assertEqual(response.status_code, 503, response.text)
        self.assertEqual(response.headers.get("Retry-After"), "30")
        self.assertEqual(response.json(), {"status": "unavailable"})

    def test_connection_lost_at_commit_answers_503(self):
        def lost(cursor):
            raise psycopg2.OperationalError("server closed the connection unexpectedly")

        with patch.object(sql_db.TestCursor, "commit", lost):
            self.assertUnavailable(self.post_signed(self.event()))

    # the cursor of a request that serves the delivery: the WSGI intake's one
    SERVING_CURSOR = 1

    def test_connection_refused_opening_the_request_cursor_answers_503(self):
        original = Registry.cursor
        test_thread = threading.current_thread()
        calls = {"count": 0}

        def cursor(registry, *args, **kwargs):
            if threading.current_thread() is not test_thread:
                calls["count"] += 1
                if calls["count"] == self.SERVING_CURSOR:
                    raise psycopg2.OperationalError("Connection refused")
            return original(registry, *args, **kwargs)

        with patch.object(Registry, "cursor", cursor):
            self.assertUnavailable(self.post_signed(self.event()))

    def test_outage_logged_once_then_recovery_once(self):
        def lost(cursor):
            raise psycopg2.OperationalError("server closed the connection unexpectedly")

        with (
            self.assertLogs("odoo", logging.DEBUG) as logs,
            patch.object(sql_db.TestCursor, "commit", lost),
        ):
            for _ in range(5):
                self.assertUnavailable(self.post_signed(self.event()))
        lines = [
            record.getMessage()
            for record in logs.records
            if record.levelno >= logging.WARNING
        ]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("database unreachable (OperationalError)", lines[0])
        self.assertFalse([r for r in logs.records if r.exc_info], "no traceback")
        with self.assertLogs(WEBHOOK_LOGGER, "WARNING") as logs:
            self.assertEqual(self.post_signed(self.event()).status_code, 200)
            # logged once the answer is sent, by the server's thread
            deadline = time.monotonic() + 5
            while OUTAGE.down and time.monotonic() < deadline:
                time.sleep(0.01)
        self.assertEqual(len(logs.output), 1)
        self.assertIn("database reachable again", logs.output[0])


@tagged("post_install", "-at_install")
class TestConnectionLossOdooRoute(OdooRouteMixin, TestConnectionLoss):
    """The same, through Odoo's route."""

    # the first one checks the registry; the second serves the route
    SERVING_CURSOR = 2
