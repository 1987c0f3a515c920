import json
import socket
import threading
import time
from datetime import timedelta
from unittest.mock import patch

import psycopg2
import requests

from odoo import fields
from odoo.modules.registry import Registry
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.base.models.ir_http import IrHttp as BaseIrHttp
from odoo.addons.integration_core import wsgi_intake
from odoo.addons.integration_core.models.integration_backend import (
    DEFAULT_MAX_BODY_BYTES,
)

from .common_webhook import OdooRouteMixin, WebhookCase, new_whsec

WEBHOOK_LOGGER = "odoo.addons.integration_core.controllers.webhook"


def padded_body(size):
    """A JSON event of exactly ``size`` bytes."""
    skeleton = json.dumps({"type": "bulk.import", "data": {"id": "1"}, "pad": ""})
    body = skeleton[:-2] + "x" * (size - len(skeleton)) + '"}'
    assert len(body) == size
    return body.encode()


@tagged("post_install", "-at_install")
class TestWebhookRoute(WebhookCase):
    def test_good_signature_accepted(self):
        response = self.post_signed(self.event(), msg_id="msg_good")
        self.assertEqual(response.status_code, 200)
        message = self.messages()
        self.assertEqual(response.json(), {"status": "accepted", "id": message.id})
        self.assertEqual(message.idempotency_key, "msg_good")
        self.assertEqual(message.topic, "item.created")
        self.assertEqual(message.external_ref, "42")
        self.assertEqual(message.sequence_key, "item:42")
        self.assertEqual(
            message.event_at, fields.Datetime.to_datetime("2026-01-02 03:04:05")
        )
        self.assertEqual(message.payload["data"]["id"], "42")
        self.assertEqual(message.state, "queued", "processing is left to a job")
        self.assertNotIn("Set-Cookie", response.headers)

    def test_other_modules_dispatch_hooks_skipped(self):
        """A webhook resolves no language, website or tracking cookie: the other
        modules' ir.http hooks around the dispatch are not run for it, as they
        are for Odoo's other routes."""
        calls = []

        def hook(name):
            original = getattr(BaseIrHttp, name).__func__

            def counted(cls, *args):
                calls.append(name)
                return original(cls, *args)

            return patch.object(BaseIrHttp, name, classmethod(counted))

        with hook("_pre_dispatch"), hook("_post_dispatch"):
            response = self.post_signed(self.event(), msg_id="msg_hooks")
            self.assertEqual(response.status_code, 200)
            self.assertFalse(calls)
            self.url_open("/web/health")
        self.assertEqual(calls, ["_pre_dispatch", "_post_dispatch"])

    def test_answer_reveals_no_record_data(self):
        response = self.post_signed(self.event(name="Secret Customer"))
        self.assertEqual(set(response.json()), {"status", "id"})
        self.assertNotIn(b"Secret Customer", response.content)

    def test_bad_signature_refused_and_logged_once(self):
        body = json.dumps(self.event(name="Do Not Log")).encode()
        headers = self.signed_headers(body, secret=new_whsec())
        with self.assertLogs(WEBHOOK_LOGGER, "WARNING") as logs:
            response = self.post(body, headers)
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json(), {"status": "unauthorized"})
        self.assertFalse(self.messages())
        self.assertEqual(len(logs.output), 1)
        line = logs.output[0]
        self.assertIn(f"integration.backend {self.backend.id}", line)
        self.assertIn("signature mismatch", line)
        self.assertNotIn("Do Not Log", line)
        self.assertNotIn(self.secret, line)
        self.assertNotIn(self.secret.removeprefix("whsec_"), line)

    def test_missing_signature_refused(self):
        with mute_logger(WEBHOOK_LOGGER):
            response = self.post(self.event(), {"Content-Type": "application/json"})
        self.assertEqual(response.status_code, 401)
        self.assertFalse(self.messages())

    def test_body_changed_after_signing_refused(self):
        body = json.dumps(self.event()).encode()
        headers = self.signed_headers(body)
        with mute_logger(WEBHOOK_LOGGER):
            response = self.post(body.replace(b"42", b"43"), headers)
        self.assertEqual(response.status_code, 401)

    def test_signature_over_raw_bytes(self):
        # same JSON, other bytes: the signature covers the bytes received
        body = b'{ "type" : "item.created",  "data": {"id": "7"} }'
        response = self.post_signed(body)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.messages().external_ref, "7")

    def test_expired_and_future_timestamps_refused(self):
        now = int(time.time())
        with mute_logger(WEBHOOK_LOGGER):
            expired = self.post_signed(self.event(), timestamp=now - 330)
            future = self.post_signed(self.event(), timestamp=now + 330)
        self.assertEqual(expired.status_code, 401)
        self.assertEqual(future.status_code, 401)
        self.assertFalse(self.messages())
        within = self.post_signed(self.event(), timestamp=now - 240)
        self.assertEqual(within.status_code, 200)

    def test_several_signatures_one_valid(self):
        body = json.dumps(self.event()).encode()
        headers = self.signed_headers(body)
        headers["webhook-signature"] = "v1,Zm9v " + headers["webhook-signature"]
        self.assertEqual(self.post(body, headers).status_code, 200)

    def test_rotated_secret_accepted_until_its_date(self):
        old_secret = self.secret
        new_secret = new_whsec()
        self.backend.action_rotate_webhook_secret()
        self.backend.write(
            {
                "webhook_secret": new_secret,
                "webhook_secret_previous_until": fields.Datetime.now()
                + timedelta(days=1),
            }
        )
        self.assertEqual(
            self.post_signed(self.event(), secret=old_secret).status_code, 200
        )
        self.assertEqual(
            self.post_signed(self.event(), secret=new_secret).status_code, 200
        )
        self.backend.webhook_secret_previous_until = fields.Datetime.now() - timedelta(
            seconds=1
        )
        with mute_logger(WEBHOOK_LOGGER):
            expired = self.post_signed(self.event(), secret=old_secret)
        self.assertEqual(expired.status_code, 401)
        self.assertEqual(
            self.post_signed(self.event(), secret=new_secret).status_code, 200
        )
        self.assertEqual(len(self.messages()), 3)

    def test_body_at_limit_accepted_one_byte_over_refused(self):
        self.assertEqual(self.backend.max_body_bytes, DEFAULT_MAX_BODY_BYTES)
        at_limit = self.post_signed(padded_body(DEFAULT_MAX_BODY_BYTES))
        self.assertEqual(at_limit.status_code, 200)
        over = self.post_signed(padded_body(DEFAULT_MAX_BODY_BYTES + 1))
        self.assertEqual(over.status_code, 413)
        self.assertEqual(len(self.messages()), 1)

    def send_start_of_request(self, framing, body_start):
        """Send headers and the start of a body, never the rest; return the
        response's status line and the seconds it took to come."""
        host, port = self.base_url().removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                (
                    f"POST {self.url()} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Content-Type: application/json\r\n{framing}\r\n"
                    f"Connection: close\r\n\r\n{body_start}"
                ).encode()
            )
            start = time.monotonic()
            response = b""
            while b"\r\n" not in response:
                received = sock.recv(4096)
                if not received:
                    break
                response += received
        return response.split(b"\r\n", 1)[0], time.monotonic() - start

    def test_oversized_body_refused_without_reading_it(self):
        """A huge Content-Length is refused at once, not after the upload."""
        status_line, seconds = self.send_start_of_request(
            "Content-Length: 1000000000", "{"
        )
        self.assertEqual(status_line, b"HTTP/1.1 413 REQUEST ENTITY TOO LARGE")
        self.assertLess(seconds, 5)

    def test_chunked_body_cut_at_the_backend_limit(self):
        """Without Content-Length the body is read up to the backend's limit only."""
        self.backend.max_body_bytes = 1024

        def chunks(body, size=256):
            for start in range(0, len(body), size):
                yield body[start : start + size]

        def post_chunked(body):
            headers = self.signed_headers(body)
            return self.opener.post(
                self.base_url() + self.url(), data=chunks(body), headers=headers
            )

        small = post_chunked(padded_body(1000))
        self.assertEqual(small.status_code, 200)
        self.assertIsNone(small.request.headers.get("Content-Length"))
        self.assertEqual(post_chunked(padded_body(1025)).status_code, 413)
        # 2 KiB sent and the sender still sending: refused without waiting for more
        status_line, _seconds = self.send_start_of_request(
            "Transfer-Encoding: chunked", f"800\r\n{'x' * 2048}\r\n"
        )
        self.assertTrue(status_line.startswith(b"HTTP/1.1 413"), status_line)
        self.assertEqual(len(self.messages()), 1)

    def test_wrong_content_type_refused(self):
        body = json.dumps(self.event()).encode()
        headers = self.signed_headers(body, **{"Content-Type": "text/plain"})
        response = self.post(body, headers)
        self.assertEqual(response.status_code, 415)
        self.assertFalse(self.messages())

    def test_json_suffix_content_type_accepted(self):
        body = json.dumps(self.event()).encode()
        headers = self.signed_headers(
            body, **{"Content-Type": "application/cloudevents+json; charset=utf-8"}
        )
        self.assertEqual(self.post(body, headers).status_code, 200)

    def test_malformed_json_refused(self):
        for body in (
            b'{"type": "x",',
            b"",
            b"\xff\xfe\x00",
            b'{"a": NaN}',
            b"[" * 100000,
        ):
            with self.subTest(body=body[:20]):
                response = self.post_signed(body)
                self.assertEqual(response.status_code, 400)
        self.assertFalse(self.messages())

    def test_event_without_type_refused(self):
        self.assertEqual(self.post_signed({"data": {"id": 1}}).status_code, 400)
        self.assertEqual(self.post_signed([1, 2]).status_code, 400)
        self.assertFalse(self.messages())

    def test_unstorable_characters_refused(self):
        self.assertEqual(self.post_signed(b'{"type": "a\\u0000b"}').status_code, 400)
        self.assertEqual(
            self.post_signed(b'{"type": "x", "s": "\\ud800"}').status_code, 400
        )
        # a lone surrogate encoded in the bytes, which the JSON decoder lets pass
        self.assertEqual(
            self.post_signed(b'{"type": "x", "s": "\xed\xa0\x80"}').status_code, 400
        )
        self.assertFalse(self.messages())

    def test_bodies_checked_the_long_way_stored_when_storable(self):
        """Bodies with escapes, 0xED bytes (Hangul) or another encoding than
        UTF-8 skip the fast check and are serialised to check them."""
        for number, body in enumerate(
            (
                json.dumps({"type": "x", "s": "caf\u00e9"}).encode(),
                json.dumps({"type": "x", "s": "\ud7a3"}, ensure_ascii=False).encode(),
                json.dumps({"type": "x", "s": "\U0001f600"}).encode(),
                json.dumps({"type": "x", "s": "ok"}).encode("utf-16"),
            )
        ):
            with self.subTest(body=body[:20]):
                response = self.post_signed(body, msg_id=f"msg_long_{number}")
                self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            sorted(self.messages().mapped(lambda m: m.payload["s"])),
            sorted(["caf\u00e9", "\ud7a3", "\U0001f600", "ok"]),
        )

    def test_unknown_archived_and_paused_backends_answer_404(self):
        archived = self.backend.copy({"name": "Archived", "active": False})
        paused = self.backend.copy({"name": "Paused", "paused": True})
        paused.webhook_secret = self.secret
        answers = []
        for url in (
            "/integration/webhook/no-such-token",
            self.url(archived),
            self.url(paused),
        ):
            body = json.dumps(self.event()).encode()
            response = self.opener.post(
                self.base_url() + url, data=body, headers=self.signed_headers(body)
            )
            answers.append((response.status_code, response.content))
        self.assertEqual(answers[0][0], 404)
        self.assertEqual(len(set(answers)), 1, "the three answers are identical")
        self.assertFalse(
            self.env["integration.inbox.message"].search(
                [("backend_id", "in", (archived | paused).ids)]
            )
        )

    def test_backend_changes_apply_to_the_next_delivery(self):
        """The route caches backends and secrets per worker: every change clears it."""
        self.assertEqual(self.post_signed(self.event()).status_code, 200)
        self.backend.paused = True
        self.assertEqual(self.post_signed(self.event()).status_code, 404)
        self.backend.paused = False
        self.assertEqual(self.post_signed(self.event()).status_code, 200)
        self.backend.active = False
        self.assertEqual(self.post_signed(self.event()).status_code, 404)
        self.backend.active = True
        old_url = self.url()
        self.backend.action_regenerate_webhook_token()
        body = json.dumps(self.event()).encode()
        response = self.opener.post(
            self.base_url() + old_url, data=body, headers=self.signed_headers(body)
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.post_signed(self.event()).status_code, 200)
        new_secret = new_whsec()
        self.backend.webhook_secret = new_secret
        with mute_logger(WEBHOOK_LOGGER):
            self.assertEqual(self.post_signed(self.event()).status_code, 401)
        self.assertEqual(
            self.post_signed(self.event(), secret=new_secret).status_code, 200
        )
        self.backend.max_body_bytes = 10
        self.assertEqual(self.post_signed(self.event()).status_code, 413)
        self.assertEqual(len(self.messages()), 4)

    def test_backend_lookup_is_cached_and_unknown_tokens_are_not(self):
        backends = self.env["integration.backend"]
        token = self.backend.webhook_token
        backends._get_intake_backend(token)
        with self.assertQueryCount(0):
            backend = backends._get_intake_backend(token)
            self.assertEqual(backend, self.backend)
            self.assertEqual(backend.max_body_bytes, self.backend.max_body_bytes)
            for number in range(20):
                self.assertFalse(backends._get_intake_backend(f"no-such-{number}"))

    def test_get_not_allowed(self):
        response = self.opener.get(self.base_url() + self.url())
        self.assertEqual(response.status_code, 405)

    def test_duplicate_delivery(self):
        body = json.dumps(self.event()).encode()
        headers = self.signed_headers(body, msg_id="msg_dup")
        first = self.post(body, headers)
        second = self.post(body, headers)
        message = self.messages()
        self.assertEqual(first.json(), {"status": "accepted", "id": message.id})
        self.assertEqual(second.json(), {"status": "duplicate", "id": message.id})
        self.assertEqual(message.duplicate_count, 1)

    def test_credentials_removed_from_stored_headers(self):
        response = self.post_signed(
            self.event(),
            **{
                "Authorization": "Bearer hunter2",
                "Cookie": "session_id=abc",
                "X-Api-Key": "k",
                "X-Trace": "keep-me",
            },
        )
        self.assertEqual(response.status_code, 200)
        headers = {k.lower(): v for k, v in self.messages().headers.items()}
        self.assertEqual(headers["x-trace"], "keep-me")
        self.assertEqual(headers["webhook-id"], self.messages().idempotency_key)
        for name in ("authorization", "cookie", "x-api-key", "webhook-signature"):
            self.assertNotIn(name, headers)
        self.assertNotIn("hunter2", json.dumps(headers))

    def test_correlation_id_from_sender(self):
        self.post_signed(self.event(), **{"X-Correlation-Id": "corr-1"})
        self.assertEqual(self.messages().correlation_id, "corr-1")

    def test_rate_limit(self):
        self.backend.intake_rate_limit = 2
        statuses = [self.post_signed(self.event()).status_code for _ in range(2)]
        limited = self.post_signed(self.event())
        self.assertEqual(statuses, [200, 200])
        self.assertEqual(limited.status_code, 429)
        self.assertTrue(1 <= int(limited.headers["Retry-After"]) <= 60)
        self.assertEqual(len(self.messages()), 2)
        # the bucket is in the database, shared by every worker: this process's
        # own check sees it empty too (a bucket of 2 per minute refills in 30 s)
        self.assertTrue(25 <= self.backend._intake_rate_limited() <= 30)
        self.backend.intake_rate_limit = 0
        self.assertEqual(self.post_signed(self.event()).status_code, 200)

    def test_database_down_answers_503(self):
        def registry_down(*args, **kwargs):
            raise psycopg2.OperationalError(
                "could not connect to server: Connection refused"
            )

        body = json.dumps(self.event()).encode()
        with patch("odoo.http.Registry", registry_down), mute_logger("odoo.http"):
            response = self.post_signed(self.event())
            chunked = self.opener.post(
                self.base_url() + self.url(),
                data=iter([body]),
                headers=self.signed_headers(body),
            )
        self.assertEqual(response.status_code, 503)
        self.assertTrue(response.headers.get("Retry-After"))
        self.assertEqual(chunked.status_code, 503)
        self.assertFalse(self.messages())

    def test_connection_lost_during_intake_answers_503(self):
        original = type(self.backend)._verify_signature

        def connection_lost(backend, raw_body, headers):
            original(backend, raw_body, headers)
            raise psycopg2.InterfaceError("connection already closed")

        with (
            patch.object(type(self.backend), "_verify_signature", connection_lost),
            mute_logger(WEBHOOK_LOGGER),
        ):
            response = self.post_signed(self.event())
        self.assertEqual(response.status_code, 503)
        self.assertTrue(response.headers.get("Retry-After"))

    def test_concurrent_deliveries_one_message(self):
        body = json.dumps(self.event()).encode()
        headers = self.signed_headers(body, msg_id="msg_race")
        url = self.base_url() + self.url()
        answers, errors = [], []
        barrier = threading.Barrier(6)

        def deliver():
            try:
                barrier.wait(10)
                answers.append(
                    requests.post(url, data=body, headers=headers, timeout=30)
                )
            except Exception as err:  # noqa: BLE001
                errors.append(err)

        threads = [threading.Thread(target=deliver) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertFalse(errors)
        message = self.messages()
        self.assertEqual(len(message), 1)
        self.assertEqual({a.status_code for a in answers}, {200})
        self.assertEqual(
            sorted(a.json()["status"] for a in answers),
            ["accepted"] + ["duplicate"] * 5,
        )
        self.assertEqual({a.json()["id"] for a in answers}, {message.id})
        self.assertEqual(message.duplicate_count, 5)


@tagged("post_install", "-at_install")
class TestWebhookOdooRoute(OdooRouteMixin, TestWebhookRoute):
    """The same, through Odoo's route (the WSGI intake off): a server where
    it cannot serve (several databases) answers alike."""


@tagged("post_install", "-at_install")
class TestWsgiIntake(WebhookCase):
    """The WSGI intake serves a delivery in one cursor, without Odoo's
    request machinery, and leaves what it cannot serve to Odoo's route."""

    def count_calls(self, owner, name):
        """Calls of ``owner.name`` from other threads than the test's."""
        original = getattr(owner, name)
        test_thread = threading.current_thread()
        calls = []

        def counted(*args, **kwargs):
            if threading.current_thread() is not test_thread:
                calls.append(name)
            return original(*args, **kwargs)

        patcher = patch.object(owner, name, counted)
        patcher.start()
        self.addCleanup(patcher.stop)
        return calls

    def test_one_cursor_no_routing(self):
        cursors = self.count_calls(Registry, "cursor")
        matches = self.count_calls(BaseIrHttp, "_match")
        response = self.post_signed(self.event(), msg_id="msg_wsgi")
        self.assertEqual(response.json()["status"], "accepted")
        self.assertEqual(len(cursors), 1)
        self.assertFalse(matches)
        self.assertEqual(self.messages().idempotency_key, "msg_wsgi")

    def test_left_to_odoo_when_it_cannot_serve(self):
        matches = self.count_calls(BaseIrHttp, "_match")
        with patch.object(wsgi_intake, "_registry", return_value=None):
            response = self.post_signed(self.event(), msg_id="msg_odoo")
        self.assertEqual(response.json()["status"], "accepted")
        self.assertTrue(matches, "served by Odoo's route")
        self.assertEqual(self.messages().idempotency_key, "msg_odoo")
