"""Dashboard figures as plain data: the 24 h counts of a backend card and its
traffic chart, from ``(hour, state, count)`` rows of the message tables.

Every 24 h figure counts the same messages (received, or enqueued, in the last
24 hours) by their state now, so a card adds up:
received = done + waiting + failed + dead + ignored, and the chart's bars sum
to the card's figures.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TRAFFIC_HOURS = 24

# inbound state -> figure of the card (stat_<figure>)
INBOX_STATE_FIGURES = {
    "received": "waiting_24h",
    "queued": "waiting_24h",
    "processing": "waiting_24h",
    "done": "done_24h",
    "failed": "failed_24h",
    "dead": "dead_24h",
    "ignored": "ignored_24h",
}
INBOX_FIGURES = (
    "received_24h",
    "done_24h",
    "waiting_24h",
    "failed_24h",
    "dead_24h",
    "ignored_24h",
)
# outbound states counted apart from "enqueued" (the others wait or were
# superseded or cancelled)
OUTBOX_STATE_FIGURES = {
    "sent": "sent_24h",
    "failed": "out_failed_24h",
    "dead": "out_failed_24h",
}
OUTBOX_FIGURES = ("enqueued_24h", "sent_24h", "out_failed_24h")
# series of the traffic chart: inbound state -> series (received is the total)
TRAFFIC_SERIES = {"done": "done", "failed": "failed", "dead": "failed"}


def empty_traffic(hours=TRAFFIC_HOURS):
    """The chart's series, one value per hour, oldest first."""
    return {
        "received": [0] * hours,
        "done": [0] * hours,
        "failed": [0] * hours,
    }


def add_inbound(figures, state, count):
    """Count ``count`` inbound messages now in ``state`` into the card."""
    figures["received_24h"] += count
    figures[INBOX_STATE_FIGURES.get(state, "waiting_24h")] += count


def add_outbound(figures, state, count):
    """Count ``count`` outbound messages now in ``state`` into the card."""
    figures["enqueued_24h"] += count
    figure = OUTBOX_STATE_FIGURES.get(state)
    if figure:
        figures[figure] += count


def add_traffic(traffic, bucket, state, count):
    """Count messages received in hour ``bucket`` (0: the oldest) into the chart.

    A message received this very second can fall one past the last hour: it
    is counted in the last one.
    """
    bucket = min(max(bucket, 0), len(traffic["received"]) - 1)
    traffic["received"][bucket] += count
    series = TRAFFIC_SERIES.get(state)
    if series:
        traffic[series][bucket] += count


def hour_labels(now, hours=TRAFFIC_HOURS, tz="UTC"):
    """Local start time (``HH:MM``) of each hour of the chart, oldest first.

    :param now: naive UTC datetime the window ends at
    :param tz: the user's time zone name; unknown names count as UTC
    """
    try:
        zone = ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    start = (now - timedelta(hours=hours)).replace(tzinfo=ZoneInfo("UTC"))
    return [
        (start + timedelta(hours=index)).astimezone(zone).strftime("%H:%M")
        for index in range(hours)
    ]
