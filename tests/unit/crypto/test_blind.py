"""Blind indexes: determinism, domain separation, truncation, normalisers, key versions."""

from __future__ import annotations

import re

import pytest

from crmcore.crypto import BlindIndexer, KeyPurpose, Keyring, StaticKeyProvider
from crmcore.errors import ConfigurationError, KeyUnavailable, ValidationError

WHERE = {"tenant": "t1", "entity": "Customer", "field": "email"}


def test_index_is_deterministic_and_compact(indexer: BlindIndexer) -> None:
    a = indexer.index("a@example.com", **WHERE)
    assert a == indexer.index("a@example.com", **WHERE)
    assert a is not None
    assert re.fullmatch(r"v1:[0-9a-f]{32}", a)
    assert a != indexer.index("b@example.com", **WHERE)


def test_index_is_stable_across_processes(keyring: Keyring) -> None:
    a = BlindIndexer(keyring).index("a@example.com", **WHERE)
    fresh = BlindIndexer(Keyring(keyring.provider, keyring.store))
    assert a == fresh.index("a@example.com", **WHERE)


@pytest.mark.parametrize(
    "other",
    [
        {"field": "phone"},
        {"entity": "Lead"},
        {"tenant": "t2"},
        {"tenant": "t", "entity": "1Customer"},
    ],
)
def test_equal_values_index_differently_elsewhere(
    indexer: BlindIndexer, other: dict[str, str]
) -> None:
    here = indexer.index("a@example.com", **WHERE)
    there = indexer.index("a@example.com", **{**WHERE, **other})
    assert here != there


@pytest.mark.parametrize("size", [4, 8, 12, 32])
def test_size_sets_the_truncation(keyring: Keyring, size: int) -> None:
    full = BlindIndexer(keyring, size=32).index("x", **WHERE)
    short = BlindIndexer(keyring, size=size).index("x", **WHERE)
    assert full is not None
    assert short is not None
    assert 3 + 2 * size == len(short)
    assert full.startswith(short)


@pytest.mark.parametrize("size", [0, 3, 33, 16.0])
def test_size_out_of_range_is_refused(keyring: Keyring, size: int) -> None:
    with pytest.raises(ConfigurationError):
        BlindIndexer(keyring, size=size)


def test_normalisers_apply_per_field(keyring: Keyring) -> None:
    indexer = BlindIndexer(keyring, normalizers={("Customer", "email"): str.lower})
    assert indexer.index("A@Example.COM", **WHERE) == indexer.index("a@example.com", **WHERE)
    phone = {**WHERE, "field": "phone"}
    assert indexer.index("ABC", **phone) != indexer.index("abc", **phone)
    assert indexer.index("ABC", normalize=str.lower, **phone) == indexer.index("abc", **phone)


def test_none_has_no_index(keyring: Keyring) -> None:
    indexer = BlindIndexer(keyring, normalizers={("Customer", "email"): lambda v: v or None})
    assert None is indexer.index(None, **WHERE)
    assert None is indexer.index("", **WHERE)
    assert indexer.indexes(None, **WHERE) == ()


def test_values_are_typed(indexer: BlindIndexer) -> None:
    assert indexer.index(1, **WHERE) != indexer.index("1", **WHERE)
    with pytest.raises(ValidationError):
        indexer.index(1.5, **WHERE)


def test_rotation_adds_a_version_and_old_ones_keep_working(indexer: BlindIndexer) -> None:
    v1 = indexer.index("a@example.com", **WHERE)
    assert indexer.rotate("t1") == 2
    assert indexer.current_version("t1") == 2
    v2 = indexer.index("a@example.com", **WHERE)
    assert v1 != v2
    assert v2 is not None
    assert v2.startswith("v2:")
    assert v1 == indexer.index("a@example.com", version=1, **WHERE)
    assert (v2, v1) == indexer.indexes("a@example.com", **WHERE)
    assert indexer.needs_reindex(v1, tenant="t1")
    assert not indexer.needs_reindex(v2, tenant="t1")
    assert not indexer.needs_reindex(None, tenant="t1")
    assert indexer.needs_reindex("garbage", tenant="t1")
    assert BlindIndexer.version_of(v1) == 1  # type: ignore[arg-type]


def test_retired_versions_are_gone(indexer: BlindIndexer, keyring: Keyring) -> None:
    indexer.index("a", **WHERE)
    indexer.rotate("t1")
    with pytest.raises(ConfigurationError):
        keyring.retire_index("t1", 2)
    keyring.retire_index("t1", 1)
    assert keyring.index_versions("t1") == [2]
    fresh = BlindIndexer(Keyring(keyring.provider, keyring.store))
    with pytest.raises(KeyUnavailable):
        fresh.index("a", version=1, **WHERE)
    with pytest.raises(KeyUnavailable):
        keyring.retire_index("t1", 7)


def test_version_of_refuses_non_indexes() -> None:
    for bad in ["", "v:abc", "vx:12", "12"]:
        with pytest.raises(ValidationError):
            BlindIndexer.version_of(bad)


def test_index_keys_are_separate_from_data_keys(keyring: Keyring) -> None:
    indexer = BlindIndexer(keyring)
    keyring.current_key_id("t1")
    before = indexer.index("a", **WHERE)
    keyring.rotate("t1")
    assert before == indexer.index("a", **WHERE)
    purposes = sorted(k.purpose.value for k in keyring.store.scan())
    assert [KeyPurpose.DATA.value, KeyPurpose.DATA.value, KeyPurpose.INDEX.value] == purposes


def test_a_different_root_gives_different_indexes() -> None:
    a = BlindIndexer(Keyring(StaticKeyProvider(bytes(range(32)))))
    b = BlindIndexer(Keyring(StaticKeyProvider(bytes(32))))
    assert a.index("x", **WHERE) != b.index("x", **WHERE)


def test_concurrent_first_index_keys_converge(keyring: Keyring) -> None:
    other = Keyring(keyring.provider, keyring.store)
    a = BlindIndexer(keyring).index("x", **WHERE)
    assert a == BlindIndexer(other).index("x", **WHERE)
    assert len(keyring.store.find("t1", KeyPurpose.INDEX)) == 1


def test_a_value_the_normaliser_refuses_is_indexed_as_given(indexer: BlindIndexer) -> None:
    def strict(value: str) -> str:
        if "@" not in value:
            raise ValidationError.single("email", "invalid", "not an address")
        return value.lower()

    bind = {"tenant": "t1", "entity": "Customer", "field": "email"}
    assert indexer.index("A@B.CN", normalize=strict, **bind) == indexer.index("a@b.cn", **bind)
    refused = indexer.index("no-at-sign", normalize=strict, **bind)
    assert refused == indexer.index("no-at-sign", **bind)  # as given: it finds itself
