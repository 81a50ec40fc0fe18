"""Channel implementations of :class:`crmcore.marketing.MarketingChannel`: SMTP and a fake.

``SmtpChannel`` sends e-mail with :mod:`smtplib` in batches over one
connection each, retrying transient failures with exponential backoff;
``FakeChannel`` keeps messages in memory (tests, examples, dry runs).
"""

from __future__ import annotations

from crmcore.channels._fake import FakeChannel
from crmcore.channels._smtp import SmtpChannel

__all__ = ["FakeChannel", "SmtpChannel"]
