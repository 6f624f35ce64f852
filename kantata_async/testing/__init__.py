"""Test support that ships with kantata_async: a fake Kantata server and its seeded dataset.

`FakeKantata` is a real aiohttp server on 127.0.0.1 that answers like the Kantata OX API v1
(envelopes, includes, pagination, every list collection with its documented filters, orders
and writes, errors), for testing code that talks to Kantata
without the network. What it does not model it refuses with a 501 naming it, never ignores:

    from kantata_async.testing import FakeKantata

    async with FakeKantata(users=500, seed=7) as fake:
        ...  # point the client under test at fake.base_url with fake.token
        assert fake.requests[0].path == "users"

Knobs script what a real deployment does to clients: `latency`, `fail_next` (429 with
`Retry-After`, 503, 502 HTML pages, ...), `drop_next` (connections closed without an answer),
`malformed_next` (invalid, truncated or HTML bodies), `random_faults`, `count_offset` (a
reported count that lies), `rate_limit` (a token bucket answering 429 past it, as Kantata
does), `on_request` (change the data while a client walks the pages) and `ignore_unmodelled`
(ignore, rather than refuse, what the fake does not model).
`python -m kantata_async.testing --users 10000` runs one on its own.

`Dataset(users=500, seed=7)` generates the deterministic account the server answers from
(users of two accounts, account memberships, roles, managers, skills with levels, workweeks
and workweek memberships, projects and participation, contacts, geographies and departments,
custom fields and values, external references, timesheet submissions, and records for every
other collection, linked consistently), dated relative
to its clock, and renders response envelopes from it exactly as the API shapes them.

What each collection serves (fields, includes, filters, orders, routes) is declared once, in
`_collections.py`, from Kantata's API facts shipped in `kantata_async/testing/facts/`.

`FakeKantataProcess(users=10_000, latency=0.05)` runs the same server in a child process (a
context manager exposing `base_url` and `token`), so that its CPU does not compete with the
client under test: the demo and the benchmarks use it.
"""

from ._dataset import INCLUDES, Dataset, Include
from ._process import FakeKantataProcess
from ._recording import RecordedRequest, UploadedFile
from ._server import FakeKantata

__all__ = [
    "INCLUDES",
    "Dataset",
    "FakeKantata",
    "FakeKantataProcess",
    "Include",
    "RecordedRequest",
    "UploadedFile",
]
