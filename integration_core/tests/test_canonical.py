import base64
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest
from datetime import datetime
from decimal import Decimal

from jsonschema import Draft202012Validator

from odoo.addons.integration_core import canonical
from odoo.addons.integration_core.signatures import verify_standard_webhook

ADDON_DIR = os.path.join(os.path.dirname(__file__), "..")
DOC_PATH = os.path.join(ADDON_DIR, "readme", "CANONICAL.md")
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.M | re.S)
COMMON_PATH = os.path.join(ADDON_DIR, "canonical", "schemas", "common.json")
COMMON_REF = "urn:integration-suite:canonical:1:common#/$defs/"


def read_doc():
    with open(DOC_PATH, encoding="utf-8") as doc:
        return doc.read()


def fenced_blocks():
    return [(m["info"].strip(), m["body"]) for m in FENCE.finditer(read_doc())]


def examples(kind):
    info = f"json canonical:{kind}"
    return [json.loads(body) for tag, body in fenced_blocks() if tag == info]


def example(kind):
    """The first documented example of ``kind``, a fresh copy."""
    return copy.deepcopy(examples(kind)[0])


def line_schema(kind):
    """The schema of the objects in ``lines`` of ``kind``, or None."""
    kind_schema = canonical.schema(kind)
    lines = kind_schema["properties"].get("lines")
    if lines is None:
        return None
    return kind_schema["$defs"][lines["items"]["$ref"].rsplit("/", 1)[1]]


def schema_fields(kind_schema, node, prefix=""):
    """Documented field paths (``lines[].sku``) of an object schema; shared
    definitions (tax, address) are documented in tables of their own."""
    for name, sub in node.get("properties", {}).items():
        if name == "extra" and prefix not in ("", "lines[]."):
            continue  # every object may carry it, said once in the doc
        yield prefix + name
        sub_prefix = prefix + name + "."
        if sub.get("type") == "array":
            sub, sub_prefix = sub["items"], prefix + name + "[]."
        ref = sub.get("$ref", "")
        if ref.startswith("#/$defs/"):
            target = kind_schema["$defs"][ref.rsplit("/", 1)[1]]
            yield from schema_fields(kind_schema, target, sub_prefix)


def table_fields(heading):
    """First-column names of the table rows in the doc section ``heading``."""
    text = read_doc()
    start = text.index(f"\n{heading}\n")
    end = text.find("\n#", start + len(heading) + 2)
    rows = re.findall(r"^\| `([^`]+)` \|", text[start:end], re.M)
    return rows


class CanonicalCase(unittest.TestCase):
    def assertFails(self, kind, document, path, reason=None):
        with self.assertRaises(canonical.CanonicalError) as caught:
            canonical.validate(kind, document)
        self.assertEqual(caught.exception.path, path, str(caught.exception))
        if reason is not None:
            self.assertEqual(caught.exception.reason, reason)
        return caught.exception


class TestDocumentation(CanonicalCase):
    def test_every_json_example_is_tagged_and_valid(self):
        tagged = [
            (tag, body) for tag, body in fenced_blocks() if tag.startswith("json")
        ]
        self.assertTrue(tagged)
        for tag, body in tagged:
            with self.subTest(tag=tag, start=body[:60]):
                kind = tag.removeprefix("json canonical:")
                self.assertIn(kind, (*canonical.KINDS, "envelope"))
                document = json.loads(body)
                if kind == "envelope":
                    self.assertEqual(set(document), {"type", "timestamp", "data"})
                    self.assertEqual(document["type"], "order.created")
                    self.assertTrue(canonical.parse_time(document["timestamp"]))
                    canonical.validate("order", document["data"])
                else:
                    canonical.validate(kind, document)

    def test_every_kind_has_an_example(self):
        for kind in (*canonical.KINDS, "envelope"):
            with self.subTest(kind=kind):
                self.assertTrue(examples(kind))

    def test_tables_list_every_field(self):
        for kind in canonical.KINDS:
            with self.subTest(kind=kind):
                kind_schema = canonical.schema(kind)
                self.assertEqual(
                    table_fields(f"## {kind}"),
                    list(schema_fields(kind_schema, kind_schema)),
                )
        with open(COMMON_PATH, encoding="utf-8") as common_file:
            common = json.load(common_file)
        for heading, name in (
            ("### Tax object", "tax"),
            ("### Address object", "address"),
        ):
            with self.subTest(table=name):
                fields = schema_fields(common, common["$defs"][name])
                self.assertEqual(
                    table_fields(heading), [f for f in fields if f != "extra"]
                )

    def bash_snippet(self):
        (snippet,) = [body for tag, body in fenced_blocks() if tag == "bash"]
        return snippet

    def test_request_example_posts_the_documented_body(self):
        snippet = self.bash_snippet()
        heredoc = re.search(r"<<'EOF' \|\| true\n(.*?)\nEOF\n", snippet, re.S)
        (envelope,) = [
            body for tag, body in fenced_blocks() if tag.endswith("envelope")
        ]
        self.assertEqual(heredoc[1], envelope.rstrip("\n"))
        self.assertIn('"http://127.0.0.1:8069/integration/webhook/$TOKEN"', snippet)

    def test_request_example_signs_with_the_current_time(self):
        tools = ("bash", "openssl", "base64")
        if not all(shutil.which(tool) for tool in tools):
            self.skipTest("bash, openssl or base64 missing")
        # every byte value, NUL and non-ASCII included, goes through the hex loop
        secret = "whsec_" + base64.b64encode(bytes(range(256))).decode()
        # curl as a function: the snippet runs as written, nothing is sent
        script = "curl() { printf '%s\\0' \"$@\"; }\n" + self.bash_snippet()
        result = subprocess.run(
            ["bash", "-c", script],
            env={"PATH": os.environ.get("PATH", ""), "WHSEC": secret, "TOKEN": "t0k"},
            capture_output=True,
            check=True,
            timeout=60,
        )
        args = result.stdout.decode().split("\0")[:-1]
        headers = dict(
            arg.split(": ", 1)
            for prev, arg in zip(args[:-1], args[1:], strict=True)
            if prev == "-H"
        )
        body = args[args.index("--data-binary") + 1]
        self.assertIn("http://127.0.0.1:8069/integration/webhook/t0k", args)
        self.assertEqual(json.loads(body)["type"], "order.created")
        self.assertLess(abs(int(headers["webhook-timestamp"]) - time.time()), 60)
        verify_standard_webhook(
            [secret],
            body.encode(),
            headers["webhook-id"],
            headers["webhook-timestamp"],
            headers["webhook-signature"],
        )


class TestSchemas(CanonicalCase):
    def test_schemas_are_valid_draft_2020_12(self):
        for kind in canonical.KINDS:
            with self.subTest(kind=kind):
                kind_schema = canonical.schema(kind)
                Draft202012Validator.check_schema(kind_schema)
                self.assertEqual(
                    kind_schema["$id"], f"urn:integration-suite:canonical:1:{kind}"
                )
                # nothing may point outside the shipped files
                refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(kind_schema))
                for ref in refs:
                    self.assertTrue(ref.startswith(("#/", COMMON_REF)), ref)

    def test_validation_resolves_no_reference(self):
        """The validator checks with the references inlined (resolving them
        on every document was half of an order's validation) and finds what
        the schema as written finds."""
        for kind in canonical.KINDS:
            with self.subTest(kind=kind):
                validator = canonical._validator(kind)
                self.assertNotIn('"$ref"', json.dumps(validator.schema))
                as_written = canonical._Validator(
                    canonical.schema(kind),
                    registry=canonical._registry(),
                    format_checker=canonical._FORMATS,
                )
                document = example(kind)
                broken = copy.deepcopy(document)
                for key in broken:
                    if key not in ("schema_version", "extra"):
                        broken[key] = 12.5
                for candidate in (document, broken):

                    def found(errors):
                        return sorted(
                            (list(e.absolute_path), e.validator, str(e.message))
                            for e in errors
                        )

                    self.assertEqual(
                        found(validator.iter_errors(candidate)),
                        found(as_written.iter_errors(candidate)),
                    )

    def test_schema_is_cached_and_unknown_kinds_refused(self):
        self.assertIs(canonical.schema("order"), canonical.schema("order"))
        with self.assertRaises(KeyError):
            canonical.schema("invoice")
        with self.assertRaises(KeyError):
            canonical.validate("invoice", {})

    def test_kinds_and_version(self):
        self.assertEqual(
            canonical.KINDS,
            (
                "order",
                "order.cancellation",
                "refund",
                "payment",
                "shipment.event",
                "inventory.level",
                "fulfillment",
            ),
        )
        self.assertEqual(canonical.SCHEMA_VERSION, "1.0")

    def test_imports_without_odoo(self):
        code = (
            "import sys, canonical\n"
            "canonical.validate('inventory.level', "
            "{'sku': 'A', 'location': '1', 'available': 3})\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'odoo'], 'odoo'\n"
        )
        subprocess.run(
            [sys.executable, "-c", code], cwd=ADDON_DIR, check=True, timeout=60
        )


class TestRequiredFields(CanonicalCase):
    def test_each_required_field_missing_fails_at_its_path(self):
        for kind in canonical.KINDS:
            for name in canonical.schema(kind)["required"]:
                with self.subTest(kind=kind, field=name):
                    document = example(kind)
                    self.assertIn(name, document)
                    del document[name]
                    self.assertFails(kind, document, f"$.{name}", "required")

    def test_each_required_line_field_missing_fails_at_its_path(self):
        for kind in canonical.KINDS:
            line = line_schema(kind)
            if line is None:
                continue
            for name in line["required"]:
                with self.subTest(kind=kind, field=name):
                    document = example(kind)
                    self.assertIn(name, document["lines"][0])
                    del document["lines"][0][name]
                    self.assertFails(kind, document, f"$.lines[0].{name}", "required")

    def test_kinds_with_lines(self):
        kinds = [kind for kind in canonical.KINDS if line_schema(kind)]
        self.assertEqual(kinds, ["order", "refund", "fulfillment"])

    def test_order_needs_a_line(self):
        document = example("order")
        document["lines"] = []
        self.assertFails("order", document, "$.lines", "needs at least 1 item")

    def test_payment_match_needs_a_reference(self):
        document = example("payment")
        document["match"] = {"extra": {"note": "no reference"}}
        error = self.assertFails("payment", document, "$.match")
        self.assertIn("order_external_id", error.reason)
        document["match"] = {"invoice_reference": "INV/2026/00042"}
        canonical.validate("payment", document)


class TestFormats(CanonicalCase):
    def test_float_amount_fails_at_its_path(self):
        document = example("order")
        document["lines"][0]["unit_price"] = 19.99
        error = self.assertFails("order", document, "$.lines[0].unit_price")
        self.assertTrue(error.reason.startswith("float amount"), error.reason)

        document = example("order")
        document["totals"] = {"total": 10.5}
        self.assertFails("order", document, "$.totals.total")

        document = example("order")
        document["lines"][0]["taxes"][0]["amount"] = 2.9
        self.assertFails("order", document, "$.lines[0].taxes[0].amount")

        document = example("payment")
        document["amount"] = 58
        self.assertFails("payment", document, "$.amount")

        document = example("refund")
        document["lines"][0]["amount"] = 22.5
        self.assertFails("refund", document, "$.lines[0].amount")

    def test_money_strings(self):
        for value in ("19.99", "-5", "0.00", "1000000000000.000001"):
            with self.subTest(value=value):
                document = example("order")
                document["totals"]["total"] = value
                canonical.validate("order", document)
        # "\u0661\u0669" is 19 in Arabic-Indic digits: ASCII digits only
        for value in ("19,99", "1e3", " 1", "1.", ".5", "+1", "\u0661\u0669", "1\n"):
            with self.subTest(value=value):
                document = example("order")
                document["totals"]["total"] = value
                self.assertFails("order", document, "$.totals.total")

    def test_bad_currency_fails_at_currency(self):
        for kind in ("order", "refund", "payment"):
            for value in ("usd", "EURO", "US", "EU\n", 978):
                with self.subTest(kind=kind, value=value):
                    document = example(kind)
                    document["currency"] = value
                    self.assertFails(kind, document, "$.currency")

    def test_bad_time_fails_at_its_path(self):
        malformed = ("2026-01-02 03:04:05", "2026-01-02T03:04:05", "2026-01-02", 0)
        out_of_range = (
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00+01:00",
            "2026-02-30T00:00:00Z",
            "2026-01-02T24:00:00Z",
        )
        for value in malformed + out_of_range:
            with self.subTest(value=value):
                document = example("order")
                document["created_at"] = value
                error = self.assertFails("order", document, "$.created_at")
                if value in out_of_range:
                    self.assertEqual(error.reason, "time out of range")
        document = example("shipment.event")
        document["estimated_delivery"] = "9999-12-31T23:59:59-14:00"
        self.assertFails(
            "shipment.event", document, "$.estimated_delivery", "time out of range"
        )

    def test_good_times(self):
        for value in (
            "2026-01-02T03:04:05Z",
            "2026-01-02T03:04:05.123456+05:30",
            "9999-12-31T23:59:59+14:00",
            "0001-01-01T00:00:00-01:00",
        ):
            with self.subTest(value=value):
                document = example("order")
                document["created_at"] = value
                canonical.validate("order", document)
        document = example("shipment.event")
        document["estimated_delivery"] = None
        canonical.validate("shipment.event", document)

    def test_identifiers(self):
        for value, reason in (("", "must not be empty"), ("x" * 256, None), (42, None)):
            with self.subTest(value=value):
                document = example("order")
                document["external_id"] = value
                self.assertFails("order", document, "$.external_id", reason)
        document = example("order")
        document["external_id"] = "x" * 255
        document["lines"][0]["sku"] = None
        canonical.validate("order", document)

    def test_quantities(self):
        for value in (0, -1, True, "1"):
            with self.subTest(value=value):
                document = example("order")
                document["lines"][0]["quantity"] = value
                self.assertFails("order", document, "$.lines[0].quantity")
        document = example("order")
        document["lines"][0]["quantity"] = 1.5
        canonical.validate("order", document)
        document = example("refund")
        document["lines"][0]["quantity"] = 0
        canonical.validate("refund", document)
        document["lines"][0]["quantity"] = -1
        self.assertFails("refund", document, "$.lines[0].quantity")
        document = example("fulfillment")
        document["lines"][1]["quantity"] = 0
        self.assertFails("fulfillment", document, "$.lines[1].quantity")

    def test_other_formats(self):
        document = example("order")
        document["shipping_address"]["country_code"] = "fr"
        self.assertFails("order", document, "$.shipping_address.country_code")
        document = example("order")
        document["lines"][0]["taxes"][0]["rate"] = "7,25"
        self.assertFails("order", document, "$.lines[0].taxes[0].rate")
        document = example("order")
        document["payment"]["status"] = "settled"
        self.assertFails("order", document, "$.payment.status")
        document = example("order")
        document["taxes_included"] = "yes"
        self.assertFails("order", document, "$.taxes_included", "must be true or false")
        document = example("inventory.level")
        document["available"] = 1.5
        self.assertFails("inventory.level", document, "$.available")
        document = example("shipment.event")
        document["status"] = "lost"
        self.assertFails("shipment.event", document, "$.status")
        self.assertFails("order", ["not", "an", "object"], "$", "must be an object")

    def test_reason_never_holds_the_value(self):
        document = example("order")
        document["customer"]["email"] = {"secret": "jane@example.com"}
        error = self.assertFails("order", document, "$.customer.email")
        self.assertNotIn("jane", str(error))


class TestUnknownKeys(CanonicalCase):
    def test_unknown_keys_move_to_extra(self):
        document = example("order")
        document["source"] = "web"
        document["extra"] = {"campaign": "spring", "source": "kept"}
        document["lines"][0]["gift_wrap"] = True
        document["customer"]["loyalty_tier"] = "gold"
        original = copy.deepcopy(document)

        result = canonical.validate("order", document)

        self.assertEqual(document, original)  # the input is left alone
        self.assertNotIn("source", result)
        # what the sender put in extra wins over a same-named unknown key
        self.assertEqual(result["extra"], {"source": "kept", "campaign": "spring"})
        self.assertNotIn("gift_wrap", result["lines"][0])
        self.assertEqual(result["lines"][0]["extra"], {"gift_wrap": True})
        # only the document and its lines are normalised
        self.assertEqual(result["customer"]["loyalty_tier"], "gold")

    def test_known_document_is_returned_as_a_copy(self):
        document = example("order")
        result = canonical.validate("order", document)
        self.assertEqual(result, document)
        self.assertIsNot(result, document)
        self.assertIsNot(result["lines"][0], document["lines"][0])

    def test_lines_are_unknown_where_the_kind_has_none(self):
        document = example("order.cancellation")
        document["lines"] = [{"external_id": "1"}]
        result = canonical.validate("order.cancellation", document)
        self.assertEqual(result["extra"], {"lines": [{"external_id": "1"}]})

    def test_extra_must_be_an_object(self):
        document = example("refund")
        document["lines"][0]["extra"] = "restocked"
        self.assertFails("refund", document, "$.lines[0].extra", "must be an object")


class TestVersions(CanonicalCase):
    def test_minor_versions_are_accepted(self):
        for value in ("1.0", "1.3", "1.12"):
            with self.subTest(value=value):
                document = example("payment")
                document["schema_version"] = value
                canonical.validate("payment", document)
        document = example("payment")
        del document["schema_version"]
        canonical.validate("payment", document)

    def test_other_majors_are_refused(self):
        for kind in canonical.KINDS:
            for value in ("2.0", "0.9", "1", "v1.0", 1.0):
                with self.subTest(kind=kind, value=value):
                    document = example(kind)
                    document["schema_version"] = value
                    self.assertFails(kind, document, "$.schema_version")


class TestFirstFailure(CanonicalCase):
    def test_first_path_in_document_order(self):
        document = example("order")
        document["totals"]["total"] = 10.5
        document["lines"][0]["unit_price"] = 19.99
        self.assertFails("order", document, "$.lines[0].unit_price")

    def test_missing_property_sorts_at_its_own_path(self):
        document = example("order")
        del document["name"]
        document["currency"] = "usd"
        self.assertFails("order", document, "$.currency")
        document["currency"] = "USD"
        document["totals"]["total"] = 1
        self.assertFails("order", document, "$.name", "required")

    def test_indexes_compare_as_numbers(self):
        document = example("order")
        line = document["lines"][0]
        document["lines"] = [copy.deepcopy(line) for _index in range(11)]
        document["lines"][10]["quantity"] = 0
        document["lines"][2]["quantity"] = 0
        self.assertFails("order", document, "$.lines[2].quantity")


class TestHelpers(CanonicalCase):
    def test_to_decimal(self):
        self.assertEqual(canonical.to_decimal("19.99"), Decimal("19.99"))
        self.assertEqual(canonical.to_decimal("-5"), Decimal("-5"))
        for junk in (19.99, 5, None, "abc", "1e3", "", "NaN"):
            with self.subTest(value=junk):
                with self.assertRaises(canonical.CanonicalError) as caught:
                    canonical.to_decimal(junk)
                self.assertEqual(caught.exception.path, "$")

    def test_parse_time(self):
        self.assertEqual(
            canonical.parse_time("2026-01-02T03:04:05Z"), datetime(2026, 1, 2, 3, 4, 5)
        )
        self.assertEqual(
            canonical.parse_time("2026-01-02T03:04:05.5+02:00"),
            datetime(2026, 1, 2, 1, 4, 5, 500000),
        )
        self.assertIsNone(canonical.parse_time(None))
        for junk, reason in (
            ("2026-01-02T03:04:05", None),
            ("9999-12-31T23:59:59-14:00", "time out of range"),
        ):
            with self.subTest(value=junk):
                with self.assertRaises(canonical.CanonicalError) as caught:
                    canonical.parse_time(junk)
                self.assertEqual(caught.exception.path, "$")
                if reason:
                    self.assertEqual(caught.exception.reason, reason)

    def test_error(self):
        error = canonical.CanonicalError("$.lines[0].unit_price", "float amount")
        self.assertIsInstance(error, ValueError)
        self.assertEqual(error.path, "$.lines[0].unit_price")
        self.assertEqual(error.reason, "float amount")
        self.assertEqual(str(error), "$.lines[0].unit_price: float amount")
