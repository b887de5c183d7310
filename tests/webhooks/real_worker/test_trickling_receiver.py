"""A receiver trickling its answer on one client's webhook, on the Procfile's pool of 4
threads: another client's receiver still gets every event within 1 s (p99), and the trickler
never sees two requests at once."""

import json
import statistics
import threading
import time
from datetime import datetime

import pytest

from tests.webhooks.receiver import Trickle

from .support import author_headers, create_article, registered_hook

pytestmark = pytest.mark.system


def paced(count: int, per_second: float):
    """Yield `count` times, `per_second` times a second: a steady stream of events."""
    started = time.monotonic()
    for index in range(count):
        time.sleep(max(0.0, started + index / per_second - time.monotonic()))  # load pacing
        yield index


def event_latency(received) -> float:
    """Seconds from the event (its payload's timestamp, just before the commit) to arrival."""
    timestamp = json.loads(received.body)["timestamp"].replace("Z", "+00:00")
    return received.at - datetime.fromisoformat(timestamp).timestamp()


@pytest.mark.parametrize("worker", ["redis threads"], indirect=True)
def test_a_trickling_receiver_holds_one_slot_and_another_clients_events_keep_flowing(
    real_app, worker, receiver
):
    # One event of 21 late by a few hundred ms decides the p99: a machine busy with other
    # system tests does that now and then, so a second run must then meet the bound. Old main
    # met it in neither (3 of 21 events within 15 s); every other assertion holds in each run.
    for run in range(2):
        p99, bound, latencies = trickler_run(real_app, receiver, run)
        if p99 <= bound:
            break
    assert p99 <= bound, latencies


def trickler_run(real_app, receiver, run: int) -> tuple[float, float, list[float]]:
    """The honest receiver's p99 under a trickler, the bound it must meet, and its latencies."""
    articles, before = 20, 10
    stop = threading.Event()
    with registered_hook(real_app, receiver, f"honest {run}") as honest:
        headers = author_headers(real_app)
        # The same stream with no trickler first: what this machine gives right now.
        for _ in paced(before, per_second=5):
            create_article(real_app, headers=headers)
        alone = receiver.wait_for(honest.path, count=before, timeout=15)
        with registered_hook(real_app, receiver, f"trickler {run}") as trickler:
            try:
                # Every answer to the trickler comes a byte every 0.1 s: no read times out.
                receiver.script(trickler.path, *[Trickle(stop=stop) for _ in range(4 * articles)])
                create_article(real_app, headers=headers)
                receiver.wait_for(trickler.path, timeout=5)  # it trickles from here on
                for _ in paced(articles, per_second=5):
                    create_article(real_app, headers=headers)

                delivered = receiver.wait_for(honest.path, count=before + articles + 1, timeout=15)
                trickled = receiver.requests(trickler.path)
            finally:
                stop.set()

    latencies = sorted(event_latency(received) for received in delivered[before:])
    percentiles = statistics.quantiles(latencies, n=100)
    p50, p99 = percentiles[49], percentiles[98]
    slowest_alone = max(event_latency(received) for received in alone)
    print(
        f"honest receiver under a trickler: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
        f"(alone, before: at most {slowest_alone * 1000:.0f} ms)"
    )
    assert len({r.headers["webhook-id"] for r in delivered}) == before + articles + 1
    # One slot for the trickler's webhook: never two requests at once, above all not with one
    # webhook-id; each was cut at the deadline (1.5 s), not left to trickle on.
    assert receiver.overlapping(trickler.path) == []
    assert all(r.finished_at and r.finished_at - r.at < 2.5 for r in trickled)
    # 1 s, unless this machine is so loaded that the honest receiver alone came close to it.
    return p99, max(1.0, 2 * slowest_alone), latencies
