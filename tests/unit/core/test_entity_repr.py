"""Entities read well in a terminal and a notebook: a short repr, an escaped HTML table."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings

from crmcore import Customer, Money, Opportunity
from crmcore.model import COLLECTIONS
from crmcore.testing import strategies


def test_short_repr_names_type_id_and_set_fields_only() -> None:
    c = Customer(first_name="伟", last_name="张", email="wei@example.cn", tags={"vip", "b2b"})
    text = repr(c)
    assert text.startswith(f"Customer(id={c.id}, ")
    assert "first_name='伟'" in text and "email='wei@example.cn'" in text
    assert "tags={'b2b', 'vip'}" in text
    # defaults and bookkeeping stay out
    for quiet in ("phone=", "tenant_id=", "created_at=", "version=", "sealed", "search_keys"):
        assert quiet not in text


def test_repr_clips_long_values_and_many_fields() -> None:
    deal = Opportunity(
        name="x" * 100,
        amount=Money("12.50", "CNY"),
        expected_close_date=dt.date(2026, 12, 31),
        owner_id="li",
        team_id="east",
        source="web",
        lost_reason="price",
        stage="proposal",
        probability=0.5,
        forecast_category="best_case",
    )
    text = repr(deal)
    assert "amount=12.50 CNY" in text and "expected_close_date=2026-12-31" in text
    assert "x" * 50 not in text and "…" in text
    assert text.endswith("more)")
    assert len(text) < 400


def test_html_escapes_every_value() -> None:
    c = Customer(first_name="<script>", last_name="&")
    page = c._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page and "&amp;" in page
    assert "created_at" in page  # the notebook view shows the timestamps too


@settings(max_examples=30, deadline=None)
@given(strategies.entities())
def test_every_entity_type_has_the_short_repr(entity: object) -> None:
    text = repr(entity)
    assert text.startswith(f"{type(entity).__name__}(id=")
    assert type(entity) in COLLECTIONS.values()
    assert isinstance(entity._repr_html_(), str)  # type: ignore[attr-defined]


def test_every_collection_is_a_session_attribute() -> None:
    import crmcore

    crm = crmcore.connect("memory://")
    with crm.session() as s:
        for name, kind in COLLECTIONS.items():
            assert getattr(s, name).entity_type is kind, name
