"""Prometheus text exposition (format 0.0.4) of the pipeline's figures.

Pure Python: the controller gathers rows from the database, this module turns
them into text, so the format is unit-testable without a server.
"""

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# name: (type, help)
METRICS = {
    "integration_messages": ("gauge", "Messages currently in each state."),
    "integration_queue_depth": ("gauge", "Messages waiting to be processed or sent."),
    "integration_oldest_pending_age_seconds": (
        "gauge",
        "Age of the oldest message waiting to be processed or sent.",
    ),
    "integration_attempts_total": ("counter", "Processing or sending attempts."),
    "integration_failures_total": ("counter", "Attempts that failed or went dead."),
    "integration_circuit_state": (
        "gauge",
        "Outbound circuit breaker state (1 for the current state).",
    ),
    "integration_event_deliveries": (
        "gauge",
        "Business event deliveries currently in each state, per subscriber.",
    ),
}


def escape_label(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_number(value):
    if isinstance(value, float):
        return repr(value)
    return str(int(value or 0))


def render(samples):
    """Render ``samples``: an iterable of ``(metric name, labels dict, value)``.

    Every metric of :data:`METRICS` gets its HELP and TYPE lines, even without
    samples, so dashboards keep their series names on an empty database.
    """
    by_name = {name: [] for name in METRICS}
    for name, labels, value in samples:
        by_name.setdefault(name, []).append((labels, value))
    lines = []
    for name, rows in by_name.items():
        kind, help_text = METRICS.get(name, ("gauge", name))
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in rows:
            label_text = ",".join(
                f'{key}="{escape_label(val)}"' for key, val in sorted(labels.items())
            )
            lines.append(
                f"{name}{{{label_text}}} {format_number(value)}"
                if label_text
                else f"{name} {format_number(value)}"
            )
    return "\n".join(lines) + "\n"
