"""The Store interface, the same behaviour from every backend (memory, sqlite, redis)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from mockserver.errors import ApiError, ConfigError
from mockserver.store import Store, open_store

if TYPE_CHECKING:
    from conftest import StoreUrls


@pytest.fixture
def url(store_urls: StoreUrls) -> str:
    return store_urls.new()


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = open_store(url)
    yield opened
    opened.close()


def test_a_namespace_keeps_insertion_order_and_an_overwrite_keeps_its_place(store: Store) -> None:
    for key in "cab":
        store.put("nimble:jobs", key, {"id": key})
    store.put("nimble:jobs", "c", {"id": "c", "v": 2})
    assert [v["id"] for v in store.values("nimble:jobs")] == ["c", "a", "b"]
    assert store.get("nimble:jobs", "c") == {"id": "c", "v": 2}
    assert store.delete("nimble:jobs", "c") and not store.delete("nimble:jobs", "c")
    store.put("nimble:jobs", "c", {"id": "c"})
    assert [v["id"] for v in store.values("nimble:jobs")] == ["a", "b", "c"]
    assert store.count("nimble:jobs") == 3 and store.get("nimble:jobs", "zz") is None


def test_a_page_is_the_slice_of_the_insertion_order(store: Store) -> None:
    for n in range(25):
        store.put("sap:jobs", str(n), n)
    assert store.page("sap:jobs", 0, 10) == list(range(10))
    assert store.page("sap:jobs", 20, 10) == list(range(20, 25))
    assert store.page("sap:jobs", 30, 10) == [] and store.page("sap:jobs", 0, 0) == []


def test_values_are_copies(store: Store) -> None:
    value: dict[str, Any] = {"tags": ["a"]}
    store.put("nemo:jobs", "x", value)
    value["tags"].append("b")
    read = store.get("nemo:jobs", "x")
    read["tags"].append("c")
    assert store.get("nemo:jobs", "x") == {"tags": ["a"]}


def test_update_replaces_atomically_and_a_raising_change_writes_nothing(store: Store) -> None:
    store.put("intuned:jobs", "j", {"runs": 1})
    assert store.update("intuned:jobs", "j", lambda j: {**j, "runs": j["runs"] + 1}) == {"runs": 2}
    assert store.update("intuned:jobs", "missing", lambda j: j) is None

    def refuse(job: Any) -> Any:
        raise ApiError(409, "no")

    with pytest.raises(ApiError):
        store.update("intuned:jobs", "j", refuse)
    assert store.get("intuned:jobs", "j") == {"runs": 2}
    store.put("intuned:jobs", "k", 0)  # the store still writes after a refused change


def test_lists_append_in_order_and_slice_like_python(store: Store) -> None:
    assert [store.append("bullmq:q:logs:1", f"line {n}") for n in range(6)] == [1, 2, 3, 4, 5, 6]
    lines = [f"line {n}" for n in range(6)]
    for start, stop in [(0, None), (2, 4), (4, 2), (-2, None), (0, -1), (-3, -1), (10, 20),
                        (-100, 2), (5, 6)]:
        assert store.slice("bullmq:q:logs:1", start, stop) == lines[start:stop], (start, stop)
    assert store.length("bullmq:q:logs:1") == 6 and store.length("bullmq:q:logs:2") == 0
    store.drop_list("bullmq:q:logs:1")
    assert store.length("bullmq:q:logs:1") == 0 and store.slice("bullmq:q:logs:1", 0, None) == []


def test_counters_count_from_one(store: Store) -> None:
    assert [store.next_id("nimble:job") for _ in range(3)] == [1, 2, 3]
    assert store.next_id("nimble:run") == 1


def test_reset_forgets_exactly_the_names_under_a_prefix(store: Store) -> None:
    for api in ("sap", "sapx", "nemo"):
        store.put(f"{api}:jobs", "k", api)
        store.append(f"{api}:logs", api)
        store.next_id(f"{api}:id")
    store.reset("sap:")
    assert store.get("sap:jobs", "k") is None and store.length("sap:logs") == 0
    assert (store.count("sap:jobs"), store.count("sapx:jobs")) == (0, 1)
    assert store.next_id("sap:id") == 1
    assert store.get("sapx:jobs", "k") == "sapx" and store.length("sapx:logs") == 1
    assert store.next_id("sapx:id") == 2
    store.reset()
    assert store.dump() == {"maps": {}, "lists": {}, "counters": {}}


def test_dump_and_load_round_trip(store: Store) -> None:
    store.put("nemo:jobs", "b", {"n": 1})
    store.put("nemo:jobs", "a", {"n": 2})
    store.append("bullmq:q:logs:1", "x")
    store.next_id("sap:job")
    state = store.dump()
    assert state == {"maps": {"nemo:jobs": {"b": {"n": 1}, "a": {"n": 2}}},
                     "lists": {"bullmq:q:logs:1": ["x"]}, "counters": {"sap:job": 1}}
    store.reset()
    store.put("other:x", "k", 1)
    store.load(state)
    assert store.dump() == state
    assert (store.count("nemo:jobs"), store.count("other:x")) == (2, 0)
    assert list(store.dump()["maps"]["nemo:jobs"]) == ["b", "a"]
    store.put("nemo:jobs", "c", {})
    assert [k for k in store.dump()["maps"]["nemo:jobs"]] == ["b", "a", "c"]


def test_two_handles_on_one_shared_store_see_each_other(url: str, store_kind: str) -> None:
    if store_kind == "memory":
        pytest.skip("memory: belongs to one process, it is never shared")
    first, second = open_store(url), open_store(url)
    try:
        first.put("nimble:jobs", "job_1", {"name": "a"})
        assert second.get("nimble:jobs", "job_1") == {"name": "a"}
        assert [first.process_number(), second.process_number()] == [1, 2]
    finally:
        first.close()
        second.close()


def test_concurrent_read_modify_writes_lose_nothing(url: str) -> None:
    """Threads on two handles (two handles on one sqlite file or Redis behave as two
    processes): every increment, append and id survives."""
    handles = [open_store(url)]
    if handles[0].shared:  # type: ignore[attr-defined]
        handles.append(open_store(url))
    handles[0].put("nimble:jobs", "job_1", {"count": 0})
    ids: list[int] = []

    def work(store: Store) -> None:
        for _ in range(20):
            store.update("nimble:jobs", "job_1", lambda j: {**j, "count": j["count"] + 1})
            store.append("bullmq:q:logs:1", "line")
            ids.append(store.next_id("nimble:job"))

    threads = [threading.Thread(target=work, args=(handles[n % len(handles)],))
               for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert handles[0].get("nimble:jobs", "job_1") == {"count": 120}
        assert handles[0].length("bullmq:q:logs:1") == 120
        assert sorted(ids) == list(range(1, 121))
    finally:
        for handle in handles:
            handle.close()


@pytest.mark.parametrize("url, problem", [
    ("postgres://x", "unknown store 'postgres://x'"),
    ("sqlite:", "give a file"),
    ("sqlite:x.db?journal=delete", "unknown option(s) journal"),
    ("sqlite:x.db?synchronous=sometimes", "synchronous='sometimes'"),
    ("sqlite:/nonexistent-dir/x.db", "unable to open database file"),
    ("redis://127.0.0.1:1/0", "cannot reach Redis"),
])
def test_a_bad_store_url_is_refused_saying_why(url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(url)
    assert problem in str(caught.value)
