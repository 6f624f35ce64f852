"""No request a client can send gets a 500: Kantata's own API description, run against the fake.

Hypothesis draws operations from the facts that ship with the package (every documented
route, served or not), fills their path with ids and junk, adds documented and undocumented
query parameters in every form Rails reads (`a=1`, `a[]=1`, `a[b]=1`), and sends bodies of
any content type. Whatever it draws, the answer is a JSON API error or a success, never a
500, and the server logs no failure.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from threaded import serve_in_thread

from kantata_async.testing import FakeKantata


def _operations() -> list[dict[str, Any]]:
    folder = resources.files("kantata_async.testing").joinpath("facts")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            out += json.loads(entry.read_text())["operations"]
    return out


OPERATIONS = _operations()
SEEDS = [op for op in OPERATIONS if op["path"].split("/")[1] in ("users", "workweek_memberships")]
PAGING = ["only", "include", "order", "page", "per_page", "limit", "offset", "optional_fields"]

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
values = st.one_of(
    texts,
    st.sampled_from(["", "true", "false", "1", "0", "TRUE", "null", "-1", "9" * 30]),
    st.integers(-(10**12), 10**12).map(str),
    st.dates().map(str),
    st.sampled_from(["12:3", "(1:2):(3:4)", "1:blank", "1::2024-01-01", "2;5", "3:2024-01-01:x"]),
    st.sampled_from(["{'1':[3],'operation':'or'}", "{", "[]", "1:2020-01-01:2020-02-01"]),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, list[tuple[str, str]], bytes, str | None]:
    op = draw(st.sampled_from(SEEDS) if draw(st.booleans()) else st.sampled_from(OPERATIONS))
    segments = []
    for segment in op["path"].strip("/").split("/"):
        if segment.startswith("{"):
            segment = draw(st.sampled_from(["1", "2", "999999", "me", "abc", "0"]))
        segments.append(segment)
    path = "/".join(segments) + draw(st.sampled_from(["", ".json"]))
    names = [*op.get("query", {}), *PAGING, "apply_default_filters", "nonsense"]
    query = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(names))
        form = draw(st.sampled_from(["plain", "plain", "array", "hash"]))
        key = {"plain": name, "array": f"{name}[]", "hash": f"{name}[x]"}[form]
        query.append((key, draw(values)))
    method = draw(st.sampled_from([op["method"], op["method"], "HEAD", "PATCH"]))
    wrapper = (op.get("body") or {}).get("wrapper") or "x"
    fields = draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "user_id",
                    "start_date",
                    "full_name",
                    "email_address",
                    "monday_minutes",
                    "external_reference",
                ]
            ),
            values,
            max_size=3,
        )
    )
    body_kind = draw(st.sampled_from(["none", "json", "json", "form", "junk"]))
    body: bytes = b""
    ctype: str | None = None
    if body_kind == "json":
        body = json.dumps({wrapper: fields} if draw(st.booleans()) else fields).encode()
        ctype = draw(st.sampled_from(["application/json", "text/plain", None]))
    elif body_kind == "form":
        body = urllib.parse.urlencode({f"{wrapper}[{k}]": v for k, v in fields.items()}).encode()
        ctype = draw(st.sampled_from(["application/x-www-form-urlencoded", None]))
    elif body_kind == "junk":
        body = draw(st.binary(max_size=40))
        ctype = draw(st.sampled_from(["application/json", "multipart/form-data; boundary=x", None]))
    return method, path, query, body, ctype


@pytest.fixture(scope="module")
def server() -> Iterator[FakeKantata]:
    with serve_in_thread(users=40, seed=8) as served:
        fake = served.fake
        yield fake


def send(
    fake: FakeKantata,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    body: bytes,
    ctype: str | None,
) -> tuple[int, bytes]:
    url = fake.base_url + urllib.parse.quote(path, safe="/.")
    if query:
        url += "?" + urllib.parse.urlencode(query)
    request = urllib.request.Request(url, data=body or None, method=method)
    request.add_header("Authorization", f"Bearer {fake.token}")
    if ctype is not None:
        request.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(request=requests())
def test_no_request_gets_a_500(server: FakeKantata, request: Any) -> None:
    method, path, query, body, ctype = request
    status, raw = send(server, method, path, query, body, ctype)
    assert status < 500 or status == 501, (status, raw[:300], request)
    # A delete answers with no body: 204, or the 200 the facts give for some collections.
    if method == "HEAD" or status == 204 or (method == "DELETE" and status == 200):
        assert raw == b""
        return
    answer = json.loads(raw)
    if status >= 400:
        assert set(answer) == {"errors"} and answer["errors"][0]["message"]
    assert all(r.status != 500 for r in server.requests if r.status is not None)
