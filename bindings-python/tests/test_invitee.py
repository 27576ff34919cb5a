"""The invitee's side: preview, accept (token or access code), decline; the
invitation link and self-registration."""

from __future__ import annotations

import datetime as dt

import pytest

import enlist
from enlist import InvitationStatus, MemberKind

from conftest import START, World, make_world


def test_preview_consumes_nothing_and_accept_creates_the_member(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    team = e.create_group(org, actor=owner, name="Team")
    e.invite(org, "Bob Smith <bob@acme.example>", actor=owner, groups=[team], message="Join us")
    world.deliver()
    (email,) = world.outbox.to("bob@acme.example")
    assert email.to_name == "Bob Smith" and email.org_name == "Acme"
    assert email.inviter_name == "Ada Lovelace" and email.personal_message == "Join us"
    assert email.accept_url.startswith("https://app.acme.example/accept?token=")
    assert email.expires_at == START + dt.timedelta(days=7)
    token = world.outbox.token("bob@acme.example")
    for _ in range(2):
        preview = e.preview(email.accept_url)  # the whole link works, and twice
        assert preview.org_name == "Acme" and preview.inviter_name == "Ada Lovelace"
        assert preview.recipient == preview.email == "bob@acme.example"
        assert preview.group_names == ["Team"] and preview.message == "Join us"
        assert preview.status is InvitationStatus.PENDING and preview.kind is MemberKind.MEMBER
        assert preview.requirements.first_name and not preview.requirements.phone
        assert preview.display_name == "Bob Smith"
    with pytest.raises(enlist.InvalidInputError) as err:
        e.accept(token, user_ref="acct-bob")
    assert err.value.code == "registration_incomplete"
    assert err.value.missing == ["first_name", "last_name"] or err.value.missing == ["last_name"]
    with pytest.raises(enlist.InvalidInputError) as mismatch:
        e.accept(token, user_ref="acct-bob", first_name="Bob", last_name="Smith", verified_email="eve@acme.example")
    assert mismatch.value.code == "email_mismatch"
    assert (mismatch.value.invited, mismatch.value.presented) == ("bob@acme.example", "eve@acme.example")
    accepted = e.accept(
        token,
        user_ref="acct-bob",
        first_name="Bob",
        last_name="Smith",
        phone="+1 555 0100",
        verified_email="BOB@acme.example",
    )
    assert accepted.member.status is enlist.MemberStatus.ACTIVE
    assert accepted.member.groups == [enlist.GroupGrant(team)]
    assert accepted.member.phone == "+1 555 0100"
    assert accepted.invitation.status is InvitationStatus.ACCEPTED
    assert accepted.invitation.member_id == accepted.member.id
    assert e.preview(token).status is InvitationStatus.ACCEPTED
    with pytest.raises(enlist.ConflictError):
        e.accept(token, user_ref="acct-bob2", first_name="B", last_name="S")


def test_invalid_tokens_are_not_found(world: World) -> None:
    with pytest.raises(enlist.NotFoundError) as err:
        world.engine.preview("garbage")
    assert err.value.code == "invalid_secret"
    with pytest.raises(enlist.NotFoundError):
        world.engine.decline(world.org.id + "." + "A" * 43)


def test_decline(world: World) -> None:
    e = world.engine
    (bob,) = e.invite(world.org, "bob@acme.example", actor=world.owner).issued
    declined = e.decline(bob.secret)
    assert declined.status is InvitationStatus.DECLINED
    assert world.deliver().sent == [], "a declined invitation's email is not sent"
    with pytest.raises(enlist.ConflictError) as err:
        e.decline(bob.secret)
    assert err.value.status is InvitationStatus.DECLINED


def test_accept_with_an_access_code_and_the_attempt_limit(engine, clock) -> None:
    world = make_world(engine, clock, enlist.Policy(access_code_attempts=2))
    e, org, owner = world.engine, world.org, world.owner
    report = e.invite(org, [enlist.RecipientInput(identifier="EMP-0042", first_name="Zoe", last_name="Quinn")], actor=owner)
    (zoe,) = report.issued
    code = zoe.secret
    assert code is not None
    # Every anonymous failure looks the same: an unknown identifier, a wrong
    # code, a locked invitation.
    for identifier in ("emp 0043", "EMP-0042", "EMP-0042"):
        with pytest.raises(enlist.NotFoundError) as wrong:
            e.accept_with_code(org, identifier=identifier, code="00000-00000", user_ref="acct-zoe")
        assert wrong.value.code == "invalid_secret"
    # Two wrong codes lock the invitation for a while; it is not revoked.
    locked = e.invitation(org, zoe.invitation, actor=owner)
    assert locked.status is InvitationStatus.PENDING
    assert locked.locked_until is not None and locked.locked_until > clock.now()
    assert locked.failed_attempts == 2
    with pytest.raises(enlist.NotFoundError) as refused:
        e.accept_with_code(org, identifier="EMP-0042", code=code, user_ref="acct-zoe")
    assert refused.value.code == "invalid_secret", "even the right code, while locked"
    # Once the lock is over the right code works; a resend clears a lock at once.
    clock.advance(locked.locked_until - clock.now())
    accepted = e.accept_with_code(
        org, identifier="emp-0042", code=code.lower().replace("-", " "), user_ref="acct-zoe"
    )
    assert accepted.member.identifier == "EMP-0042" and accepted.member.email is None
    assert accepted.member.display_name == "Zoe Quinn", "names given by the inviter pre-fill"
    assert accepted.invitation.locked_until is None

    (yan,) = e.invite(org, [enlist.RecipientInput(identifier="EMP-0050", first_name="Yan", last_name="Ho")], actor=owner).issued
    for _ in range(2):
        with pytest.raises(enlist.NotFoundError):
            e.accept_with_code(org, identifier="EMP-0050", code="00000-00000", user_ref="acct-yan")
    assert e.invitation(org, yan.invitation, actor=owner).locked_until is not None
    world.clock.advance(dt.timedelta(minutes=10))
    again = e.resend(org, yan.invitation, actor=owner)
    assert again.secret is not None and again.secret != yan.secret
    assert again.invitation.locked_until is None and again.invitation.failed_attempts == 0
    e.accept_with_code(org, identifier="EMP-0050", code=again.secret, user_ref="acct-yan")


def test_invite_link_lifecycle(engine, clock) -> None:
    world = make_world(engine, clock, enlist.Policy(invite_link_enabled=True, allowed_domains=["acme.example"]))
    e, org, owner = world.engine, world.org, world.owner
    assert e.invite_link(org, actor=owner) is None
    team = e.create_group(org, actor=owner, name="Team")
    link, token = e.activate_invite_link(org, actor=owner, groups=[team], license_type="lite")
    assert token.startswith(f"https://app.acme.example/accept?token={org.id}."), "the link to share"
    assert link.active and link.uses == 0 and link.role == "member" and link.license_type == "lite"
    assert link.created_by == owner.id and link.kind is MemberKind.MEMBER
    preview = e.preview_link(token)
    assert (preview.org_name, preview.role, preview.group_names) == ("Acme", "member", ["Team"])
    assert preview.requirements.last_name
    with pytest.raises(enlist.InvalidInputError) as domain:
        e.join_by_link(token, contact="mallory@evil.example", user_ref="acct-m", first_name="M", last_name="X")
    assert domain.value.code == "domain_not_allowed" and domain.value.domain == "evil.example"
    # Under allowed_domains a typed address is not enough: the host must
    # have verified it; an identifier is refused outright.
    with pytest.raises(enlist.InvalidInputError) as unverified:
        e.join_by_link(token, contact="kim@acme.example", user_ref="acct-kim", first_name="Kim", last_name="Lee")
    assert unverified.value.code == "registration_incomplete" and unverified.value.missing == ["verified_email"]
    with pytest.raises(enlist.InvalidInputError):
        e.join_by_link(token, contact="EMP-0042", user_ref="acct-kim", first_name="Kim", last_name="Lee")
    assert e.invite_link(org, actor=owner).uses == 0
    kim = e.join_by_link(
        token,
        contact="kim@acme.example",
        user_ref="acct-kim",
        first_name="Kim",
        last_name="Lee",
        verified_email="kim@acme.example",
    )
    assert kim.email == "kim@acme.example" and kim.license_type == "lite"
    assert kim.groups == [enlist.GroupGrant(team)]
    assert e.invite_link(org, actor=owner).uses == 1
    # Deactivating kills it; activating again makes a new secret.
    e.deactivate_invite_link(org, actor=owner)
    assert not e.invite_link(org, actor=owner).active
    with pytest.raises(enlist.NotFoundError):
        e.preview_link(token)
    _, token2 = e.activate_invite_link(org, actor=owner)
    assert token2 != token
    with pytest.raises(enlist.NotFoundError):
        e.join_by_link(token, contact="lou@acme.example", user_ref="acct-lou", first_name="L", last_name="L")
    assert e.join_by_link(
        token2,
        contact="lou@acme.example",
        user_ref="acct-lou",
        first_name="Lou",
        last_name="L",
        verified_email="lou@acme.example",
    )


def test_invite_link_disabled_by_policy(world: World) -> None:
    with pytest.raises(enlist.PermissionDeniedError) as err:
        world.engine.activate_invite_link(world.org, actor=world.owner)
    assert err.value.code == "disabled" and err.value.feature == "invite_link"


def test_self_registration(engine, clock) -> None:
    world = make_world(engine, clock)
    e, org, owner = world.engine, world.org, world.owner
    with pytest.raises(enlist.PermissionDeniedError) as off:
        e.self_register(org, contact="sue@acme.example", user_ref="acct-sue", first_name="Sue", last_name="S")
    assert off.value.feature == "self_registration"
    e.update_policy(
        org,
        actor=owner,
        policy=org.policy.replace(self_registration=True, eula_version="2030-01", require_two_factor=True),
    )
    with pytest.raises(enlist.InvalidInputError) as incomplete:
        e.self_register(org, contact="sue@acme.example", user_ref="acct-sue", first_name="Sue", last_name="S")
    assert sorted(incomplete.value.missing) == ["eula_version", "two_factor"]
    sue = e.self_register(
        org,
        contact="sue@acme.example",
        user_ref="acct-sue",
        first_name="Sue",
        last_name="S",
        eula_version="2030-01",
        two_factor_enrolled=True,
    )
    assert sue.eula_version == "2030-01" and sue.two_factor_enrolled and sue.role == "member"
    with pytest.raises(enlist.ConflictError) as twice:
        e.self_register(
            org,
            contact="Sue@acme.example",
            user_ref="acct-sue2",
            first_name="Sue",
            last_name="S",
            eula_version="2030-01",
            two_factor_enrolled=True,
        )
    assert twice.value.code == "already_member" and twice.value.member == sue.id
