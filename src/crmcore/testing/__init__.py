"""Test support for crmcore and for projects that embed it.

``crmcore.testing.strategies`` holds hypothesis strategies for every entity
(needs the ``test`` extra); ``crmcore.testing.contract`` the repository contract
suite a storage adapter subclasses (needs pytest; imported only when asked for);
``FrozenClock`` a controllable clock.
"""

from __future__ import annotations

from crmcore.testing._clock import FrozenClock

__all__ = ["FrozenClock"]
