"""The write-time checks that a record's state is one its machine has, and starts it (pure)."""

from __future__ import annotations

from typing import TypeVar

from crmcore.errors import ValidationError
from crmcore.lifecycle._machine import Machine
from crmcore.lifecycle._records import access_for

__all__ = ["check_initial_state", "check_state"]

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


def check_initial_state(record: R, machine: Machine) -> R:
    """``record`` unchanged if its state field holds ``machine``'s initial state; else refuse it.

    A new record enters its lifecycle at the start: a lead added as
    ``converted`` or a ticket added as ``closed`` would skip the history and
    the guards of every step in between. Records restored from a backup or
    imported with their history are added in restore mode, which skips this.

    Raises:
        ValidationError: code ``not_initial_state`` at ``$.<field>``.
    """
    acc = access_for(record)
    if not acc.has(record, machine.field):
        return record
    state = acc.get(record, machine.field)
    if state == machine.initial:
        return record
    raise ValidationError.single(
        f"$.{machine.field}",
        "not_initial_state",
        f"a new record starts in {machine.initial!r} of the {machine.name} machine, "
        f"not {state!r}; move it with a transition (or add it in restore mode)",
    )
