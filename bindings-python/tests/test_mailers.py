"""The native mailers: ``enlist.SmtpMailer`` against a real SMTP server on
127.0.0.1 (aiosmtpd, started per test), ``enlist.FileMailer`` writing .eml
files, and their configuration checks."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import pathlib
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List

import pytest
from aiosmtpd.controller import Controller

import enlist
from enlist import OutboxStatus, TlsMode

from conftest import World


@dataclass
class Received:
    sender: str
    recipients: List[str]
    message: email.message.EmailMessage


@dataclass
class Handler:
    """An aiosmtpd handler that keeps each message and answers a RCPT TO
    with a scripted reply when the recipient is listed."""

    received: List[Received] = field(default_factory=list)
    rcpt_replies: Dict[str, str] = field(default_factory=dict)
    sessions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str, responses: List[str]) -> List[str]:
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    handler: Handler


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(controller.port, handler)
    finally:
        controller.stop()


def mailer_for(server: SmtpServer, **options: Any) -> enlist.SmtpMailer:
    return enlist.SmtpMailer(
        "127.0.0.1",
        port=server.port,
        tls=TlsMode.NONE,
        from_address="noreply@acme.example",
        from_name="Acme Invitations",
        **options,
    )


def test_an_invitation_arrives_over_smtp_with_its_headers_and_link(world: World, smtp_server: SmtpServer) -> None:
    """The server runs in a Python thread: the native mailer sends with
    the GIL released, or the server could not answer."""
    e = world.engine
    issued = e.invite(world.org, "Dan Brown <dan@acme.example>, eve@acme.example", actor=world.owner).issued
    mailer = mailer_for(smtp_server)
    report = e.deliver_pending(mailer)
    assert sorted(report.sent) == sorted(i.message_id for i in issued)
    assert report.retrying == [] and report.failed == []
    by_id = {str(r.message["X-Enlist-Message-Id"]): r for r in smtp_server.handler.received}
    assert sorted(by_id) == sorted(i.message_id for i in issued)
    dan = next(r for r in by_id.values() if r.recipients == ["dan@acme.example"])
    assert dan.sender == "noreply@acme.example"
    msg = dan.message
    message_id = str(msg["X-Enlist-Message-Id"])
    assert str(msg["From"]) == "Acme Invitations <noreply@acme.example>"
    assert str(msg["To"]) == "Dan Brown <dan@acme.example>"
    assert "Ada Lovelace invited you to join Acme" in str(msg["Subject"])
    assert str(msg["Message-ID"]) == f"<{message_id}@acme.example>"
    body = msg.get_content()
    assert f"{ACCEPT_PREFIX}?token=" in body or f"{ACCEPT_PREFIX}/" in body, body
    # One session for the batch: the connection is kept and reused.
    assert smtp_server.handler.sessions == 1
    assert e.outbox_message(message_id).status is OutboxStatus.SENT
    # Dropping the mailer says QUIT on its kept connection with the GIL
    # released (held, the server thread could not answer before the 60 s
    # command timeout).
    started = time.monotonic()
    del mailer
    assert time.monotonic() - started < 10
    again = mailer_for(smtp_server)
    e.invite(world.org, "fay@acme.example", actor=world.owner)
    assert len(e.deliver_pending(again).sent) == 1
    started = time.monotonic()
    again.close()
    assert time.monotonic() - started < 10


ACCEPT_PREFIX = "https://app.acme.example/accept"


def test_a_550_fails_the_message_for_good_and_a_451_retries_it(world: World, smtp_server: SmtpServer) -> None:
    e, clock = world.engine, world.clock
    (gone, busy) = e.invite(world.org, "gone@acme.example, busy@acme.example", actor=world.owner).issued
    smtp_server.handler.rcpt_replies = {
        "gone@acme.example": "550 5.1.1 No such mailbox",
        "busy@acme.example": "451 4.3.0 Try again later",
    }
    report = e.deliver_pending(mailer_for(smtp_server))
    assert report.failed == [gone.message_id]
    assert report.retrying == [busy.message_id]
    failed = e.outbox_message(gone.message_id)
    assert failed.status is OutboxStatus.FAILED
    assert failed.last_error is not None and "550" in failed.last_error
    retrying = e.outbox_message(busy.message_id)
    assert retrying.status is OutboxStatus.QUEUED and retrying.attempts == 1
    assert retrying.last_error is not None and "451" in retrying.last_error
    assert smtp_server.handler.received == []
    # The server takes it now: the retry after the backoff is delivered.
    smtp_server.handler.rcpt_replies = {}
    clock.advance(dt.timedelta(minutes=1))
    report = e.deliver_pending(mailer_for(smtp_server))
    assert report.sent == [busy.message_id]
    assert [r.recipients for r in smtp_server.handler.received] == [["busy@acme.example"]]
    clock.advance(dt.timedelta(days=1))
    assert len(e.deliver_pending(mailer_for(smtp_server))) == 0, "the 550 is never retried"


def test_nothing_listening_is_a_temporary_failure(world: World) -> None:
    e = world.engine
    (bob,) = e.invite(world.org, "bob@acme.example", actor=world.owner).issued
    mailer = enlist.SmtpMailer(
        "127.0.0.1",
        port=free_port(),
        tls="none",
        from_address="noreply@acme.example",
        connect_timeout=dt.timedelta(seconds=2),
    )
    assert e.deliver_pending(mailer).retrying == [bob.message_id]


def test_send_outside_the_outbox_raises_mail_error(world: World, smtp_server: SmtpServer) -> None:
    e = world.engine
    e.invite(world.org, "gone@acme.example", actor=world.owner)
    got: List[enlist.OutgoingEmail] = []
    e.deliver_pending(got.append)
    smtp_server.handler.rcpt_replies = {"gone@acme.example": "550 5.1.1 No such mailbox"}
    with pytest.raises(enlist.MailError) as raised:
        mailer_for(smtp_server).send(got[0])
    assert raised.value.permanent is True
    assert "token=" not in str(raised.value)


def test_the_file_mailer_writes_each_email_as_an_eml_file(world: World, tmp_path: pathlib.Path) -> None:
    e = world.engine
    (bob,) = e.invite(world.org, "Bob Stone <bob@acme.example>", actor=world.owner).issued
    folder = tmp_path / "outbox"
    mailer = enlist.FileMailer(folder, from_address="noreply@acme.example", from_name="Acme")
    assert pathlib.Path(mailer.folder) == folder and folder.is_dir()
    assert e.deliver_pending(mailer).sent == [bob.message_id]
    files = list(folder.glob("*.eml"))
    assert files == [folder / f"{bob.message_id}.eml"]
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert str(msg["From"]) == "Acme <noreply@acme.example>"
    assert str(msg["To"]) == "Bob Stone <bob@acme.example>"
    assert msg["X-Enlist-Message-Id"] == bob.message_id
    assert ACCEPT_PREFIX in msg.get_content()
    assert "FileMailer(" in repr(mailer)


def test_a_bad_setting_raises_invalid_input_naming_it() -> None:
    def make(**options: Any) -> enlist.SmtpMailer:
        return enlist.SmtpMailer("smtp.example.com", from_address="noreply@acme.example", **options)

    cases: List[Any] = [
        ({"port": 70000}, "port"),
        ({"port": 0}, "port"),
        ({"port": -1}, "port"),
        ({"tls": "none"}, "tls"),  # plaintext to another machine
        ({"tls": "tls13"}, "tls"),
        ({"connect_timeout": dt.timedelta(0)}, "connect_timeout"),
        ({"command_timeout": dt.timedelta(days=2)}, "command_timeout"),
        ({"username": "apikey"}, "username"),  # without a password
        ({"extra_ca_pem": "not pem"}, "extra_ca_pem"),
        ({"hello_name": "a\r\nMAIL FROM:<x@evil.test>"}, "hello_name"),
    ]
    for options, field_name in cases:
        with pytest.raises(enlist.InvalidInputError) as raised:
            make(**options)
        assert field_name in str(raised.value), (options, raised.value)
    with pytest.raises(enlist.InvalidInputError, match="from_address"):
        enlist.SmtpMailer("smtp.example.com", from_address="not an address")
    with pytest.raises(enlist.InvalidInputError, match="host"):
        enlist.SmtpMailer(" ", from_address="noreply@acme.example")
    with pytest.raises(TypeError, match="unexpected keyword"):
        make(no_such_setting=1)
    with pytest.raises(TypeError, match="from"):
        make(**{"from": "x@acme.example"})
    # Plaintext to another machine only when asked for.
    make(tls=TlsMode.NONE, allow_plaintext_remote=True)


def test_the_password_never_shows(smtp_server: SmtpServer) -> None:
    secret = "hunter2-smtp-password"
    mailer = mailer_for(smtp_server, username="apikey", password=secret)
    assert secret not in repr(mailer) and secret not in str(mailer)
    assert "login=True" in repr(mailer)
    # Nor in an error about another setting.
    with pytest.raises(enlist.InvalidInputError) as raised:
        enlist.SmtpMailer(
            "smtp.example.com", from_address="noreply@acme.example", username="apikey", password=secret, port=0
        )
    assert secret not in str(raised.value) and secret not in repr(raised.value.__dict__)
    # A login refused (the server offers no AUTH) is temporary, and the
    # outbox's error does not carry the password either.
    e = enlist.Enlist.in_memory()
    org, owner = e.create_organization("Acme", owner_user_ref="a", owner_email="ada@acme.example")
    (bob,) = e.invite(org, "bob@acme.example", actor=owner).issued
    assert bob.message_id is not None
    assert e.deliver_pending(mailer).retrying == [bob.message_id]
    error = e.outbox_message(bob.message_id).last_error
    assert error is not None and secret not in error
    assert smtp_server.handler.received == []
