"""IdSet: a compact set of the ids a walk has yielded."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from kantata_async._ids import IdSet


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 10**18).map(str), st.text(max_size=6)), max_size=400))
def test_behaves_like_a_set(ids: list[str]) -> None:
    seen = IdSet()
    reference: set[str] = set()
    for i in ids:
        assert seen.add(i) is (i not in reference)
        reference.add(i)
    assert len(seen) == len(reference)


def test_many_ids_and_their_repeats() -> None:
    rng = random.Random(4)
    ids = [str(rng.randrange(10**9)) for _ in range(50_000)]
    seen = IdSet()
    fresh = [i for i in ids if seen.add(i)]
    assert len(fresh) == len(set(ids)) == len(seen)
    assert not any(seen.add(i) for i in ids)


def test_leading_zeros_and_huge_ids_stay_distinct() -> None:
    seen = IdSet()
    assert seen.add("7")
    assert seen.add("007")  # a different id string, kept in the fallback set
    assert not seen.add("007")
    assert seen.add("9" * 25)
    assert not seen.add("9" * 25)
