"""Policy tests as data: expected decisions checked against a policy.

Like Cerbos or OpenFGA test files, a policy document may carry a ``tests``
section; each case names a principal, a record and the expected outcome of
one or more actions (and optionally field levels)::

    {"name": "reps see their own customers",
     "principal": {"user_id": "u1", "tenant_id": "t1", "roles": ["sales_rep"]},
     "entity": "Customer",
     "resource": {"tenant_id": "t1", "owner_id": "u1"},
     "actions": {"read": "allow", "delete": "deny"},
     "fields": {"national_id": "hidden"}}

``action`` + ``expect`` is the one-action form; ``rule`` also checks the name
of the deciding rule; ``context`` feeds ``context.*`` conditions. A resource
without ``tenant_id`` is taken to be in the principal's tenant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from crmcore.errors import ConfigurationError
from crmcore.model import Principal

if TYPE_CHECKING:
    from crmcore.policy._policy import Policy

__all__ = ["PolicyTestReport", "PolicyTestResult", "run_cases", "run_policy_tests"]


@attrs.frozen
class PolicyTestResult:
    """The outcome of one expectation of one case."""

    case: str
    check: str
    expected: str
    actual: str
    reason: str

    @property
    def passed(self) -> bool:
        """Whether the expectation held."""
        return self.expected == self.actual

    def __str__(self) -> str:
        status = "ok  " if self.passed else "FAIL"
        text = f"{status} {self.case}: {self.check} expected {self.expected}, got {self.actual}"
        return text if self.passed else f"{text} ({self.reason})"


@attrs.frozen
class PolicyTestReport:
    """Every expectation's result; ``ok`` when all held."""

    results: tuple[PolicyTestResult, ...]

    @property
    def ok(self) -> bool:
        """Whether every expectation held."""
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> tuple[PolicyTestResult, ...]:
        """The expectations that did not hold."""
        return tuple(r for r in self.results if not r.passed)

    @property
    def passed(self) -> int:
        """How many expectations held."""
        return sum(r.passed for r in self.results)

    def __str__(self) -> str:
        lines = [str(r) for r in self.failures]
        lines.append(f"{self.passed} passed, {len(self.failures)} failed")
        return "\n".join(lines)

    def raise_if_failed(self) -> None:
        """Raise if any expectation failed.

        Raises:
            ConfigurationError: listing every failure.
        """
        if not self.ok:
            raise ConfigurationError("policy tests failed:\n" + str(self))


def _principal(data: Mapping[str, Any], where: str) -> Principal:
    try:
        return Principal(
            user_id=str(data["user_id"]),
            tenant_id=str(data.get("tenant_id", "default")),
            roles=data.get("roles", ()),
            teams=data.get("teams", ()),
            attributes=dict(data.get("attributes", {})),
            system=bool(data.get("system", False)),
        )
    except KeyError:
        raise ConfigurationError(f"{where}: the principal needs a 'user_id'") from None
    except TypeError as exc:
        raise ConfigurationError(f"{where}: malformed principal: {exc}") from None


def run_cases(
    policy: Policy,
    cases: Iterable[Mapping[str, Any]],
    principals: Mapping[str, Any],
    resources: Mapping[str, Any],
) -> PolicyTestReport:
    """Run test cases (named fixtures resolved from ``principals``/``resources``)."""
    from crmcore.policy._document import resolve_tests

    results: list[PolicyTestResult] = []
    for i, case in enumerate(resolve_tests(list(cases), principals, resources)):
        label = str(case.get("name", f"tests[{i}]"))
        principal = _principal(case["principal"], label)
        entity = case["entity"]
        context = case.get("context")
        resource = case.get("resource")
        if resource is not None and "tenant_id" not in resource:
            resource = {**resource, "tenant_id": principal.tenant_id}
        expectations = dict(case.get("actions", {}))
        if "action" in case:
            expectations[case["action"]] = case["expect"]
        for action, expect in expectations.items():
            d = policy.check(principal, action, resource, entity=entity, context=context)
            actual = "allow" if d.allowed else "deny"
            results.append(PolicyTestResult(label, f"{action!r}", expect, actual, d.reason))
            want_rule = case.get("rule")
            if want_rule is not None and len(expectations) == 1:
                results.append(
                    PolicyTestResult(
                        label, f"{action!r} deciding rule", str(want_rule), str(d.rule), d.reason
                    )
                )
        if "fields" in case:
            access = policy.field_access(principal, entity)
            for field, level in case["fields"].items():
                results.append(
                    PolicyTestResult(
                        label,
                        f"field {field!r}",
                        str(level),
                        access.level(field).value,
                        repr(access),
                    )
                )
    return PolicyTestReport(tuple(results))


def run_policy_tests(doc: Mapping[str, Any] | str | Path) -> PolicyTestReport:
    """Load a policy document and check the expected decisions in its ``tests`` section.

    Args:
        doc: the document as plain data, or the path of a ``.json``/``.toml`` file.

    Returns:
        A :class:`PolicyTestReport`; ``report.ok`` tells whether all held and
        ``str(report)`` lists the failures.

    Raises:
        ConfigurationError: the document (or a case) is malformed.
    """
    from crmcore.policy._policy import Policy

    policy = Policy.load(doc) if isinstance(doc, (str, Path)) else Policy.from_dict(doc)
    return policy.run_tests()
