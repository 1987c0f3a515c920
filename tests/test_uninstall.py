"""Uninstalling a connector keeps its backends, archived, with their messages.

``TestUninstallConnector`` uninstalls ``integration_shopify`` for real, on a
throwaway database of its own, through separate Odoo processes (an uninstall
rebuilds the registry, which the test database of the suite must not see).
"""

import json
import shutil
import subprocess
import sys
import unittest
import uuid
from pathlib import Path

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import config, mute_logger

from odoo.addons.integration_core.models.integration_backend import (
    REMOVED_TYPE,
    set_connector_removed,
)
from odoo.addons.integration_core.tests.common_webhook import WebhookCase

# tests/ is collected through .build/addons/integration_suite, a symlink to the root
ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_LOGGER = "odoo.addons.integration_core.controllers.webhook"

# Run by the Python of the venv as ``script CONFIG DATABASE PHASE``; prints the
# phase's findings as JSON on its last line.
SCRIPT = r"""
import json
import sys

from lxml import etree

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.tools import config

conf, db, phase = sys.argv[1:4]
config.parse_config(["-c", conf, "-d", db, "--no-http", "--log-level=warn"])
result = {}
with Registry(db).cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    admin = env(user=env.ref("base.user_admin").id)
    Backend = env["integration.backend"].with_context(active_test=False)
    if phase == "populate":
        backend = Backend.create(
            {
                "name": "Uninstalled shop",
                "backend_type": "shopify",
                "shopify_shop_domain": "uninstall-test.myshopify.com",
            }
        )
        inbox, _created = backend._inbox_receive(
            "integration.ping", {"id": 1}, "uninstall-ping"
        )
        inbox._job_process()
        outbox = backend._outbox_enqueue("products/update", {"id": 2})
        env["integration.message.attempt"].create(
            {"outbox_message_id": outbox.id, "outcome": "failed", "error": "down"}
        )
        result = {
            "backend": backend.id,
            "token": backend.webhook_token,
            "inbox": inbox.id,
            "outbox": outbox.id,
            "attempts": (inbox.attempt_ids | outbox.attempt_ids).ids,
        }
    elif phase == "uninstall":
        # as the administrator, not the superuser, like the Apps menu
        admin["ir.module.module"].search(
            [("name", "=", "integration_shopify")]
        ).button_immediate_uninstall()
    else:
        ids = json.loads(phase)
        backend = Backend.browse(ids["backend"]).exists()
        tracking = backend.message_ids.tracking_value_ids.filtered(
            lambda value: value.field_id.name == "backend_type"
        )
        result = {
            "shopify_state": env["ir.module.module"]
            .search([("name", "=", "integration_shopify")])
            .state,
            "shopify_fields": "shopify_shop_domain" in Backend._fields,
            "backend": backend.read(["backend_type", "active"]),
            "intake_backend": bool(Backend._get_intake_backend(ids["token"])),
            "tracking": tracking.mapped(lambda v: [v.old_value_char, v.new_value_char]),
            "attempts": env["integration.message.attempt"]
            .browse(ids["attempts"])
            .exists()
            .ids,
        }
        for kind in ("inbox", "outbox"):
            # what the list view reads, as the web client asks for it
            Message = admin[f"integration.{kind}.message"]
            arch = Message.get_views([(False, "list")])["views"]["list"]["arch"]
            names = {node.get("name") for node in etree.fromstring(arch).iter("field")}
            described = Message.fields_get(names | {"backend_type"})
            spec = {
                name: {"fields": {"display_name": {}}}
                if described[name]["type"] == "many2one"
                else {}
                for name in described
            }
            rows = Message.web_search_read(
                [("backend_id", "=", ids["backend"])], spec
            )["records"]
            labels = dict(described["backend_type"]["selection"])
            result[kind] = [
                [
                    row["id"],
                    row["backend_id"]["display_name"],
                    row["backend_type"],
                    labels.get(row["backend_type"]),
                ]
                for row in rows
            ]
print(json.dumps(result))
"""


@tagged("post_install", "-at_install")
class TestConnectorRemoved(WebhookCase):
    """The ``removed`` type on the suite's test database."""

    def test_connectors_keep_their_backends_on_uninstall(self):
        ondelete = self.env["integration.backend"]._fields["backend_type"].ondelete
        for backend_type in ("shopify", "stripe", "carrier"):
            self.assertIs(ondelete[backend_type], set_connector_removed)

    def test_removed_backend_refuses_webhooks(self):
        message = self.backend._inbox_receive("integration.ping", {}, "before")[0]
        set_connector_removed(self.backend)
        self.assertRecordValues(
            self.backend, [{"backend_type": REMOVED_TYPE, "active": False}]
        )
        self.assertEqual(message.backend_type, REMOVED_TYPE)
        self.assertEqual(self.post_signed(self.event()).status_code, 404)
        # unarchived again, it still has no signature verifier
        self.backend.active = True
        with mute_logger(WEBHOOK_LOGGER):
            self.assertEqual(self.post_signed(self.event()).status_code, 401)
        self.assertEqual(self.messages(), message)

    def test_users_cannot_choose_the_removed_type(self):
        with self.assertRaises(ValidationError):
            self.env["integration.backend"].create(
                {"name": "Chosen by hand", "backend_type": REMOVED_TYPE}
            )
        with self.assertRaises(ValidationError):
            self.backend.backend_type = REMOVED_TYPE


class TestUninstallConnector(unittest.TestCase):
    """Uninstalls integration_shopify on a throwaway database (about a minute)."""

    def setUp(self):
        super().setUp()
        self.db = f"integration_uninstall_{uuid.uuid4().hex[:8]}"
        self.addCleanup(self.drop_db)

    def drop_db(self):
        subprocess.run(
            [sys.executable, str(ROOT / "setup" / "dbtool.py"), "drop", self.db],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(config.filestore(self.db), ignore_errors=True)

    def run_checked(self, args, timeout):
        result = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        return result

    def run_script(self, phase):
        result = self.run_checked(
            [sys.executable, "-c", SCRIPT, config.rcfile, self.db, phase], 300
        )
        return json.loads(result.stdout.splitlines()[-1])

    def test_uninstall_keeps_backends_messages_and_attempts(self):
        odoo_bin = str(Path(sys.executable).with_name("odoo"))
        self.run_checked(
            [
                odoo_bin,
                "-c",
                config.rcfile,
                "-d",
                self.db,
                "-i",
                "integration_shopify",
                "--without-demo=all",
                "--stop-after-init",
                "--no-http",
                "--log-level=warn",
            ],
            600,
        )
        ids = self.run_script("populate")
        self.assertEqual(len(ids["attempts"]), 2, "one attempt per message")

        self.run_script("uninstall")
        found = self.run_script(json.dumps(ids))

        self.assertEqual(found["shopify_state"], "uninstalled")
        self.assertFalse(found["shopify_fields"])
        self.assertEqual(
            found["backend"],
            [{"id": ids["backend"], "backend_type": REMOVED_TYPE, "active": False}],
        )
        self.assertFalse(found["intake_backend"], "its webhooks answer 404")
        self.assertEqual(found["tracking"], [["Shopify", "Connector uninstalled"]])
        self.assertEqual(sorted(found["attempts"]), sorted(ids["attempts"]))
        for kind in ("inbox", "outbox"):
            self.assertEqual(
                found[kind],
                [
                    [
                        ids[kind],
                        "Uninstalled shop",
                        REMOVED_TYPE,
                        "Connector uninstalled",
                    ]
                ],
            )
