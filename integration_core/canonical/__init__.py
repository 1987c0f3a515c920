"""Canonical commerce documents: what every channel maps its data to.

Plain Python without the ORM (importable as ``canonical`` too). Each kind has a
JSON Schema in ``schemas/`` (Draft 2020-12, shared definitions in
``common.json``); :func:`validate` checks a document against it, plus what a
schema cannot say, and returns it normalised. See readme/CANONICAL.md.
"""

import copy
import functools
import json
import pathlib
import re
from datetime import UTC, datetime
from decimal import Decimal

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.validators import extend
from referencing import Registry
from referencing.jsonschema import DRAFT202012

KINDS = (
    "order",
    "order.cancellation",
    "refund",
    "payment",
    "shipment.event",
    "inventory.level",
    "fulfillment",
)
SCHEMA_VERSION = "1.0"

_SCHEMA_DIR = pathlib.Path(__file__).resolve().parent / "schemas"
_COMMON = "common"
_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TYPE_NAMES = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


class CanonicalError(ValueError):
    """A document breaks its schema at ``path`` (``$.lines[0].unit_price``)."""

    def __init__(self, path, reason):
        super().__init__(path, reason)
        self.path = path
        self.reason = reason

    def __str__(self):
        return f"{self.path}: {self.reason}"


@functools.cache
def _regex(pattern):
    # JSON Schema patterns are ECMA-262, where "$" is the end of the text; in
    # Python it also matches before a final newline ("USD\n" would pass)
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _regex(pattern).search(instance):
        yield ValidationError(f"does not match {pattern!r}")


_Validator = extend(Draft202012Validator, {"pattern": _pattern})


@functools.cache
def _load_all():
    schemas = {}
    for name in (_COMMON, *KINDS):
        with open(_SCHEMA_DIR / f"{name}.json", encoding="utf-8") as schema_file:
            schemas[name] = json.load(schema_file)
    return schemas


@functools.cache
def _registry():
    # every schema is a local resource: a $ref is never fetched from anywhere
    return Registry().with_resources(
        (contents["$id"], DRAFT202012.create_resource(contents))
        for contents in _load_all().values()
    )


def _time_pattern():
    return _regex(_load_all()[_COMMON]["$defs"]["time"]["pattern"])


def _to_utc(text):
    """Naive UTC datetime of a time matching the pattern, None when out of range."""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None


_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time")
def _is_time_in_range(instance):
    # the pattern reports malformed times; this catches the well-formed ones no
    # datetime can hold (February 30th, 9999-12-31T23:59:59-14:00)
    if not isinstance(instance, str) or not _time_pattern().search(instance):
        return True
    return _to_utc(instance) is not None


def schema(kind):
    """The JSON Schema of ``kind`` (cached: do not modify it).

    :raises KeyError: unknown kind
    """
    if kind not in KINDS:
        raise KeyError(kind)
    return _load_all()[kind]


@functools.cache
def _schemas_by_id():
    return {contents["$id"]: contents for contents in _load_all().values()}


def _inlined(node, base_uri):
    """``node`` with each ``$ref`` replaced by the subschema it points to (its
    own annotations kept): the same checks, without resolving references on
    every validation, which took half of an order's. No schema is recursive."""
    if isinstance(node, list):
        return [_inlined(item, base_uri) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" not in node:
        return {key: _inlined(value, base_uri) for key, value in node.items()}
    uri, _sep, pointer = node["$ref"].partition("#")
    uri = uri or base_uri
    target = _schemas_by_id()[uri]
    for part in pointer.split("/")[1:]:
        target = target[part.replace("~1", "/").replace("~0", "~")]
    annotations = {key: value for key, value in node.items() if key != "$ref"}
    return {**annotations, **_inlined(target, uri)}


@functools.cache
def _validator(kind):
    document_schema = schema(kind)
    return _Validator(
        _inlined(document_schema, document_schema["$id"]),
        registry=_registry(),
        format_checker=_FORMATS,
    )


def _resolve(kind, subschema):
    if "$ref" not in subschema:
        return subschema
    resolver = _registry().resolver(base_uri=schema(kind)["$id"])
    return resolver.lookup(subschema["$ref"]).contents


@functools.cache
def _known_keys(kind):
    """Property names of the document and of its lines (None: no lines)."""
    properties = schema(kind)["properties"]
    lines = properties.get("lines")
    line_keys = None
    if lines is not None:
        line_keys = frozenset(_resolve(kind, lines["items"])["properties"])
    return frozenset(properties), line_keys


def _json_path(parts):
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _SIMPLE_KEY.fullmatch(part):
            path += f".{part}"
        else:
            path += f"[{json.dumps(part)}]"
    return path


def _order_key(parts):
    # array indexes and keys never share a level, the rank only keeps
    # comparisons between int and str from raising
    return [(0, part) if isinstance(part, int) else (1, part) for part in parts]


def _reason(error):
    """Short text for a failure, without the value (it may be personal data)."""
    keyword, expected = error.validator, error.validator_value
    sub = error.schema if isinstance(error.schema, dict) else {}
    title = sub.get("title")
    if keyword == "type":
        number = not isinstance(error.instance, bool) and isinstance(
            error.instance, int | float
        )
        if title == "money amount" and number:
            return 'float amount: money is a decimal string such as "19.99"'
        types = [expected] if isinstance(expected, str) else expected
        return "must be " + " or ".join(_TYPE_NAMES.get(t, t) for t in types)
    if keyword == "pattern":
        if not title:
            return "does not have the expected form"
        examples = sub.get("examples")
        return f'not a {title}, e.g. "{examples[0]}"' if examples else f"not a {title}"
    if keyword == "format":
        return "time out of range"
    if keyword == "enum":
        return "not one of " + ", ".join(str(value) for value in expected)
    if keyword == "minLength":
        return "must not be empty"
    if keyword == "maxLength":
        return f"longer than {expected} characters"
    if keyword == "exclusiveMinimum":
        return f"must be greater than {expected}"
    if keyword == "minimum":
        return f"must be at least {expected}"
    if keyword == "minItems":
        return f"needs at least {expected} item" + ("s" if expected != 1 else "")
    if keyword == "anyOf" and all(set(option) == {"required"} for option in expected):
        names = [name for option in expected for name in option["required"]]
        return f"needs {', '.join(names[:-1])} or {names[-1]}"
    return f"breaks the schema's {keyword} rule"


def _first_failure(errors):
    """(path, reason) of the failure first in document order, or None."""
    failures = []
    for error in errors:
        parts = list(error.absolute_path)
        if error.validator == "required":
            failures.extend(
                (parts + [name], "required")
                for name in error.validator_value
                if name not in error.instance
            )
        else:
            failures.append((parts, _reason(error)))
    if not failures:
        return None
    parts, reason = min(failures, key=lambda failure: _order_key(failure[0]))
    return _json_path(parts), reason


def _move_unknown(obj, known):
    unknown = [key for key in obj if key not in known]
    if unknown:
        moved = {key: obj.pop(key) for key in unknown}
        # what the sender put in extra itself wins over a same-named unknown key
        obj["extra"] = {**moved, **obj.get("extra", {})}


def validate(kind, document):
    """A normalised copy of ``document``, a ``kind`` canonical document.

    Unknown keys of the document and of each of its ``lines`` are moved into that
    object's ``extra``, so importers only meet known keys.

    :raises KeyError: unknown kind
    :raises CanonicalError: for the failing path first in document order (paths
        compared part by part; a missing property's path is where it belongs)
    """
    failure = _first_failure(_validator(kind).iter_errors(document))
    if failure:
        raise CanonicalError(*failure)
    normalised = copy.deepcopy(document)
    keys, line_keys = _known_keys(kind)
    _move_unknown(normalised, keys)
    if line_keys is not None:
        for line in normalised.get("lines", ()):
            _move_unknown(line, line_keys)
    return normalised


def to_decimal(value):
    """Decimal of a canonical money string (``"19.99"``); never from a float.

    :raises CanonicalError: ``value`` is not a money string
    """
    money = _load_all()[_COMMON]["$defs"]["money"]
    if isinstance(value, str) and _regex(money["pattern"]).search(value):
        return Decimal(value)
    raise CanonicalError("$", 'not a money amount, e.g. "19.99"')


def parse_time(value):
    """Naive UTC datetime (Odoo's convention) of a canonical time, None for None.

    :raises CanonicalError: ``value`` is not a canonical time, or is out of range
    """
    if value is None:
        return None
    if not isinstance(value, str) or not _time_pattern().search(value):
        raise CanonicalError("$", 'not a time, e.g. "2026-01-02T03:04:05Z"')
    moment = _to_utc(value)
    if moment is None:
        raise CanonicalError("$", "time out of range")
    return moment
