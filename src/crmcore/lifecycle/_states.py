"""The write-time check that a record's state is one its machine has (pure)."""

from __future__ import annotations

from typing import TypeVar

from crmcore.errors import ValidationError
from crmcore.lifecycle._machine import Machine
from crmcore.lifecycle._records import access_for

__all__ = ["check_state"]

R = TypeVar("R")


def check_state(record: R, machine: Machine) -> R:
    """``record`` unchanged if its state field holds a state of ``machine``; else refuse it.

    A record stored with a state its machine lacks (``Opportunity(stage="won")``
    where the stages are ``closed_won``/``closed_lost``) could never move again.

    Raises:
        ValidationError: code ``unknown_state`` at ``$.<field>``, listing the states.
    """
    acc = access_for(record)
    if not acc.has(record, machine.field):
        return record
    state = acc.get(record, machine.field)
    if state in machine.state_names:
        return record
    raise ValidationError.single(
        f"$.{machine.field}",
        "unknown_state",
        f"{state!r} is not a state of the {machine.name} machine; "
        f"its states are {', '.join(machine.state_names)}",
    )
