"""Masking of personal data in message payloads shown to non-managers.

A path is a dot-separated list of keys; ``*`` matches any key and list items are
walked through transparently. A path of a single key (``email``) matches that key
at any depth, which covers the usual provider payloads without configuration.
"""

import copy

MASK = "***"
DEFAULT_MASKED_PATHS = ("email", "phone", "addresses")


def parse_paths(text):
    """Turn the backend's configuration (one path per line or comma) into tuples."""
    paths = []
    for chunk in (text or "").replace(",", "\n").splitlines():
        chunk = chunk.strip().lstrip("$").strip(".")
        if chunk:
            paths.append(tuple(part for part in chunk.split(".") if part))
    return [path for path in paths if path]


def mask_payload(payload, paths, mask=MASK):
    """Return a copy of ``payload`` where the values at ``paths`` are ``mask``."""
    if not paths or payload is None:
        return payload
    result = copy.deepcopy(payload)
    for path in paths:
        if len(path) == 1:
            _mask_key_anywhere(result, path[0], mask)
        else:
            _mask_path(result, path, mask)
    return result


def _mask_key_anywhere(node, key, mask):
    if isinstance(node, dict):
        for name in node:
            if name == key or key == "*":
                node[name] = mask
            else:
                _mask_key_anywhere(node[name], key, mask)
    elif isinstance(node, list):
        for item in node:
            _mask_key_anywhere(item, key, mask)


def _mask_path(node, path, mask):
    if isinstance(node, list):
        for item in node:
            _mask_path(item, path, mask)
        return
    if not isinstance(node, dict) or not path:
        return
    head, rest = path[0], path[1:]
    for name in list(node):
        if head not in ("*", name):
            continue
        if rest:
            _mask_path(node[name], rest, mask)
        else:
            node[name] = mask
