"""The example connector end to end, with the test kit of integration_core:
signed webhooks through the real route, the core importer's sale order, a
stock level reaching a shop played by a local HTTP server."""

import json
import re

from odoo.tests import BaseCase, HttpCase, TransactionCase, tagged
from odoo.tools.misc import file_open

from odoo.addons.integration_core import canonical
from odoo.addons.integration_core.signatures import hmac_sha256_hex
from odoo.addons.integration_core.tests.common import (
    LocalServerMixin,
    make_backend,
    make_product,
    post_webhook,
    process,
    run_message_jobs,
)

from .. import mapping

SECRET = "example-webhook-secret"
ORDER = {
    "order_ref": "EX-1001",
    "number": "1001",
    "currency": "EUR",
    "placed_at": "2026-03-14T09:26:53Z",
    "buyer": {"name": "Jane Doe", "email": "jane.example@example.com"},
    "items": [
        {"sku": "EX-MUG", "qty": 2, "price": "12.50"},
        {"sku": "EX-TEE", "qty": 1, "price": 20},
    ],
    "total": "45.00",
}

# models whose hooks "Writing a connector" in DEVELOP.md lists
HOOK_MODELS = (
    "integration.backend",
    "integration.inbox.message",
    "integration.outbox.message",
    "integration.order.importer",
    "integration.refund.importer",
    "integration.payment.importer",
    "integration.shipment.importer",
)


def develop_md():
    with file_open("integration_core/readme/DEVELOP.md") as doc:
        return doc.read()


@tagged("post_install", "-at_install")
class TestExampleMapping(BaseCase):
    def test_order_is_a_valid_canonical_document(self):
        document = mapping.to_canonical_order(ORDER)
        canonical.validate("order", document)
        self.assertEqual(document["external_id"], "EX-1001")
        self.assertEqual(
            [line["unit_price"] for line in document["lines"]], ["12.50", "20"]
        )
        self.assertEqual(document["totals"], {"total": "45.00"})
        with self.assertRaises(ValueError):
            mapping.to_canonical_order(dict(ORDER, total="forty-five"))


@tagged("post_install", "-at_install")
class TestExampleConnector(LocalServerMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.backend = make_backend(cls.env, "example", webhook_secret=SECRET)
        cls.mug = make_product(cls.env, "EX-MUG", 12.5)
        cls.tee = make_product(cls.env, "EX-TEE", 20.0)

    def deliver(self, payload, secret=SECRET, delivery="dlv-1"):
        """POST ``payload`` as the shop does: ``sale.new``, signed with ``secret``."""
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Example-Topic": "sale.new",
            "X-Example-Delivery": delivery,
            "X-Example-Signature": hmac_sha256_hex(secret, body),
        }
        return post_webhook(self, self.backend, body, headers)

    def inbox(self):
        return self.env["integration.inbox.message"].search(
            [("backend_id", "=", self.backend.id)]
        )

    def test_signed_delivery_becomes_a_sale_order(self):
        response = self.deliver(ORDER)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["status"], "accepted")
        message = self.inbox()
        self.assertEqual(
            (message.topic, message.idempotency_key, message.external_ref),
            ("sale.new", "dlv-1", "EX-1001"),
        )
        self.assertEqual(process(message), "done", message.last_error)
        order = message._get_record()
        self.assertEqual(order._name, "sale.order")
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.client_order_ref, "1001")
        self.assertEqual(order.currency_id.name, "EUR")
        self.assertEqual(order.amount_total, 45.0)
        self.assertEqual(order.order_line.product_id, self.mug | self.tee)
        self.assertEqual(order.partner_id.email, "jane.example@example.com")
        # the shop sends again what it is not sure was received: one message
        self.assertEqual(self.deliver(ORDER).json()["status"], "duplicate")
        self.assertEqual(self.inbox(), message)

    def test_bad_signature_refused_and_nothing_stored(self):
        self.assertEqual(self.deliver(ORDER, secret="another-secret").status_code, 401)
        body = json.dumps(ORDER).encode()
        headers = {"Content-Type": "application/json", "X-Example-Topic": "sale.new"}
        self.assertEqual(
            post_webhook(self, self.backend, body, headers).status_code, 401
        )
        # signed, then changed on the way
        headers["X-Example-Signature"] = hmac_sha256_hex(SECRET, body)
        tampered = body.replace(b'"qty": 2', b'"qty": 20')
        self.assertNotEqual(tampered, body)
        self.assertEqual(
            post_webhook(self, self.backend, tampered, headers).status_code, 401
        )
        self.assertFalse(self.inbox())

    def test_stock_level_reaches_the_shop(self):
        shop = self.start_server()
        self.backend.api_base_url = shop.url
        first = self.backend._example_push_stock(self.mug, 3)
        latest = self.backend._example_push_stock(self.mug, 5)
        # one call for the SKU's burst, with the latest level: the waiting
        # message took it in place
        self.assertEqual(latest, first)
        self.assertEqual(run_message_jobs(latest), ["sent"], latest.last_error)
        [request] = shop.requests
        self.assertEqual((request.method, request.path), ("POST", "/stock"))
        self.assertEqual(request.json, {"sku": "EX-MUG", "quantity": 5})


@tagged("post_install", "-at_install")
class TestExampleDoc(TransactionCase):
    """The connector guide cannot drift from the code it describes."""

    def test_develop_md_shows_this_backend_model(self):
        blocks = re.findall(r"^```python\n(.*?)^```$", develop_md(), re.M | re.S)
        with file_open("integration_example/models/integration_backend.py") as model:
            source = model.read()
        first_line = source.splitlines()[0]
        self.assertEqual(
            first_line, "# integration_example/models/integration_backend.py"
        )
        [shown] = [block for block in blocks if block.startswith(first_line + "\n")]
        self.assertEqual(shown, source)

    def test_develop_md_hooks_exist(self):
        section = develop_md().split("## Writing a connector\n", 1)[1]
        section = section.split("\n## ", 1)[0]
        hooks = {
            name
            for row in section.splitlines()
            if row.startswith("| `")
            # the first cell: `_hook(...)`, `model._hook(...)`, `_a()` / `_b()`
            for name in re.findall(r"`(?:[\w.]+\.)?(_\w+)\(", row.split(" | ")[0])
        }
        self.assertGreater(len(hooks), 50)
        models = [self.env[name] for name in HOOK_MODELS]
        missing = [h for h in sorted(hooks) if not any(hasattr(m, h) for m in models)]
        self.assertFalse(missing, "hooks of DEVELOP.md missing from the code")
