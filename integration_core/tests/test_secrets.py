import logging
import os
import unittest
from datetime import timedelta
from unittest.mock import patch

from cryptography.fernet import Fernet

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import config

from odoo.addons.integration_core import secret_crypto as secret_box
from odoo.addons.integration_core.exceptions import EncryptionKeyMissing

SECRET = "whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1sZWFr"


class TestSecretBox(unittest.TestCase):
    def test_round_trip_and_rotation(self):
        old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        token = secret_box.encrypt("s3cret", raw_keys=old)
        self.assertNotIn("s3cret", token)
        self.assertEqual(secret_box.decrypt(token, raw_keys=old), "s3cret")
        # rotation: the new key first, the old one still decrypts
        self.assertEqual(secret_box.decrypt(token, raw_keys=f"{new},{old}"), "s3cret")
        rotated = secret_box.rotate(token, raw_keys=f"{new},{old}")
        self.assertEqual(secret_box.decrypt(rotated, raw_keys=new), "s3cret")
        with self.assertRaises(EncryptionKeyMissing):
            secret_box.decrypt(token, raw_keys=new)

    def test_missing_or_invalid_key(self):
        with self.assertRaisesRegex(EncryptionKeyMissing, "integration_encryption_key"):
            secret_box.encrypt("x", raw_keys="")
        with self.assertRaises(EncryptionKeyMissing):
            secret_box.encrypt("x", raw_keys="not-a-key")

    def test_key_from_environment(self):
        key = Fernet.generate_key().decode()
        with (
            patch.dict(config.options, {secret_box.CONFIG_OPTION: ""}),
            patch.dict(os.environ, {secret_box.ENV_VARIABLE: key}),
        ):
            self.assertEqual(secret_box.configured_keys(), key)


@tagged("post_install", "-at_install")
class TestSecretFields(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.manager = new_test_user(
            cls.env,
            "int_secret_manager",
            groups="integration_core.group_integration_manager,base.group_allow_export",
        )
        cls.backend = (
            cls.env["integration.backend"]
            .with_user(cls.manager)
            .create({"name": "Secretive", "webhook_secret": SECRET})
        )

    def test_stored_encrypted(self):
        self.assertEqual(self.backend.sudo()._get_secret("webhook_secret"), SECRET)
        self.env.cr.execute(
            "SELECT ciphertext FROM integration_secret WHERE res_model = %s AND res_id = %s",
            ("integration.backend", self.backend.id),
        )
        (ciphertext,) = self.env.cr.fetchone()
        self.assertNotIn(SECRET, ciphertext)
        self.assertNotIn(SECRET[6:], ciphertext)
        self.env.cr.execute(
            "SELECT row_to_json(b)::text FROM integration_backend b WHERE id = %s",
            (self.backend.id,),
        )
        self.assertNotIn(SECRET, self.env.cr.fetchone()[0])

    def test_write_only_for_everyone(self):
        admin = self.env.ref("base.user_admin")
        for user in (self.manager, admin):
            backend = self.backend.with_user(user)
            values = backend.read(["webhook_secret", "webhook_secret_set"])[0]
            self.assertEqual(values["webhook_secret"], False)
            self.assertTrue(values["webhook_secret_set"])
            rows = backend.search_read(
                [("id", "=", self.backend.id)],
                ["webhook_secret", "webhook_secret_previous"],
            )
            self.assertFalse(rows[0]["webhook_secret"])
            exported = backend.export_data(["webhook_secret", "name"])["datas"]
            self.assertNotIn(SECRET, repr(exported))
            self.assertNotIn(SECRET, repr(backend.web_read({"webhook_secret": {}})))
            with self.assertRaises(AccessError):
                self.env["integration.secret"].with_user(user).search([])

    def test_value_written_is_not_read_back_in_the_same_transaction(self):
        backend = self.backend.with_user(self.manager)
        backend.webhook_secret = "whsec_bmV3"
        self.assertFalse(backend.webhook_secret)
        self.assertFalse(backend.read(["webhook_secret"])[0]["webhook_secret"])
        self.assertEqual(backend.sudo()._get_secret("webhook_secret"), "whsec_bmV3")

    def test_clear_secret(self):
        self.backend.with_user(self.manager).webhook_secret = False
        self.assertFalse(self.backend.webhook_secret_set)
        self.assertIsNone(self.backend._get_secret("webhook_secret"))

    def test_integration_user_cannot_set_secrets(self):
        user = new_test_user(
            self.env,
            "int_secret_user",
            groups="integration_core.group_integration_user",
        )
        with self.assertRaises(AccessError):
            self.backend.with_user(user).write({"webhook_secret": "whsec_eA=="})
        self.assertEqual(self.backend._get_secret("webhook_secret"), SECRET)

    def test_without_key_saving_fails_clearly(self):
        with (
            patch.dict(config.options, {secret_box.CONFIG_OPTION: ""}),
            patch.dict(os.environ, {secret_box.ENV_VARIABLE: ""}),
            self.assertRaisesRegex(
                EncryptionKeyMissing, "No encryption key configured"
            ),
        ):
            self.backend.webhook_secret = "whsec_eA=="

    def test_previous_secret_until_its_date(self):
        self.backend.action_rotate_webhook_secret()
        self.backend.write(
            {
                "webhook_secret": "whsec_bmV3",
                "webhook_secret_previous_until": fields.Datetime.now()
                + timedelta(hours=1),
            }
        )
        self.assertEqual(self.backend._get_webhook_secrets(), ["whsec_bmV3", SECRET])
        self.backend.webhook_secret_previous_until = fields.Datetime.now() - timedelta(
            hours=1
        )
        self.assertEqual(self.backend._get_webhook_secrets(), ["whsec_bmV3"])

    def test_key_rotation_reencrypts(self):
        old = secret_box.configured_keys()
        new = Fernet.generate_key().decode()
        with patch.dict(config.options, {secret_box.CONFIG_OPTION: f"{new},{old}"}):
            self.assertGreaterEqual(self.env["integration.secret"]._rotate_all(), 1)
        with patch.dict(config.options, {secret_box.CONFIG_OPTION: new}):
            self.assertEqual(self.backend._get_secret("webhook_secret"), SECRET)

    def test_unlink_removes_secrets(self):
        backend_id = self.backend.id
        self.backend.unlink()
        self.assertFalse(
            self.env["integration.secret"].search(
                [("res_model", "=", "integration.backend"), ("res_id", "=", backend_id)]
            )
        )

    def test_secret_never_logged(self):
        """Writing, reading and verifying with a secret logs nothing containing it."""
        with self.assertLogs("odoo", level="DEBUG") as logs:
            logging.getLogger("odoo.addons.integration_core").info("capture starts")
            backend = (
                self.env["integration.backend"]
                .with_user(self.manager)
                .create(
                    {
                        "name": "Logged?",
                        "webhook_secret": SECRET,
                        "webhook_secret_previous": SECRET,
                    }
                )
            )
            backend.read(["webhook_secret", "webhook_secret_set"])
            backend.sudo()._get_webhook_secrets()
            with self.assertRaises(Exception):  # noqa: B017 (bad signature)
                backend._verify_signature(
                    b"{}",
                    {
                        "webhook-id": "m",
                        "webhook-timestamp": "1",
                        "webhook-signature": "v1,x",
                    },
                )
            backend.write({"webhook_secret": SECRET})
            backend.flush_recordset()
        text = "\n".join(logs.output)
        self.assertNotIn(SECRET, text)
        self.assertNotIn(SECRET[6:], text)


@tagged("post_install", "-at_install")
class TestAccessRights(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Integration Co B"})
        cls.backend_a = cls.env["integration.backend"].create({"name": "Backend A"})
        cls.backend_b = cls.env["integration.backend"].create(
            {"name": "Backend B", "company_id": cls.company_b.id}
        )
        cls.message_a, _created = cls.backend_a._inbox_receive("t", {"a": 1}, "ka")
        cls.message_b, _created = cls.backend_b._inbox_receive("t", {"b": 1}, "kb")
        cls.user = new_test_user(
            cls.env, "int_user", groups="integration_core.group_integration_user"
        )
        cls.manager = new_test_user(
            cls.env, "int_manager", groups="integration_core.group_integration_manager"
        )
        cls.employee = new_test_user(cls.env, "int_employee", groups="base.group_user")
        cls.portal = new_test_user(cls.env, "int_portal", groups="base.group_portal")
        cls.public = cls.env.ref("base.public_user")
        cls.both = new_test_user(
            cls.env,
            "int_user_ab",
            groups="integration_core.group_integration_user",
            company_ids=[Command.set((cls.company_a | cls.company_b).ids)],
        )

    def test_manager_implies_user(self):
        self.assertTrue(
            self.manager.has_group("integration_core.group_integration_user")
        )

    def test_user_reads_and_acts_on_messages_but_configures_nothing(self):
        backends = self.env["integration.backend"].with_user(self.user)
        self.assertEqual(
            backends.search([("id", "in", (self.backend_a | self.backend_b).ids)]),
            self.backend_a,
        )
        with self.assertRaises(AccessError):
            self.backend_a.with_user(self.user).write({"name": "renamed"})
        with self.assertRaises(AccessError):
            backends.create({"name": "mine"})
        with self.assertRaises(AccessError):
            self.env["integration.retry.policy"].with_user(self.user).create(
                {"name": "p"}
            )
        message = self.message_a.with_user(self.user)
        message.action_mark_ignored("not needed")
        self.assertEqual(message.state, "ignored")
        message.action_replay()
        self.assertEqual(message.state, "queued")

    def test_manager_configures(self):
        backend = (
            self.env["integration.backend"]
            .with_user(self.manager)
            .create(
                {
                    "name": "Managed",
                    "webhook_secret": "whsec_eA==",
                    "max_body_bytes": 2048,
                }
            )
        )
        self.assertTrue(backend.webhook_secret_set)
        backend.paused = True
        self.env["integration.retry.policy"].with_user(self.manager).create(
            {"name": "p"}
        )

    def test_tracebacks_for_managers_only(self):
        self.message_a.sudo().last_traceback = "Traceback: boom"
        with self.assertRaises(AccessError):
            self.message_a.with_user(self.user).read(["last_traceback"])
        self.assertEqual(
            self.message_a.with_user(self.manager).read(["last_traceback"])[0][
                "last_traceback"
            ],
            "Traceback: boom",
        )

    def test_per_company(self):
        inbox = self.env["integration.inbox.message"]
        both = (self.message_a | self.message_b).ids
        self.assertEqual(
            inbox.with_user(self.user).search([("id", "in", both)]), self.message_a
        )
        with self.assertRaises(AccessError):
            self.message_b.with_user(self.user).read(["topic"])
        with self.assertRaises(AccessError):
            self.backend_b.with_user(self.user).read(["name"])
        multi = inbox.with_user(self.both).with_context(
            allowed_company_ids=(self.company_a | self.company_b).ids
        )
        self.assertEqual(
            multi.search([("id", "in", both)]), self.message_a | self.message_b
        )

    def test_others_get_nothing(self):
        for user in (self.employee, self.portal, self.public):
            for model, record in (
                ("integration.backend", self.backend_a),
                ("integration.inbox.message", self.message_a),
                ("integration.outbox.message", None),
                ("integration.message.attempt", None),
                ("integration.retry.policy", None),
                ("integration.secret", None),
            ):
                with (
                    self.subTest(user=user.login, model=model),
                    self.assertRaises(AccessError),
                ):
                    if record:
                        record.with_user(user).read(["display_name"])
                    else:
                        self.env[model].with_user(user).search([])
