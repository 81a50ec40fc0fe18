"""The SMTP channel against a local aiosmtpd server started by the test."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest

from crmcore.channels import SmtpChannel
from crmcore.marketing import MarketingChannel, OutboundMessage
from crmcore.model import Channel

aiosmtpd = pytest.importorskip("aiosmtpd.controller")


class Handler:
    """Keeps messages; refuses ``bad@`` for good (550) and ``later@`` for a while (451)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.temp_failures = 0
        self.fail_first = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("bad@"):
            return "550 no such user"
        if address.startswith("later@") and self.fail_first > 0:
            self.fail_first -= 1
            self.temp_failures += 1
            return "451 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    port = _free_port()
    controller = aiosmtpd.Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _msg(i: int, to: str) -> OutboundMessage:
    return OutboundMessage(
        message_id=f"c:{i}",
        channel=Channel.EMAIL,
        to=to,
        subject=f"你好 {i}",
        body=f"body {i}",
        headers={"List-Unsubscribe": "<https://x.cn/u>"},
    )


def test_sends_in_batches_and_reports_permanent_refusals(smtp: tuple[Handler, int]) -> None:
    handler, port = smtp
    ch = SmtpChannel("127.0.0.1", port, sender="news@x.cn", batch_size=2, retries=1, backoff=0)
    assert isinstance(ch, MarketingChannel)
    messages = [_msg(i, f"u{i}@x.cn") for i in range(4)] + [_msg(9, "bad@x.cn")]
    receipts = ch.send(messages)
    assert [r.message_id for r in receipts] == [m.message_id for m in messages]
    assert [r.accepted for r in receipts] == [True] * 4 + [False]
    assert receipts[-1].permanent and receipts[-1].error is not None
    assert receipts[-1].error.startswith("550")
    assert ch.connections == 3  # 5 messages, 2 per connection, no retry for a 550
    assert len(handler.messages) == 4
    got = handler.messages[0]
    assert got["To"] == "u0@x.cn" and got["X-Crmcore-Message-Id"] == "c:0"
    assert got["List-Unsubscribe"] == "<https://x.cn/u>"
    assert "你好 0" in str(got["Subject"]) or got["Subject"].startswith("=?utf-8?")


def test_transient_failures_are_retried_with_backoff(smtp: tuple[Handler, int]) -> None:
    handler, port = smtp
    handler.fail_first = 2
    waits: list[float] = []
    ch = SmtpChannel(
        "127.0.0.1", port, sender="news@x.cn", retries=3, backoff=0.25, sleep=waits.append
    )
    receipts = ch.send([_msg(1, "ok@x.cn"), _msg(2, "later@x.cn")])
    assert [r.accepted for r in receipts] == [True, True]
    assert receipts[1].attempts == 3
    assert waits == [0.25, 0.5]  # exponential backoff between attempts
    assert handler.temp_failures == 2
    # the message accepted on the first attempt is not sent twice
    assert sorted(m["To"] for m in handler.messages) == ["later@x.cn", "ok@x.cn"]


def test_gives_up_after_the_retries_and_survives_a_dead_server() -> None:
    waits: list[float] = []
    ch = SmtpChannel(
        "127.0.0.1",
        _free_port(),
        sender="n@x.cn",
        retries=2,
        backoff=1,
        timeout=1,
        sleep=waits.append,
    )
    (r,) = ch.send([_msg(1, "a@x.cn")])
    assert not r.accepted and not r.permanent
    assert r.error is not None and r.error.startswith("connect")
    assert waits == [1, 2]


def test_send_campaign_through_smtp(smtp: tuple[Handler, int]) -> None:
    import crmcore
    from crmcore import services as sv
    from crmcore.model import (
        Campaign,
        CampaignMember,
        CampaignVariant,
        ChannelSuppression,
        Consent,
        ConsentStatus,
        Customer,
        Principal,
    )
    from crmcore.query import TRUE

    handler, port = smtp
    crm = crmcore.connect("memory://", validation=False)
    me = Principal.system_principal("smtp")
    with crm.session(me) as s:
        people = s.customers.add_many(
            [Customer(first_name="甲", email="a@x.cn"), Customer(first_name="乙", email="bad@x.cn")]
        )
        s.repo(Consent).add_many(
            Consent(customer_id=c.id, purpose="marketing", status=ConsentStatus.GRANTED)
            for c in people
        )
        seg = sv.create_segment(s, "all", TRUE)
        camp = s.repo(Campaign).add(Campaign(name="News", channel=Channel.EMAIL, segment_id=seg.id))
        s.repo(CampaignVariant).add(
            CampaignVariant(campaign_id=camp.id, name="A", subject="Hi {first_name}", body="x")
        )
    with crm.session(me) as s:
        rep = sv.send_campaign(
            s, camp.id, SmtpChannel("127.0.0.1", port, sender="news@x.cn", backoff=0)
        )
        assert (rep.sent, rep.failed) == (1, 1)
    with crm.session(me) as s:
        assert sorted(m.status for m in s.repo(CampaignMember).stream()) == ["failed", "sent"]
        assert [x.address for x in s.repo(ChannelSuppression).stream()] == ["bad@x.cn"]
    assert [m["To"] for m in handler.messages] == ["a@x.cn"]
