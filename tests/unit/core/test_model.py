"""The domain model: construction rules, value objects and the plain-data converter."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from decimal import Decimal

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.errors import ValidationError
from crmcore.model import (
    COLLECTIONS,
    Customer,
    Entity,
    Money,
    Order,
    OrderLine,
    PersonName,
    SurveyKind,
    SurveyResponse,
    from_data,
    new_id,
    to_data,
)
from crmcore.testing.strategies import entity_of


@pytest.mark.parametrize("cls", list(COLLECTIONS.values()), ids=list(COLLECTIONS))
def test_every_entity_round_trips_through_plain_json(cls: type[Entity]) -> None:
    @settings(max_examples=40, deadline=None)
    @given(entity=entity_of(cls))
    def check(entity: Entity) -> None:
        data = json.loads(json.dumps(to_data(entity)))
        back = from_data(cls, data)
        assert entity == back
        assert to_data(back) == data

    check()


def test_ids_are_time_ordered_and_unique() -> None:
    ids = [new_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert {i.version for i in ids} == {7}


def test_entities_are_frozen_and_change_by_evolve() -> None:
    c = Customer(first_name="Anna")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        c.first_name = "Bob"  # type: ignore[misc]
    assert attrs.evolve(c, first_name="Bob").first_name == "Bob"


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError) as err:
        Customer(created_at=dt.datetime(2024, 1, 1))
    assert err.value.codes == ("naive_datetime",)


def test_timestamps_are_stored_in_utc() -> None:
    tz8 = dt.timezone(dt.timedelta(hours=8))
    c = Customer(created_at=dt.datetime(2024, 1, 1, 8, tzinfo=tz8))
    assert c.created_at == dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    assert c.created_at.tzinfo == dt.timezone.utc


def test_custom_values_must_be_json_data() -> None:
    with pytest.raises(ValidationError) as err:
        Customer(custom={"ok": 1, "bad": object(), "nested": [1, {"x": Decimal(1)}]})
    assert [e.path for e in err.value.errors] == ["$.custom.bad", "$.custom.nested[1].x"]


@pytest.mark.parametrize(
    ("family", "given", "display"),
    [
        ("张", "伟", "张伟"),
        ("欧阳", "娜娜", "欧阳娜娜"),
        ("Smith", "Anna", "Anna Smith"),
        ("van der Berg", "Jan", "Jan van der Berg"),
        ("山田", "太郎", "山田太郎"),
        (None, "Cher", "Cher"),
        ("김", "민준", "김민준"),
    ],
)
def test_display_names_follow_the_script(family: str | None, given: str, display: str) -> None:
    assert PersonName(family=family, given=given).display == display


def test_customer_display_name_falls_back_to_contacts() -> None:
    assert Customer(email="a@b.cn").display_name == "a@b.cn"
    assert Customer(first_name="伟", last_name="张").display_name == "张伟"


def test_money_is_exact_and_refuses_mixing_currencies() -> None:
    assert Money("0.1", "cny") + Money(0.2, "CNY") == Money("0.3", "CNY")
    with pytest.raises(ValidationError) as err:
        Money(1, "CNY") + Money(1, "USD")
    assert err.value.codes == ("currency_mismatch",)
    with pytest.raises(ValidationError):
        Money("abc", "CNY")
    with pytest.raises(ValidationError):
        Money(1, "yuan")
    with pytest.raises(ValidationError):
        Money(Decimal("NaN"), "CNY")


def test_order_total_and_line_rules() -> None:
    order = Order(
        currency="CNY",
        lines=[
            OrderLine(unit_price=Money("10", "CNY"), quantity=2, discount="0.5"),
            OrderLine(unit_price=Money("3.30", "CNY")),
        ],
    )
    assert order.total == Money("13.30", "CNY")
    with pytest.raises(ValidationError) as err:
        Order(currency="CNY", lines=[OrderLine(unit_price=Money(1, "USD"))])
    assert err.value.errors[0].path == "$.lines[0].unit_price.currency"
    with pytest.raises(ValidationError):
        OrderLine(unit_price=Money(1, "CNY"), quantity=0)


def test_order_total_is_stored_and_kept_in_step_with_the_lines() -> None:
    from crmcore.model import from_data, replace_trusted, to_data

    line = OrderLine(unit_price=Money("0.0000015", "CNY"), quantity=1)
    order = Order(lines=[line])
    assert order.total == Money("0.000002", "CNY")  # the store's six places, half-even
    assert "total" in {a.name for a in attrs.fields(Order)}
    with pytest.raises(TypeError):
        Order(total=Money(5, "CNY"))  # type: ignore[call-arg]
    two = OrderLine(unit_price=Money("2", "CNY"), quantity=3)
    assert attrs.evolve(order, lines=[two]).total == Money(6, "CNY")
    assert replace_trusted(order, lines=(two,)).total == Money(6, "CNY")
    assert replace_trusted(order, status="paid").total == order.total
    data = to_data(attrs.evolve(order, lines=[two]))
    assert data["total"] == {"amount": "6.000000", "currency": "CNY"}
    data["total"] = {"amount": "999", "currency": "CNY"}  # a planted total is recomputed
    assert from_data(Order, data).total == Money(6, "CNY")


def test_survey_scores_are_range_checked() -> None:
    assert SurveyResponse(kind=SurveyKind.NPS, score=0).score == 0
    with pytest.raises(ValidationError) as err:
        SurveyResponse(kind=SurveyKind.CSAT, score=6)
    assert err.value.codes == ("score_out_of_range",)


def test_from_data_reports_every_bad_field_with_its_path() -> None:
    data = to_data(Customer(first_name="A"))
    data["created_at"] = "yesterday"
    data["date_of_birth"] = "1990-13-45"
    data["id"] = "not-a-uuid"
    with pytest.raises(ValidationError) as err:
        from_data(Customer, data)
    paths = sorted(e.path for e in err.value.errors)
    assert paths == ["$.created_at", "$.date_of_birth", "$.id"]
    assert err.value.entity == "Customer"


def test_from_data_refuses_unknown_keys() -> None:
    data = to_data(Customer(first_name="A"))
    data["shoe_size"] = 42
    with pytest.raises(ValidationError):
        from_data(Customer, data)


@given(st.uuids())
def test_uuid_text_round_trip(u: uuid.UUID) -> None:
    c = Customer(id=u)
    assert from_data(Customer, to_data(c)).id == u


def test_import_crmcore_loads_no_sqlalchemy_and_no_heavy_modules() -> None:
    code = (
        "import sys, crmcore; "
        "heavy = [m for m in ('sqlalchemy', 'phonenumbers', 'pandas', 'cryptography', 'numpy') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
