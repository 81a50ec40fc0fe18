"""Permission policies: roles, rules with conditions, decisions with reasons, filters.

A :class:`Policy` answers three questions for the session's guard layer:

- ``policy.check(principal, action, record)`` -> :class:`Decision` for one
  record (``decision.raise_if_denied()`` raises ``PermissionDenied`` with the
  reason);
- ``policy.filter(principal, "read", "Customer")`` -> a :mod:`crmcore.query`
  filter to AND into every query, matching exactly the records ``check``
  allows;
- ``policy.field_access(principal, "Customer")`` -> :class:`FieldAccess`, to
  ``mask`` returned records and ``check_write`` changed fields.

Policies are data: build them in Python (:class:`Rule`, :class:`Role`,
``Policy.builder()``, conditions from :data:`R`/:data:`P`/:data:`C`) or load
them from a dict, JSON or TOML document (:meth:`Policy.from_dict`), with
expected decisions checked by :func:`run_policy_tests`. See ``docs/policy.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmcore._lazy import lazy_exports
from crmcore.model import Principal

if TYPE_CHECKING:
    from crmcore.policy._condition import Attr, C, Condition, ConditionError, P, R, parse_condition
    from crmcore.policy._decision import Decision, Grant
    from crmcore.policy._fields import FieldAccess, FieldLevel, FieldLevelRule
    from crmcore.policy._guard import GuardedRepository, PolicyGuard
    from crmcore.policy._masks import mask_email, mask_full, mask_partial, mask_phone
    from crmcore.policy._policy import Policy, PolicyBuilder
    from crmcore.policy._rules import ACTIONS, Role, Rule
    from crmcore.policy._testing import PolicyTestReport, PolicyTestResult, run_policy_tests

# Everything but Principal loads on first use: a session needs only Principal,
# and ``import crmcore`` stays fast (the condition parser and engine are not small).
_LAZY = {
    "ACTIONS": "crmcore.policy._rules",
    "Attr": "crmcore.policy._condition",
    "C": "crmcore.policy._condition",
    "Condition": "crmcore.policy._condition",
    "ConditionError": "crmcore.policy._condition",
    "Decision": "crmcore.policy._decision",
    "FieldAccess": "crmcore.policy._fields",
    "FieldLevel": "crmcore.policy._fields",
    "FieldLevelRule": "crmcore.policy._fields",
    "Grant": "crmcore.policy._decision",
    "PolicyGuard": "crmcore.policy._guard",
    "GuardedRepository": "crmcore.policy._guard",
    "P": "crmcore.policy._condition",
    "Policy": "crmcore.policy._policy",
    "PolicyBuilder": "crmcore.policy._policy",
    "PolicyTestReport": "crmcore.policy._testing",
    "PolicyTestResult": "crmcore.policy._testing",
    "R": "crmcore.policy._condition",
    "Role": "crmcore.policy._rules",
    "Rule": "crmcore.policy._rules",
    "mask_email": "crmcore.policy._masks",
    "mask_full": "crmcore.policy._masks",
    "mask_partial": "crmcore.policy._masks",
    "mask_phone": "crmcore.policy._masks",
    "parse_condition": "crmcore.policy._condition",
    "run_policy_tests": "crmcore.policy._testing",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "ACTIONS",
    "Attr",
    "C",
    "Condition",
    "ConditionError",
    "Decision",
    "FieldAccess",
    "FieldLevel",
    "FieldLevelRule",
    "Grant",
    "GuardedRepository",
    "P",
    "Policy",
    "PolicyBuilder",
    "PolicyGuard",
    "PolicyTestReport",
    "PolicyTestResult",
    "Principal",
    "R",
    "Role",
    "Rule",
    "mask_email",
    "mask_full",
    "mask_partial",
    "mask_phone",
    "parse_condition",
    "run_policy_tests",
]
