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

from crmcore.policy._condition import Attr, C, Condition, ConditionError, P, R, parse_condition
from crmcore.policy._decision import Decision, Grant
from crmcore.policy._fields import FieldAccess, FieldLevel, FieldRule
from crmcore.policy._guard import Guard, GuardedRepository
from crmcore.policy._masks import mask_email, mask_full, mask_partial, mask_phone
from crmcore.policy._policy import Policy, PolicyBuilder
from crmcore.policy._principal import Principal
from crmcore.policy._rules import ACTIONS, Role, Rule
from crmcore.policy._testing import PolicyTestReport, PolicyTestResult, run_policy_tests

__all__ = [
    "ACTIONS",
    "Attr",
    "C",
    "Condition",
    "ConditionError",
    "Decision",
    "FieldAccess",
    "FieldLevel",
    "FieldRule",
    "Grant",
    "Guard",
    "GuardedRepository",
    "P",
    "Policy",
    "PolicyBuilder",
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
