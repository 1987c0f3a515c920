"""Property-based fuzzing of the webhook route with hypothesis."""

import json
import string
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common_webhook import WebhookCase

HEADER_TEXT = st.text(
    alphabet=string.ascii_letters + string.digits + string.punctuation + " ",
    max_size=80,
).map(str.strip)
HEADER_NAMES = st.sampled_from(
    [
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "Content-Type",
        "Authorization",
        "X-Correlation-Id",
        "Cookie",
        "X-Anything",
    ]
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/vnd.api+json",
        "multipart/form-data; boundary=x",
        "",
    ]
)
FUZZ_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

# extreme input found by outside testing (see readme/DEVELOP.md, "Input rules")
OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: (
        f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    )
)
EDGE_DATES = st.sampled_from(
    ["0001-01-01T00:00:00", "0001-01-01T13:59:59", "9999-12-31T23:59:59"]
) | st.datetimes().map(lambda moment: moment.isoformat(timespec="seconds"))
EDGE_TIMES = st.builds(lambda date, offset: date + offset, EDGE_DATES, OFFSETS) | (
    EDGE_DATES.map(lambda date: date + "Z")
)
HUGE_NUMBERS = st.integers(min_value=300, max_value=999).flatmap(
    lambda exponent: st.sampled_from(
        [f"1e{exponent}", f"-1e{exponent}", f"9.99e+{exponent}", f"1E-{exponent}"]
    )
) | st.integers(min_value=10**300, max_value=10**400).map(str)
LONG_KEYS = st.integers(min_value=200, max_value=3000).flatmap(
    lambda size: st.sampled_from(["k" * size, "é" * size, "9" * size])
)


@tagged("post_install", "-at_install")
class TestWebhookFuzz(WebhookCase):
    @FUZZ_SETTINGS
    @given(
        body=st.binary(max_size=1024),
        headers=st.dictionaries(HEADER_NAMES, HEADER_TEXT, max_size=6),
        content_type=CONTENT_TYPES,
    )
    def test_arbitrary_requests_never_5xx_never_stored(
        self, body, headers, content_type
    ):
        headers = dict(headers, **{"Content-Type": content_type})
        before = self.env["integration.inbox.message"].search_count([])
        with mute_logger(
            "odoo.addons.integration_core.controllers.webhook", "odoo.http"
        ):
            response = self.post(body, headers)
        self.assertLess(response.status_code, 500, response.content[:200])
        self.assertIn(response.status_code, (400, 401, 413, 415))
        self.env.invalidate_all()
        self.assertEqual(self.env["integration.inbox.message"].search_count([]), before)

    @FUZZ_SETTINGS
    @given(body=st.binary(max_size=512), msg_id=HEADER_TEXT.filter(bool))
    def test_signed_arbitrary_bytes_never_5xx(self, body, msg_id):
        response = self.post(body, self.signed_headers(body, msg_id=msg_id))
        self.assertIn(response.status_code, (200, 400), response.content[:200])

    @FUZZ_SETTINGS
    @given(payload=JSON_VALUES, event_type=st.text(max_size=30))
    def test_signed_arbitrary_json_never_5xx(self, payload, event_type):
        if isinstance(payload, dict) and event_type:
            payload["type"] = event_type
            payload["timestamp"] = str(payload.get("timestamp"))
        body = json.dumps(payload).encode()
        response = self.post(
            body, self.signed_headers(body, timestamp=int(time.time()))
        )
        self.assertIn(response.status_code, (200, 400), response.content[:200])
        if response.status_code == 200:
            self.env.invalidate_all()
            message = self.env["integration.inbox.message"].browse(
                response.json()["id"]
            )
            # jsonb normalises numbers (1e2 -> 100): compare the event type only
            self.assertEqual(message.topic, event_type)

    @FUZZ_SETTINGS
    @given(
        moment=EDGE_TIMES,
        number=HUGE_NUMBERS,
        key=st.one_of(st.none(), LONG_KEYS),
        ref=st.one_of(st.just("42"), LONG_KEYS),
    )
    def test_signed_extreme_values_never_5xx(self, moment, number, key, ref):
        body = (
            '{"type": "item.created", "timestamp": %s, "data": {"id": %s, '
            '"total": %s}}' % (json.dumps(moment), json.dumps(ref), number)
        ).encode()
        headers = self.signed_headers(body, msg_id=key)
        response = self.post(body, headers)
        self.assertIn(response.status_code, (200, 400), response.content[:200])
        if response.status_code == 400:
            self.assertTrue(response.json()["reason"])
