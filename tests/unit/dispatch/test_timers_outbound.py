"""Timers (store-backed, claimed once) and the outbound caller's host rule and journal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mockserver.dispatch import Outbound, OutboundRequest, OutboundResult, Timers
from mockserver.journal import Journal
from mockserver.store import MemoryStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_timers_fire_in_due_order_and_only_once() -> None:
    store = MemoryStore()
    timers = Timers(store, "sap")
    timers.add(T0 + timedelta(seconds=5), "b")
    timers.add(T0 + timedelta(seconds=1), "a", n=1)
    timers.add(T0 + timedelta(seconds=5), "c")
    assert timers.next_due() == T0 + timedelta(seconds=1)
    assert [t.kind for t in timers.claim_due(T0)] == []
    assert [t.kind for t in timers.claim_due(T0 + timedelta(seconds=5))] == ["a", "b", "c"]
    assert Timers(store, "sap").claim_due(T0 + timedelta(days=1)) == []
    store.reset("sap:")
    assert timers.next_due() is None


def test_cancel_drops_matching_timers() -> None:
    timers = Timers(MemoryStore(), "bullmq")
    timers.add(T0, "deadline", job_id="1")
    timers.add(T0, "deadline", job_id="2")
    assert timers.cancel("deadline", job_id="1") == 1
    assert [t.args["job_id"] for t in timers.pending()] == ["2"]


@pytest.mark.parametrize(("url", "allowed"), [
    ("http://127.0.0.1:9/x", True), ("https://localhost/x", True), ("http://[::1]:80/", True),
    ("http://example.com/", False), ("ftp://127.0.0.1/", False), ("file:///etc/passwd", False),
])
def test_only_allowed_hosts_are_called(url: str, allowed: bool) -> None:
    outbound = Outbound(Journal(10), ("127.0.0.1", "localhost", "::1"))
    assert outbound.allows(url) is allowed
    assert Outbound(Journal(10), ("*",)).allows(url) is url.startswith("http")


def test_an_unreachable_call_is_journaled_with_its_outcome() -> None:
    journal = Journal(10)
    outbound = Outbound(journal)
    results: list[OutboundResult] = []
    outbound.send(OutboundRequest("nimble", "probe", "POST", "http://127.0.0.1:9/x", 1.0,
                                  {"Authorization": "Bearer s3cret"}, {"a": 1}), results.append)
    assert outbound.settle(10)
    (result,) = results
    assert result.status is None and result.outcome.startswith("unreachable")
    (entry,) = journal.entries()
    assert (entry.direction, entry.status, entry.request_body) == ("outbound", 0, '{"a": 1}')
    assert entry.request_headers["Authorization"] == "***"
    outbound.close()
