"""Fault injection: what the client, the page walk and the export do when the network lies.

Every row is checked exactly against the fake server's own record of what it answered
(`fake.requests`, `fake.dataset`) or against an oracle; `MATRIX` below lists the tests of each
row and `test_the_matrix_names_every_fault_test` keeps that list honest. The rows' tests live in
the modules of `ROWS` (`test_faults_*.py`), their shared helpers in `fault_helpers`.

| # | Fault injected                                   | Asserted outcome                         |
|---|--------------------------------------------------|------------------------------------------|
| 1 | 10,000-user export (`show_disabled`) under 30 %  | the file holds exactly the 10,000 user   |
|   | random 429s without `Retry-After`; the same with | ids, each once, rows equal to the        |
|   | `Retry-After: 0`; four bursts of three 503s;     | dataset; `complete`, 0 duplicates, 0     |
|   | 40 % random dropped connections                  | drift, 50 pages; each of pages 1..51     |
|   |                                                  | answered 200 exactly once; `retries` > 0 |
|   |                                                  | and equal to the faults the server sent  |
|   |                                                  | (drops: by the aiohttp-retry identity);  |
|   |                                                  | `Retry-After` reached the policy (0.0 /  |
|   |                                                  | None)                                    |
|   | a 429 / 503 with `Retry-After: 30` while two     | nothing else is sent during the pause    |
|   | more GETs wait for the client's only slot        | [FAILS: library bug A]                   |
| 2 | count lying by +7, -25, -10,000 (export and      | walk ends; every visible user once;      |
|   | walk); page 3 emptied mid-walk by deletes;       | drift == -offset (clipped at a count of  |
|   | inserts and deletes on every page request        | 0); emptied page: 20 rows, drift 20 - N; |
|   | (sequential walk and export: exact;              | inserts/deletes: ids, duplicates and     |
|   | concurrent walk: invariants)                     | drift equal an offset-paging oracle      |
|   |                                                  | (= +1 duplicate per insert, -1 per       |
|   |                                                  | delete); concurrent: no duplicate, drift |
|   |                                                  | = records - reported count               |
| 3 | page 5 of an export answered with invalid JSON,  | ExportError whose cause is               |
|   | a half JSON body, an HTML 200 page, a body cut   | ResponseValidationError (status 200) /   |
|   | on the wire, HTML 502s past the retries, no      | APIConnectionError (sent, 3 attempts) /  |
|   | answer within the timeout; a plain GET timing    | ServerError 502 with the nginx page /    |
|   | out against `latency`; a GET cut once, retried   | APITimeoutError; file = exactly the 40   |
|   |                                                  | rows of pages 1-4, whole lines;          |
|   |                                                  | `complete=False`                         |
|   | page 5 a 200 JSON object that is not an envelope | ResponseValidationError, 40 whole rows   |
|   |                                                  | [FAILS: library bug B]                   |
|   | page 2 a real envelope without `meta`            | all records, or a typed error; never a   |
|   |                                                  | silent gap [FAILS: library bug B]        |
|   | one nested include branch 404s while another is  | ExportError(NotFoundError); no SDK task  |
|   | in flight                                        | left running [FAILS: library bug C]      |
| 4 | POST workweek_memberships whose answer is lost   | APIConnectionError(request_sent=True)    |
|   | after the server wrote it (TCP proxy); the same  | saying the write may have happened;      |
|   | POST dropped by the fake before the write        | exactly one POST reached the server; the |
|   |                                                  | membership exists in `fake.dataset` once |
|   |                                                  | (lost answer) / not at all (dropped)     |
| 5 | export task cancelled after 2+ pages: mid-walk,  | CancelledError (promptly); no            |
|   | mid-walk with nested includes, and while the     | kantata_async task left; whole lines =   |
|   | client waits out a 60 s `Retry-After`            | `summary.records`, `complete=False`; the |
|   |                                                  | session closed after `async with`; the   |
|   |                                                  | client still works after a mid-walk      |
|   |                                                  | cancel                                   |
| 6 | Hypothesis: versions of 3 memberships in random  | each field = the value of the newest     |
|   | pages (partial fields, duplicates, re-merged     | version (by updated_at) that carried it; |
|   | pages, sideloads, stubs, any order, reads in     | never-carried fields stay absent;        |
|   | between)                                         | updated_at = newest; `user` link follows |
|   |                                                  | the winning user_id                      |

Library bugs these tests expose (they fail until fixed):

- A: `Transport.request` waits out the client-wide pause before taking a concurrency slot,
  never after, so requests already queued for a slot go out during a 429/503 pause.
- B: `ListRequest.pages` drops a 200 page whose body is a JSON object it cannot read as a list
  envelope (no `results` list or no `meta` object): `_build` does not raise for it, so the page
  is skipped, its records are lost and the export still reports `complete=True`.
- C: `load_nested` / `_load_level` run include branches and id chunks with a bare
  `asyncio.gather`: when one fails, the others keep running after the error was raised.
"""

from __future__ import annotations

from collections.abc import Iterator

import test_faults_big_export
import test_faults_broken_answers
import test_faults_interrupted
import test_faults_merge_order
import test_faults_paging

# The modules holding the rows' tests, in row order.
ROWS = (
    test_faults_big_export,
    test_faults_paging,
    test_faults_broken_answers,
    test_faults_interrupted,
    test_faults_merge_order,
)


# == the matrix ===============================================================================

MATRIX: dict[int, tuple[str, list[str]]] = {
    1: (
        "10,000-user export under 429s (with and without Retry-After), 503 bursts, drops",
        [
            "test_10k_export_under_30_percent_429s",
            "test_10k_export_through_503_bursts",
            "test_10k_export_through_dropped_connections",
            "test_a_pause_holds_requests_already_waiting_for_a_slot",
        ],
    ),
    2: (
        "lying counts, a page emptied mid-walk, inserts and deletes during the walk",
        [
            "test_a_lying_count_in_an_export",
            "test_a_lying_count_in_a_walk",
            "test_a_page_emptied_mid_walk_ends_it",
            "test_inserts_and_deletes_during_a_sequential_walk_match_offset_paging",
            "test_inserts_and_deletes_during_a_concurrent_walk",
        ],
    ),
    3: (
        "malformed, truncated, HTML, cut, 502 and timed-out answers: typed errors, whole lines",
        [
            "test_a_broken_page_stops_the_export_with_whole_lines",
            "test_a_slow_answer_is_a_timeout_error",
            "test_a_body_cut_on_the_wire_is_retried_for_a_get",
            "test_a_page_without_meta_loses_no_record",
            "test_a_failed_nested_include_leaves_no_task_running",
        ],
    ),
    4: (
        "a POST whose connection drops after sending: one POST, not retried, may have happened",
        ["test_a_post_whose_connection_drops_is_not_retried"],
    ),
    5: (
        "a cancelled export: no task left, session closed, whole lines",
        ["test_cancelling_an_export_midway"],
    ),
    6: (
        "Hypothesis: any pages, any order: each field from the newest payload carrying it",
        ["test_merged_pages_keep_the_newest_value_of_each_field"],
    ),
}


def _fault_tests() -> Iterator[str]:
    for module in ROWS:
        for name in vars(module):
            if name.startswith("test_"):
                yield name


def test_the_matrix_names_every_fault_test() -> None:
    listed = [name for _, names in MATRIX.values() for name in names]
    assert sorted(MATRIX) == [1, 2, 3, 4, 5, 6]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(_fault_tests())
    for row in MATRIX:
        assert f"| {row} |" in (__doc__ or "")
