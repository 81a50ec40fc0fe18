"""The event envelope: wire round trip, versioning, the catalogue, webhook signatures."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import DeliveryError, ValidationError
from crmcore.events import (
    ENVELOPE_VERSION,
    EVENT_TYPES,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Event,
    sign_webhook,
    verify_webhook,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

events = st.builds(
    Event,
    id=st.uuids(),
    type=st.sampled_from(sorted(EVENT_TYPES)),
    schema_version=st.integers(1, 5),
    tenant_id=st.text(min_size=1, max_size=12),
    aggregate_type=st.sampled_from(["Customer", "Ticket", "Opportunity"]),
    aggregate_id=st.uuids(),
    sequence=st.integers(1, 10**9),
    occurred_at=st.datetimes(min_value=dt.datetime(2000, 1, 1), timezones=st.just(dt.timezone.utc)),
    correlation_id=st.none() | st.text(max_size=12),
    actor=st.none() | st.text(max_size=12),
    payload=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
)


@given(events)
def test_wire_round_trip(event: Event) -> None:
    assert Event.from_json(event.to_json()) == event
    assert Event.from_dict(json.loads(event.to_json())) == event


def test_envelope_layout_is_versioned() -> None:
    e = Event(
        id=uuid.UUID(int=1),
        type="customer.updated",
        schema_version=1,
        tenant_id="acme",
        aggregate_type="Customer",
        aggregate_id=uuid.UUID(int=2),
        sequence=3,
        occurred_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
        payload={"fields": ["email"]},
    )
    data = e.to_dict()
    assert data["specversion"] == ENVELOPE_VERSION
    assert data["aggregate"] == {"type": "Customer", "id": str(uuid.UUID(int=2)), "sequence": 3}
    assert data["occurred_at"] == "2026-01-02T03:04:05Z"
    assert e.idempotency_key == str(uuid.UUID(int=1))
    with pytest.raises(ValidationError, match="envelope version"):
        Event.from_dict({**data, "specversion": 99})
    with pytest.raises(ValidationError, match="not an event envelope"):
        Event.from_dict({"specversion": ENVELOPE_VERSION, "id": "x"})
    with pytest.raises(ValidationError):
        Event.from_json(b"[1, 2]")


def test_catalogue_documents_every_type() -> None:
    for name, info in EVENT_TYPES.items():
        assert info.name == name and info.version >= 1 and info.description
        assert name.split(".")[0] == info.aggregate.lower()


def test_signature_verifies_and_rejects_tampering_and_replay() -> None:
    body = b'{"a":1}'
    sig = sign_webhook("s3cret", body, 1_700_000_000)
    headers = {SIGNATURE_HEADER: sig, TIMESTAMP_HEADER: "1700000000"}
    assert verify_webhook("s3cret", body, headers, now=1_700_000_100) == 1_700_000_000
    lower = {k.lower(): v for k, v in headers.items()}
    assert verify_webhook("s3cret", body, lower, now=1_700_000_000)
    with pytest.raises(DeliveryError, match="does not match"):
        verify_webhook("s3cret", b'{"a":2}', headers, now=1_700_000_000)
    with pytest.raises(DeliveryError, match="does not match"):
        verify_webhook("other", body, headers, now=1_700_000_000)
    with pytest.raises(DeliveryError, match="replay window"):
        verify_webhook("s3cret", body, headers, now=1_700_000_000 + 301)
    with pytest.raises(DeliveryError, match="missing"):
        verify_webhook("s3cret", body, {SIGNATURE_HEADER: sig}, now=1_700_000_000)
