"""IdSet and StoredHashes answer exactly as a set and a dict of the same ids would, whatever the ids look like."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pms_bridge.store.compact_ids import MAX_BIT, IdSet, StoredHashes

# Ids as PMSs make them: plain keys (most), keys with leading zeros, zero, prefixed ids, letters, other
# scripts' digits ("٣" is a digit to str.isdigit, not a key), and keys beyond the bitmap.
ids = st.one_of(
    st.integers(0, 5000).map(str),
    st.integers(0, 99).map(lambda n: f"0{n}"),
    st.integers(0, 50).map(lambda n: f"mount-{n}"),
    st.sampled_from(["0", "00", "", " 7", "7 ", "+7", "-7", "٣", "²", "1e3"]),
    st.integers(MAX_BIT - 2, MAX_BIT + 2).map(str),
    st.text(max_size=6),
)


@given(st.lists(st.lists(ids, max_size=30), max_size=6), st.lists(ids, max_size=30))
def test_an_id_set_answers_as_a_set(batches: list[list[str]], probe: list[str]) -> None:
    compact, plain = IdSet(), set()
    for batch in batches:
        assert compact.isdisjoint(batch) == plain.isdisjoint(batch)
        compact.update(batch)
        plain.update(batch)
        assert len(compact) == len(plain)
    assert [i in compact for i in probe] == [i in plain for i in probe]
    assert compact.missing(probe) == [i for i in probe if i not in plain]
    assert sorted(compact) == sorted(plain)
    one = IdSet()
    for i in probe:
        one.add(i)
    assert sorted(one) == sorted(set(probe))


@given(st.dictionaries(ids, st.one_of(st.none(), st.integers(0, 2**64 - 1).map(lambda n: f"{n:016x}"),
                                      st.sampled_from(["", "abc", "x" * 16]))),
       st.lists(ids, max_size=30))
def test_stored_hashes_answer_as_a_dict(stored: dict[str, str | None], probe: list[str]) -> None:
    compact = StoredHashes(stored.items())
    expected = {k: v for k, v in stored.items() if v}  # a row stored without a hash is never "the same"
    assert len(compact) == len(expected)
    keys = [*stored, *probe]
    assert compact.many(keys) == [expected.get(k) for k in keys]


def test_plain_keys_are_held_as_bits_and_an_array() -> None:
    keys = [str(n) for n in range(1, 300_001)]
    hashes = [f"{n * 2654435761 % 2**64:016x}" for n in range(1, 300_001)]
    seen = IdSet()
    for start in range(0, len(keys), 5000):
        seen.update(keys[start : start + 5000])
    stored = StoredHashes(zip(keys, hashes, strict=True))
    assert len(seen) == len(stored) == 300_000
    assert stored.get("777") == hashes[776] and "300000" in seen and "300001" not in seen
    # About 1 bit and 8 bytes a key (with room to grow), nothing kept aside as text: a set and a dict of
    # these strings would take about 90 MB.
    assert len(seen._bits) < 2**17 and not seen._other
    assert stored._values.itemsize * len(stored._values) < 8 * 2**20 and not stored._other
