"""Forecast helpers that need only a machine's state data (probability, category)."""

from __future__ import annotations

from decimal import Decimal

from crmcore.errors import ConfigurationError
from crmcore.lifecycle._machine import Machine

__all__ = ["forecast_category", "probability", "weighted_amount"]


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
