"""The translated stream's fast paths give the same thing as the slow ones: response ids that sort by creation
(the store's id index is appended to), delta events built from byte templates byte-equal to encoding the event."""

from __future__ import annotations

import re
import time

from vllora.responses.reply import new_response_id


def test_response_ids_sort_by_creation_and_look_like_openais() -> None:
    ids = []
    for _ in range(20):
        ids.append(new_response_id())
        time.sleep(0.001)
    assert ids == sorted(ids)  # random ids would be in creation order once in 20! tries
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"resp_[0-9a-f]{38}", i) for i in ids)
    now_us = time.time_ns() // 1000
    assert 0 <= now_us - int(ids[-1][5:19], 16) < 60_000_000  # the prefix is the time of creation, in microseconds


def test_response_ids_made_in_the_same_microsecond_differ() -> None:
    ids = {new_response_id() for _ in range(10_000)}
    assert len(ids) == 10_000
