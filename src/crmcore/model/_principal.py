"""Who is acting: the principal a unit of work runs as (policies grant it permissions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["Principal"]


def _frozen_strs(value: str | Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset((value,))
    return frozenset(value)


@attrs.frozen(kw_only=True)
class Principal:
    """A user (or trusted job) acting inside one tenant.

    Args:
        user_id: the acting user's id, recorded in audit entries and history.
        tenant_id: the tenant the principal belongs to; a session never sees
            another tenant's rows, whatever the policy says.
        roles: role names the policy grants permissions to.
        teams: team ids (``team_id in principal.teams`` conditions).
        attributes: anything else conditions may read (``region``, limits...).
        system: a trusted batch principal: bypasses the policy (never tenant
            isolation) and is recorded as such in the audit trail.
    """

    user_id: str
    tenant_id: str = "default"
    roles: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen_strs)
    teams: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen_strs)
    attributes: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    system: bool = False

    @classmethod
    def system_principal(cls, tenant_id: str = "default", name: str = "system") -> Principal:
        """A trusted principal for batch jobs inside ``tenant_id``."""
        return cls(user_id=name, tenant_id=tenant_id, roles=frozenset(("system",)), system=True)

    def attr(self, name: str) -> Any:
        """A principal attribute by name: the fields above, then ``attributes``."""
        if name in ("user_id", "tenant_id", "roles", "teams", "system"):
            return getattr(self, name)
        return self.attributes.get(name)
