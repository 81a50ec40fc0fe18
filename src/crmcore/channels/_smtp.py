"""E-mail over SMTP with :mod:`smtplib`: batches over one connection, retries with backoff."""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import make_msgid

from crmcore.errors import ConfigurationError
from crmcore.marketing import DeliveryReceipt, OutboundMessage
from crmcore.model import Channel

__all__ = ["SmtpChannel"]

_TRANSIENT = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, socket.timeout, OSError)


class SmtpChannel:
    """Send e-mail through an SMTP server.

    Messages go out ``batch_size`` per connection. A recipient the server
    refuses with a 5xx code is a permanent failure (reported as such, never
    retried); a 4xx answer or a dropped connection is retried for the
    messages not yet accepted, up to ``retries`` times, waiting ``backoff``,
    then twice as long each time.

    Args:
        host / port: the server.
        sender: the From address (a message's own ``sender`` wins).
        username / password: log in when given.
        starttls: upgrade the connection with STARTTLS.
        batch_size: messages per connection.
        retries: further attempts for transient failures.
        backoff: seconds before the first retry.
        timeout: socket timeout in seconds.
        sleep: the wait function (injectable for tests).
    """

    channel = Channel.EMAIL

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        batch_size: int = 50,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if batch_size < 1 or retries < 0 or backoff < 0:
            raise ConfigurationError("batch_size >= 1, retries >= 0 and backoff >= 0 are needed")
        self.host, self.port, self.sender = host, port, sender
        self._auth = (username, password) if username is not None else None
        self._starttls = starttls
        self.batch_size, self.retries, self.backoff = batch_size, retries, backoff
        self.timeout = timeout
        self._sleep = sleep
        self.connections = 0

    def _connect(self) -> smtplib.SMTP:
        conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        self.connections += 1
        if self._starttls:
            conn.starttls()
        if self._auth is not None:
            conn.login(self._auth[0] or "", self._auth[1] or "")
        return conn

    def _email(self, m: OutboundMessage) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = m.sender or self.sender
        msg["To"] = m.to
        msg["Subject"] = m.subject or ""
        msg["Message-ID"] = make_msgid(idstring=m.message_id.replace(":", "."), domain="crmcore")
        msg["X-Crmcore-Message-Id"] = m.message_id
        for k, v in m.headers.items():
            msg[k] = v
        msg.set_content(m.body)
        return msg

    def send(self, messages: Sequence[OutboundMessage]) -> list[DeliveryReceipt]:
        """Send every message; one receipt each, in order (failures are receipts, not raises)."""
        out: list[DeliveryReceipt] = []
        for at in range(0, len(messages), self.batch_size):
            out += self._send_batch(messages[at : at + self.batch_size])
        return out

    def _send_batch(self, batch: Sequence[OutboundMessage]) -> list[DeliveryReceipt]:
        done: dict[int, DeliveryReceipt] = {}
        attempts = 0
        last_error = ""
        while len(done) < len(batch) and attempts <= self.retries:
            if attempts:
                self._sleep(self.backoff * 2 ** (attempts - 1))
            attempts += 1
            try:
                conn = self._connect()
            except (*_TRANSIENT, smtplib.SMTPException) as exc:
                last_error = f"connect: {exc}"
                continue
            try:
                for i, m in enumerate(batch):
                    if i in done:
                        continue
                    try:
                        conn.send_message(self._email(m))
                        done[i] = DeliveryReceipt(
                            message_id=m.message_id, accepted=True, attempts=attempts
                        )
                    except smtplib.SMTPRecipientsRefused as exc:
                        code, text = next(iter(exc.recipients.values()))
                        if 500 <= code < 600:
                            done[i] = DeliveryReceipt(
                                message_id=m.message_id,
                                accepted=False,
                                error=f"{code} {text.decode(errors='replace')}",
                                permanent=True,
                                attempts=attempts,
                            )
                        else:
                            last_error = f"{code} {text.decode(errors='replace')}"
                    except smtplib.SMTPResponseException as exc:
                        err = exc.smtp_error
                        said = err.decode(errors="replace") if isinstance(err, bytes) else str(err)
                        if 500 <= exc.smtp_code < 600:
                            done[i] = DeliveryReceipt(
                                message_id=m.message_id,
                                accepted=False,
                                error=f"{exc.smtp_code} {said}",
                                permanent=True,
                                attempts=attempts,
                            )
                        else:
                            last_error = f"{exc.smtp_code} {said}"
                            if exc.smtp_code == 421:  # the server closes the connection
                                break
            except _TRANSIENT as exc:
                last_error = f"connection lost: {exc}"
            finally:
                try:
                    conn.quit()
                except (*_TRANSIENT, smtplib.SMTPException):
                    conn.close()
        return [
            done.get(i)
            or DeliveryReceipt(
                message_id=m.message_id,
                accepted=False,
                error=last_error or "not sent",
                permanent=False,
                attempts=attempts,
            )
            for i, m in enumerate(batch)
        ]
