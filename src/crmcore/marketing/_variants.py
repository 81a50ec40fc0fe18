"""Deterministic variant splits and tracking links."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crmcore.errors import ValidationError

__all__ = ["assign_variant", "utm_link"]


def assign_variant(
    campaign_id: uuid.UUID, customer_id: uuid.UUID, variants: Sequence[tuple[str, int]]
) -> str:
    """The variant a customer gets in a campaign: the same answer every time, anywhere.

    The customer falls into a bucket of ``sha256(campaign_id, customer_id)``
    over the total weight, so shares follow the weights and re-running a send
    (or a report) assigns nobody differently.

    Args:
        campaign_id: the campaign.
        customer_id: the recipient.
        variants: ``(name, weight)`` pairs in a fixed order; weights are positive ints.

    Raises:
        ValidationError: no variants, a weight below 1, or a repeated name.
    """
    if not variants:
        raise ValidationError.single("$.variants", "required", "a campaign needs a variant")
    names = [n for n, _ in variants]
    if len(set(names)) != len(names):
        raise ValidationError.single("$.variants", "duplicate", "variant names must differ")
    total = 0
    for i, (_, w) in enumerate(variants):
        if type(w) is not int or w < 1:
            raise ValidationError.single(
                f"$.variants[{i}].weight", "invalid", "weight must be a positive int"
            )
        total += w
    digest = hashlib.sha256(campaign_id.bytes + customer_id.bytes).digest()
    bucket = int.from_bytes(digest[:8], "big") % total
    for name, w in variants:
        if bucket < w:
            return name
        bucket -= w
    raise AssertionError("unreachable")  # pragma: no cover


def utm_link(
    url: str,
    *,
    source: str,
    medium: str,
    campaign: str,
    content: str | None = None,
    term: str | None = None,
) -> str:
    """``url`` with UTM tracking parameters set (existing ones replaced, others kept).

    Raises:
        ValidationError: ``url`` is not an absolute http(s) URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError.single("$.url", "invalid", "an absolute http(s) URL is needed")
    utm = {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign}
    if content is not None:
        utm["utm_content"] = content
    if term is not None:
        utm["utm_term"] = term
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in utm]
    query = urlencode(kept + list(utm.items()))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
