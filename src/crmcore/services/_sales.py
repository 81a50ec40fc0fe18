"""Sales use cases: converting a qualified lead, in one unit of work."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

import attrs

from crmcore.events import emit
from crmcore.model import Account, ContactRole, Customer, Lead, Money, Opportunity
from crmcore.query import Filter, any_of, eq
from crmcore.services._transitions import atomic, transition
from crmcore.storage.ports import UnitOfWorkContext

__all__ = ["Conversion", "convert_lead"]

#: finds an existing customer for a lead (the dedupe service plugs in here)
CustomerMatcher = Callable[[UnitOfWorkContext, Lead], "Customer | None"]


@attrs.frozen
class Conversion:
    """What a lead conversion produced; ``reused_*`` say what already existed."""

    lead: Lead
    customer: Customer
    account: Account | None
    opportunity: Opportunity | None
    reused_customer: bool
    reused_account: bool


def exact_contact_match(uow: UnitOfWorkContext, lead: Lead) -> Customer | None:
    """An existing customer with the lead's e-mail or phone (as stored, normalised on write)."""
    terms: list[Filter] = []
    if lead.email:
        terms.append(eq("email", lead.email))
    if lead.phone:
        terms.append(eq("phone", lead.phone))
    if not terms:
        return None
    return uow.repo(Customer).first(any_of(*terms), order_by="created_at")


def convert_lead(
    uow: UnitOfWorkContext,
    lead: Lead,
    *,
    opportunity: str | bool = False,
    amount: Money | None = None,
    expected_close_date: _dt.date | None = None,
    account_name: str | None = None,
    match: CustomerMatcher = exact_contact_match,
    comment: str | None = None,
) -> Conversion:
    """Turn a qualified lead into a customer (+ account, + opportunity), all or nothing.

    An existing customer found by ``match`` (by default, the same normalised
    e-mail or phone) is reused instead of creating a duplicate, and an
    existing account of the same name likewise. The lead moves to
    ``converted`` through the LEAD machine, with history, and points at what
    it became.

    Args:
        uow: the unit of work; on any error it is rolled back whole.
        lead: the lead as last read (a stale version is a Conflict).
        opportunity: create an opportunity: ``True`` names it after the
            company, a string gives its name.
        amount: the opportunity's amount.
        expected_close_date: the opportunity's expected close date.
        account_name: the organisation; defaults to the lead's company.
        match: finds an existing customer for the lead.
        comment: kept in the lead's transition history.

    Raises:
        InvalidTransition: the lead is not qualified.
        Conflict: the lead changed since it was read.
    """
    with atomic(uow):
        current = uow.repo(Lead).get(lead.id)
        existing = match(uow, current)
        customer = existing or uow.repo(Customer).add(
            Customer(
                first_name=current.first_name,
                last_name=current.last_name,
                email=current.email,
                phone=current.phone,
                source=current.source or "lead",
                owner_id=current.owner_id,
                team_id=current.team_id,
                tags=current.tags,
                lifecycle_stage="opportunity" if opportunity else "customer",
            )
        )
        name = account_name or current.company
        account = None
        reused_account = False
        if name:
            account = uow.repo(Account).first(name=name, order_by="created_at")
            reused_account = account is not None
            if account is None:
                account = uow.repo(Account).add(
                    Account(
                        name=name,
                        owner_id=current.owner_id,
                        team_id=current.team_id,
                        source=current.source or "lead",
                    )
                )
            if not uow.repo(ContactRole).first(customer_id=customer.id, account_id=account.id):
                uow.repo(ContactRole).add(
                    ContactRole(
                        customer_id=customer.id,
                        account_id=account.id,
                        title=current.title,
                        is_primary=True,
                    )
                )
        opp = None
        if opportunity:
            title = opportunity if isinstance(opportunity, str) else (name or customer.display_name)
            opp = uow.repo(Opportunity).add(
                Opportunity(
                    name=title,
                    account_id=account.id if account else None,
                    customer_id=customer.id,
                    lead_id=current.id,
                    amount=amount,
                    expected_close_date=expected_close_date,
                    owner_id=current.owner_id,
                    team_id=current.team_id,
                    source=current.source,
                    probability=0.1,
                )
            )
        linked = attrs.evolve(
            lead,
            converted_customer_id=customer.id,
            converted_account_id=account.id if account else None,
            converted_opportunity_id=opp.id if opp else None,
            converted_at=uow.now(),
        )
        converted = transition(uow, linked, "convert", comment=comment)
        emit(
            uow,
            "lead.converted",
            converted,
            {
                "customer_id": str(customer.id),
                "account_id": str(account.id) if account else None,
                "opportunity_id": str(opp.id) if opp else None,
                "existing_customer": existing is not None,
            },
        )
    return Conversion(converted, customer, account, opp, existing is not None, reused_account)
