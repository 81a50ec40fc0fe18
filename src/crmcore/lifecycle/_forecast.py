"""Forecast helpers that need only a machine's state data (probability, category)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from crmcore.errors import ConfigurationError
from crmcore.lifecycle._machine import Machine
from crmcore.lifecycle._records import access_for

R = TypeVar("R")

__all__ = ["forecast_category", "probability", "stamp_stage", "weighted_amount"]


def probability(machine: Machine, stage: str) -> float:
    """The win probability ``machine`` gives ``stage`` (its ``probability`` data).

    Raises:
        ConfigurationError: the stage is unknown or has no probability.
    """
    value = machine.state(stage).data.get("probability")
    if value is None:
        raise ConfigurationError(f"machine {machine.name!r}: stage {stage!r} has no probability")
    return float(value)


def forecast_category(machine: Machine, stage: str) -> str:
    """The forecast category ``machine`` gives ``stage`` (its ``forecast_category`` data).

    Raises:
        ConfigurationError: the stage is unknown or has no forecast category.
    """
    value = machine.state(stage).data.get("forecast_category")
    if not isinstance(value, str):
        raise ConfigurationError(
            f"machine {machine.name!r}: stage {stage!r} has no forecast category"
        )
    return value


def weighted_amount(amount: int | float | Decimal, stage: str, machine: Machine) -> float | Decimal:
    """``amount`` weighted by the stage's win probability (a ``Decimal`` stays exact).

    Args:
        amount: the deal amount.
        stage: the deal's stage.
        machine: the opportunity machine.

    Returns:
        ``amount * probability``; a ``Decimal`` for a ``Decimal`` amount.

    Raises:
        ConfigurationError: the stage is unknown or has no probability.
    """
    p = probability(machine, stage)
    if isinstance(amount, Decimal):
        return amount * Decimal(str(p))
    return amount * p


def stamp_stage(record: R, machine: Machine) -> R:
    """``record`` with its stage's ``probability`` and ``forecast_category`` (pure).

    A deal added or updated directly (not through a transition) gets the values
    its stage declares, as a transition into the stage would give it. Fields the
    record lacks, a stage the machine does not know, and stage data without the
    value are left alone; an unchanged record is returned as is.

    Args:
        record: an entity or a mapping holding the machine's field.
        machine: the record's machine (the tenant's opportunity stages).

    Returns:
        The record, evolved only where a value differs.
    """
    acc = access_for(record)
    stage = acc.get(record, machine.field, None)
    if not isinstance(stage, str) or stage not in machine.state_names:
        return record
    data = machine.state(stage).data
    changes: dict[str, Any] = {}
    for name in ("probability", "forecast_category"):
        value = data.get(name)
        if value is not None and acc.has(record, name) and acc.get(record, name) != value:
            changes[name] = value
    if not changes:
        return record
    stamped: R = acc.evolve(record, changes)
    return stamped
