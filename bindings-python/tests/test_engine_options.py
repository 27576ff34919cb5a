"""The engine options (``clock``, ``product_name``, ``accept_url_base``,
``allowed_accept_url_bases``, ``retry``, ``secret_key``) are read once for
every constructor, and the registration keywords once for every way in:
an unknown keyword is a ``TypeError`` everywhere, and each option still
has its effect."""

from __future__ import annotations

import datetime as dt
import pathlib
from typing import Any, Callable, Dict, List

import pytest

import enlist

from conftest import START

UNREACHABLE = "postgres://nobody@127.0.0.1:9/nothing?connect_timeout=1"


def constructors(tmp_path: pathlib.Path) -> Dict[str, Callable[..., enlist.Enlist]]:
    return {
        "in_memory": enlist.Enlist.in_memory,
        "in_memory_for_tests": lambda **kw: enlist.Enlist.in_memory_for_tests(seed=1, **kw),
        "sqlite": lambda **kw: enlist.Enlist.sqlite(tmp_path / "e.sqlite3", **kw),
        # Options are checked before any connection is tried.
        "postgres": lambda **kw: enlist.Enlist.postgres(UNREACHABLE, **kw),
    }


def test_an_unknown_option_is_a_type_error_for_every_constructor(tmp_path: pathlib.Path) -> None:
    for name, make in constructors(tmp_path).items():
        with pytest.raises(TypeError, match=rf"Enlist\.{name}\(\) got an unexpected keyword argument 'colck'"):
            make(colck=enlist.ManualClock())
    assert not (tmp_path / "e.sqlite3").exists(), "refused before the store was opened"


def test_an_option_of_the_wrong_type_is_a_type_error_naming_it(tmp_path: pathlib.Path) -> None:
    for make in constructors(tmp_path).values():
        with pytest.raises(TypeError, match="argument 'clock'"):
            make(clock="2030-01-01")
        with pytest.raises(TypeError, match="argument 'retry'"):
            make(retry={"max_attempts": 2})
        with pytest.raises(TypeError, match="argument 'product_name'"):
            make(product_name=7)


def test_none_is_the_default(tmp_path: pathlib.Path) -> None:
    e = enlist.Enlist.in_memory(
        clock=None, product_name=None, accept_url_base=None,
        allowed_accept_url_bases=None, retry=None, secret_key=None,
    )
    assert e.now() > START.replace(year=2020)


def invite_one(e: enlist.Enlist) -> enlist.OutgoingEmail:
    org, owner = e.create_organization(
        "Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example"
    )
    e.invite(org, "bob@acme.example", actor=owner)
    sent: List[enlist.OutgoingEmail] = []
    e.deliver_pending(sent.append)
    (email,) = sent
    return email


def test_each_option_has_its_effect(tmp_path: pathlib.Path) -> None:
    clock = enlist.ManualClock(START)
    e = enlist.Enlist.sqlite(
        tmp_path / "options.sqlite3",
        clock=clock,
        product_name="Acme Hub",
        accept_url_base="https://hub.acme.example/join",
        allowed_accept_url_bases=["https://eu.acme.example/join"],
        retry=enlist.RetryPolicy(max_attempts=1),
        secret_key=bytes(range(32)),
    )
    assert e.now() == START
    email = invite_one(e)
    assert "Acme Hub" in email.subject + email.text_body
    assert email.accept_url.startswith("https://hub.acme.example/join")
    org, owner = e.create_organization(
        "Beta", owner_user_ref="acct-bea", owner_email="bea@beta.example"
    )
    policy = org.policy.replace(accept_url_base="https://eu.acme.example/join")
    assert e.update_policy(org, actor=owner, policy=policy).policy.accept_url_base == (
        "https://eu.acme.example/join"
    )
    # retry: one attempt, so the first failure gives the message up.
    e.invite(org, "cat@beta.example", actor=owner)

    def fail(_email: enlist.OutgoingEmail) -> None:
        raise RuntimeError("smtp down")

    assert len(e.deliver_pending(fail).failed) == 1
    assert e.claim_due() == []
    clock.advance(dt.timedelta(days=1))
    assert e.claim_due() == [], "given up after max_attempts=1, not retried"


def test_the_seed_repeats_the_secrets() -> None:
    def token(seed: int) -> str:
        e = enlist.Enlist.in_memory_for_tests(seed=seed, clock=enlist.ManualClock(START))
        org, owner = e.create_organization(
            "Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example"
        )
        (issued,) = e.invite(org, "bob@acme.example", actor=owner).issued
        return issued.secret

    assert token(5) == token(5) != token(6)


def registration_calls(e: enlist.Enlist) -> Dict[str, Callable[..., Any]]:
    org, owner = e.create_organization(
        "Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example",
        policy=enlist.Policy(self_registration=True, invite_link_enabled=True),
    )
    (bob,) = e.invite(org, "bob@acme.example", actor=owner).issued
    _link, token = e.activate_invite_link(org, actor=owner)
    return {
        "accept": lambda **kw: e.accept(bob.secret, user_ref="acct-bob", **kw),
        "accept_with_code": lambda **kw: e.accept_with_code(
            org, identifier="nobody", code="000000", user_ref="acct-x", **kw
        ),
        "join_by_link": lambda **kw: e.join_by_link(
            token, contact="cat@acme.example", user_ref="acct-cat", **kw
        ),
        "self_register": lambda **kw: e.self_register(
            org, contact="dan@acme.example", user_ref="acct-dan", **kw
        ),
    }


def test_an_unknown_registration_keyword_is_a_type_error() -> None:
    e = enlist.Enlist.in_memory_for_tests(seed=1, clock=enlist.ManualClock(START))
    for name, call in registration_calls(e).items():
        with pytest.raises(TypeError, match=rf"Enlist\.{name}\(\) got an unexpected keyword argument \"frist_name\""):
            call(frist_name="Bob")
        with pytest.raises(TypeError, match="two_factor_enrolled"):
            call(two_factor_enrolled="yes")


def test_the_registration_keywords_reach_the_member() -> None:
    e = enlist.Enlist.in_memory_for_tests(seed=1, clock=enlist.ManualClock(START))
    calls = registration_calls(e)
    bob = calls["accept"](
        first_name="Bob", last_name="Smith", phone="+1 555 0100",
        eula_version=None, two_factor_enrolled=True, verified_email="bob@acme.example",
    ).member
    assert (bob.first_name, bob.last_name, bob.phone) == ("Bob", "Smith", "+1 555 0100")
    cat = calls["join_by_link"](first_name="Cat", last_name="Jones")
    assert (cat.user_ref, cat.first_name) == ("acct-cat", "Cat")
    with pytest.raises(enlist.InvalidInputError):
        calls["self_register"](first_name="Dan", last_name="Doe", verified_email="eve@acme.example")
