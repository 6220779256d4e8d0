"""Stored responses on both real databases (migration 12): save, get, conversation chains, input items, delete, retention.

Each scenario runs twice: reading rows still pending (written behind the request) and rows already written.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from vllora.responses.store import ResponseStore
from vllora.store import open_store


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: Any, tmp_path: Any) -> Any:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vllora.db'}"
    else:
        import psycopg

        base = request.getfixturevalue("postgres_url")
        name = "r_" + uuid.uuid4().hex[:12]
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        url = base.rsplit("/", 1)[0] + "/" + name
    db = open_store(url)
    await db.start()
    yield db
    await db.aclose()


def response(rid: str, previous: str | None, text: str) -> dict[str, Any]:
    return {"id": rid, "object": "response", "previous_response_id": previous,
            "output": [{"id": f"msg_{rid}", "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}]}


def user(text: str) -> dict[str, Any]:
    return {"id": f"msg_in_{text}", "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


@pytest.mark.parametrize("written", [False, True])
async def test_chain_input_items_delete(store: Any, written: bool) -> None:
    rs = ResponseStore(store)
    rs.save(response("resp_a", None, "A"), [user("1")])
    rs.save(response("resp_b", "resp_a", "B"), [user("2")], native_provider="openai")
    if written:
        await rs.flush()
    rs.save(response("resp_c", "resp_b", "C"), [user("3")])  # the newest turn may still be pending
    if written:
        await rs.flush()
        assert not rs.pending
    else:
        assert set(rs.pending) == {"resp_a", "resp_b", "resp_c"}
    assert (await rs.get("resp_b"))["output"][0]["content"][0]["text"] == "B"
    assert await rs.native_provider("resp_b") == (True, "openai")
    assert await rs.native_provider("resp_a") == (True, None)
    assert await rs.native_provider("resp_zzz") == (False, None)
    conversation = await rs.conversation("resp_c")
    assert [i["id"] for i in conversation] == ["msg_in_1", "msg_resp_a", "msg_in_2", "msg_resp_b", "msg_in_3", "msg_resp_c"]
    assert [i["id"] for i in await rs.input_items("resp_c")] == ["msg_in_1", "msg_resp_a", "msg_in_2", "msg_resp_b", "msg_in_3"]
    assert await rs.conversation("resp_zzz") is None and await rs.input_items("resp_zzz") is None
    assert await rs.delete("resp_a") is True and await rs.delete("resp_a") is False
    assert await rs.get("resp_a") is None
    await rs.flush()
    assert await rs.get("resp_a") is None and (await rs.get("resp_b"))["id"] == "resp_b"
    # the chain is cut where a response was deleted: later turns still work
    assert [i["id"] for i in await rs.conversation("resp_c")] == ["msg_in_2", "msg_resp_b", "msg_in_3", "msg_resp_c"]


async def test_retention(store: Any) -> None:
    now = [1_000_000.0]
    rs = ResponseStore(store, retention_days=1, clock=lambda: now[0])
    rs.save(response("resp_old", None, "old"), [user("1")])
    await rs.flush()
    now[0] += 86400 + 1
    assert await rs.get("resp_old") is None  # past the retention: not served even before it is purged
    rs._purged_at = 0.0
    rs.save(response("resp_new", None, "new"), [user("2")])  # writing purges old rows
    await rs.flush()
    count = await store.run(lambda c: c.fetchone("SELECT COUNT(*) FROM responses"))
    assert count[0] == 1
    assert (await rs.get("resp_new"))["id"] == "resp_new"


async def test_a_database_that_fails_drops_rows_without_breaking(store: Any) -> None:
    rs = ResponseStore(store)
    await store.aclose()  # every write now fails
    rs.save(response("resp_x", None, "x"), [user("1")])
    assert (await rs.get("resp_x"))["id"] == "resp_x"  # served from pending meanwhile
    await rs.flush()
    assert not rs.pending


class Counting:
    """The real store, counting units of work (transactions)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.runs = 0

    async def run(self, fn: Any) -> Any:
        self.runs += 1
        return await self.inner.run(fn)


async def test_many_responses_saved_together_are_written_in_one_transaction(store: Any) -> None:
    counting = Counting(store)
    rs = ResponseStore(counting)
    for i in range(150):  # more than one statement's worth of rows (ROWS_PER_STATEMENT), an upsert among them
        rs.save(response(f"resp_{i}", None, str(i)), [user(str(i))])
    rs.save(response("resp_7", None, "seven again"), [user("7")])
    await rs.flush()
    assert counting.runs == 1 and not rs.pending
    assert (await rs.get("resp_149"))["output"][0]["content"][0]["text"] == "149"
    assert (await rs.get("resp_7"))["output"][0]["content"][0]["text"] == "seven again"
    assert len(await rs.input_items("resp_0")) == 1
