"""Issue 10 in the Python binding: seeded secrets only under a testing name,
secrets never in a repr/str or a stored mailer error, and TLS to
PostgreSQL (against the servers of scripts/postgres.sh start / start-tls)."""

from __future__ import annotations

import datetime
import inspect
import os
import pathlib
import uuid
from typing import List

import pytest

import enlist

from conftest import START, record_call

URL = os.environ.get("ENLIST_TEST_POSTGRES_URL", "")
TLS_URL = os.environ.get("ENLIST_TEST_POSTGRES_TLS_URL", "")
TLS_CA = os.environ.get("ENLIST_TEST_POSTGRES_TLS_CA", "")

needs_postgres = pytest.mark.skipif(not URL, reason="SKIPPED: ENLIST_TEST_POSTGRES_URL not set")
needs_tls = pytest.mark.skipif(
    not (TLS_URL and TLS_CA), reason="SKIPPED: ENLIST_TEST_POSTGRES_TLS_URL / _CA not set"
)


def schema() -> str:
    return f"py_tls_{uuid.uuid4().hex[:12]}"


# -- seeded secrets ------------------------------------------------------------


def test_production_constructors_take_no_seed(tmp_path: pathlib.Path) -> None:
    record_call("in_memory")
    record_call("sqlite")
    with pytest.raises(TypeError):
        enlist.Enlist.in_memory(seed=7)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        enlist.Enlist.sqlite(tmp_path / "x.sqlite3", seed=7)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        enlist.Enlist.postgres("postgres://nobody@127.0.0.1:1/none", seed=7)  # type: ignore[call-arg]
    for ctor in (enlist.Enlist.in_memory, enlist.Enlist.sqlite, enlist.Enlist.postgres):
        assert "seed" not in (ctor.__text_signature__ or ""), ctor


def test_seeded_secrets_live_under_a_testing_name() -> None:
    record_call("in_memory_for_tests")
    assert "seed" in (enlist.Enlist.in_memory_for_tests.__text_signature__ or "")
    tokens = []
    for _ in range(2):
        e = enlist.Enlist.in_memory_for_tests(seed=42, clock=enlist.ManualClock(START))
        assert "for tests" in repr(e)
        org, owner = e.create_organization("Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example")
        tokens.append(e.invite(org, "bob@acme.example", actor=owner).issued[0].secret)
    assert tokens[0] == tokens[1], "the same seed repeats the secrets"
    with pytest.raises(TypeError):
        enlist.Enlist.in_memory_for_tests()  # type: ignore[call-arg]
    # Unseeded engines do not repeat them.
    a = enlist.Enlist.in_memory()
    org, owner = a.create_organization("Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example")
    assert a.invite(org, "bob@acme.example", actor=owner).issued[0].secret != tokens[0]


# -- secrets in reprs, strs and mailer errors ----------------------------------


def test_no_secret_in_any_repr_or_str() -> None:
    clock = enlist.ManualClock(START)
    e = enlist.Enlist.in_memory(clock=clock)
    org, owner = e.create_organization("Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example")
    report = e.invite(
        org,
        [enlist.RecipientInput(email="bob@acme.example"), enlist.RecipientInput(identifier="EMP-1")],
        actor=owner,
    )
    token = report.issued[0].secret
    code = report.issued[1].secret
    assert token and code
    sent: List[enlist.OutgoingEmail] = []
    e.deliver_pending(sent.append)
    (email,) = sent
    assert token in email.accept_url and token in email.text_body
    message = e.outbox_message(email.message_id)
    invitation = e.invitation(org, report.issued[0].invitation.id, actor=owner)
    values = [report, *report.issued, email, message, invitation]
    for value in values:
        for text in (repr(value), str(value)):
            assert token not in text, text
            assert code not in text, text
            assert email.accept_url not in text, text
    # A failed delivery's error quoting the link is stored without it.
    clock.advance(datetime.timedelta(hours=1))
    resent = e.resend(org, report.issued[0].invitation.id, actor=owner)
    new_token = resent.secret
    assert new_token

    def failing(mail: enlist.OutgoingEmail) -> None:
        raise RuntimeError(f"relay refused {mail.accept_url} for {mail.to}")

    e.deliver_pending(failing)
    stored = e.outbox_message(resent.message_id or "")
    assert stored.last_error is not None
    assert new_token not in stored.last_error, stored.last_error
    assert "[redacted]" in stored.last_error and "bob@acme.example" in stored.last_error


def test_an_error_about_a_token_does_not_quote_it() -> None:
    e = enlist.Enlist.in_memory()
    guess = "org_" + "A" * 26 + "." + "b" * 43
    for call in (lambda: e.preview(guess), lambda: e.decline(guess)):
        with pytest.raises(enlist.EnlistError) as err:
            call()
        assert guess not in str(err.value) and "b" * 43 not in repr(err.value)


# -- TLS to PostgreSQL ---------------------------------------------------------


def test_postgres_takes_a_ca_file_or_pem() -> None:
    params = inspect.signature(enlist.Enlist.postgres).parameters
    assert "ca_file" in params and "ca_pem" in params
    # Refused before any connection: verify-full without a CA, sslmode=allow,
    # a CA that is not PEM, both kinds of CA at once, an oversized PEM.
    cases = [
        ("postgres://nobody@127.0.0.1:1/none?sslmode=verify-full", {}, "needs the certificate authorities"),
        ("postgres://nobody@127.0.0.1:1/none?sslmode=allow", {}, "allow"),
        ("postgres://nobody@127.0.0.1:1/none", {"ca_pem": "not a certificate"}, "no certificate"),
        ("postgres://nobody@127.0.0.1:1/none", {"ca_pem": b"x", "ca_file": "/x"}, "not both"),
        ("postgres://nobody@127.0.0.1:1/none", {"ca_pem": b"x" * (4 * 1024 * 1024 + 1)}, "at most"),
        ("postgres://nobody@127.0.0.1:1/none", {"ca_file": "/nonexistent/ca.pem"}, "cannot open the CA file"),
    ]
    for url, kwargs, expected in cases:
        with pytest.raises(enlist.EnlistError) as err:
            enlist.Enlist.postgres(url, **kwargs)  # type: ignore[arg-type]
        assert expected in str(err.value), (url, kwargs, str(err.value))


@needs_tls
def test_verify_full_with_the_right_ca_connects() -> None:
    record_call("postgres")
    e = enlist.Enlist.postgres(TLS_URL + "?sslmode=verify-full", schema=schema(), ca_file=TLS_CA)
    org, _ = e.create_organization("Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example")
    pem = pathlib.Path(TLS_CA).read_bytes()
    again = enlist.Enlist.postgres(TLS_URL.replace("127.0.0.1", "localhost"), schema=schema(), ca_pem=pem)
    assert again.now() is not None
    text = enlist.Enlist.postgres(TLS_URL, schema=schema(), ca_pem=pem.decode())
    assert text.now() is not None
    assert e.organization(org.id).name == "Acme"


@needs_tls
def test_the_wrong_ca_is_refused() -> None:
    other = str(pathlib.Path(TLS_CA).with_name("other-ca.crt"))
    for mode in ("verify-full", "verify-ca", "require"):
        with pytest.raises(enlist.StorageError) as err:
            enlist.Enlist.postgres(f"{TLS_URL}?sslmode={mode}", schema=schema(), ca_file=other)
        assert "UnknownIssuer" in str(err.value), str(err.value)


@needs_postgres
def test_require_against_a_server_without_tls_fails_and_a_plain_url_works() -> None:
    sep = "&" if "?" in URL else "?"
    with pytest.raises(enlist.StorageError) as err:
        enlist.Enlist.postgres(f"{URL}{sep}sslmode=require", schema=schema())
    assert "server does not support TLS" in str(err.value)
    plain = enlist.Enlist.postgres(URL, schema=schema())
    org, _ = plain.create_organization("Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example")
    assert plain.organization(org.id).name == "Acme"


# -- bounded input at the binding's doors ----------------------------------------


def test_parse_recipients_refuses_a_huge_text_before_parsing() -> None:
    with pytest.raises(enlist.InvalidInputError) as err:
        enlist.parse_recipients("a@b.c," * 200_000)
    assert "at most 1048576" in str(err.value)
    assert enlist.parse_recipients("a@b.c, d@e.f").recognized == 2


def test_outbox_calls_take_a_bounded_limit() -> None:
    record_call("claim_due")
    record_call("deliver_pending")
    e = enlist.Enlist.in_memory()
    for call in (lambda: e.claim_due(limit=10_001), lambda: e.deliver_pending(lambda m: None, limit=2**40)):
        with pytest.raises(enlist.InvalidInputError):
            call()
    assert e.claim_due(limit=10_000) == []


def test_an_activated_link_unpacks_and_never_prints_its_token() -> None:
    record_call("activate_invite_link")
    e = enlist.Enlist.in_memory()
    org, owner = e.create_organization(
        "Acme",
        owner_user_ref="acct-ada",
        owner_email="ada@acme.example",
        policy=enlist.Policy().replace(invite_link_enabled=True),
    )
    activated = e.activate_invite_link(org, actor=owner)
    assert isinstance(activated, enlist.ActivatedLink)
    link, token = activated
    assert token == activated.token and link == activated.link and len(token) > 40
    for text in (repr(activated), str(activated), f"{activated}", repr([activated])):
        assert token not in text, text
        assert "token='***'" in text
    assert e.preview_link(token).org_name == "Acme"


def test_a_manual_clock_cannot_be_pushed_out_of_range() -> None:
    clock = enlist.ManualClock(START)
    for by in (datetime.timedelta(days=999_999_999), datetime.timedelta(days=-999_999_999)):
        with pytest.raises(enlist.InvalidInputError):
            clock.advance(by)
    assert clock.now() == START
    clock.advance(datetime.timedelta(days=1))
    assert clock.now() == START + datetime.timedelta(days=1)
