"""Permission policies: who may do what to which record, and which fields they see."""

from __future__ import annotations

from crmcore.policy._principal import Principal

__all__ = ["Principal"]
