"""A channel that delivers into a list: for tests, examples and dry runs."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from crmcore.marketing import DeliveryReceipt, OutboundMessage
from crmcore.model import Channel

__all__ = ["FakeChannel"]


class FakeChannel:
    """Accepts every message (``outbox``), except addresses in ``reject`` (permanent failures).

    Args:
        channel: the channel it pretends to deliver.
        reject: addresses refused permanently (a hard bounce at send time).
    """

    def __init__(self, channel: Channel = Channel.EMAIL, *, reject: Collection[str] = ()) -> None:
        self.channel = channel
        self.reject = frozenset(reject)
        self.outbox: list[OutboundMessage] = []
        self.batches = 0

    def send(self, messages: Sequence[OutboundMessage]) -> list[DeliveryReceipt]:
        """Keep each message in ``outbox`` and accept it (unless its address is rejected)."""
        self.batches += 1
        out: list[DeliveryReceipt] = []
        for m in messages:
            if m.to in self.reject:
                out.append(
                    DeliveryReceipt(
                        message_id=m.message_id,
                        accepted=False,
                        error="550 mailbox unavailable",
                        permanent=True,
                    )
                )
                continue
            self.outbox.append(m)
            out.append(
                DeliveryReceipt(
                    message_id=m.message_id, accepted=True, provider_id=f"fake-{len(self.outbox)}"
                )
            )
        return out

    def __repr__(self) -> str:
        return f"FakeChannel({self.channel.value}, {len(self.outbox)} sent)"
