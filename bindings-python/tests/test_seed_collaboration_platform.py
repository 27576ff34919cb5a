"""Seed 002, the collaboration platform's help page, walked end to end from
Python: invitations by email, by identifier with an access code, by link;
guests; bulk invitations from the Excel template (500 rows per file); group
administrators and members inviting when authorized; a professional email
domain; self-registration; a personal message."""

from __future__ import annotations

import datetime as dt

import pytest

import enlist
from enlist import Actor, GroupGrant, GroupRole, InvitationStatus, MemberKind, RecipientInput

from conftest import Outbox, RecordingEngine, record_call


def test_the_help_page_end_to_end(clock) -> None:
    outbox = Outbox()
    # The platform's host sets where accept links point.
    record_call("in_memory_for_tests")
    engine = RecordingEngine(
        enlist.Enlist.in_memory_for_tests(clock=clock, seed=7, accept_url_base="https://talk.example/join")
    )

    # The platform, its administrator, and a couple of groups.
    org, admin = engine.create_organization(
        "Talk & Co",
        owner_user_ref="acct-alice",
        owner_email="alice@talk.example",
        owner_first_name="Alice",
        owner_last_name="Admin",
    )
    general = engine.create_group(org, actor=admin, name="General", is_default=True)
    marketing = engine.create_group(org, actor=admin, name="Marketing")
    projects = engine.create_group(org, actor=admin, name="Projects")

    # "Inviting a user by email": contact information and groups; the user
    # receives a link to create their account. The personal message matters.
    report = engine.invite(
        org,
        [RecipientInput(email="bruno@talk.example", first_name="Bruno", last_name="Diaz")],
        actor=admin,
        groups=[marketing],
        message="We use Talk for every project: see you there!",
    )
    (bruno_inv,) = report.issued
    engine.deliver_pending(outbox)
    (email,) = outbox.to("bruno@talk.example")
    assert "We use Talk for every project" in email.text_body
    bruno = engine.accept(email.accept_url, user_ref="acct-bruno").member
    assert bruno.display_name == "Bruno Diaz", "the names the inviter typed pre-fill registration"
    assert bruno.groups == [GroupGrant(marketing)]

    # "Bulk invite of member users": the Excel file template, one future
    # user per row; at most 500 invitations per file.
    template = enlist.import_template_csv()
    header = template.splitlines()[0]
    rows = [
        "carla@talk.example,,Carla,Nunez,member,member,Marketing;Projects,standard",
        "dev@talk.example,,Dev,Patel,member,member,Projects:owner,standard",
        ",EMP-0107,Enzo,Ricci,member,member,General,standard",
        "not an address,,Fay,Wong,member,member,,standard",
    ]
    result = engine.import_invitations(org, "\n".join([header, *rows]) + "\n", actor=admin, format="csv")
    assert result.issued_count == 3
    assert [(r.line, r.reason.code) for r in result.rejected()] == [(5, "invalid_address")]
    too_many = "\n".join([header] + [f"p{i}@talk.example,,P,{i},member,member,,standard" for i in range(501)])
    with pytest.raises(enlist.LimitExceededError) as waves:
        engine.import_invitations(org, too_many, actor=admin, format="csv")
    assert (waves.value.max, waves.value.actual) == (500, 501), "send them in several waves"

    # "Inviting a user with an identifier": no email; an access code is
    # generated, shown once ("See access code"), and typed at registration.
    enzo_code = next(i.issued.secret for i in result.issued() if i.issued.invitation.identifier == "EMP-0107")
    assert enzo_code is not None
    enzo = engine.accept_with_code(org, identifier="EMP-0107", code=enzo_code, user_ref="acct-enzo").member
    assert enzo.identifier == "EMP-0107" and enzo.groups == [GroupGrant(general)]

    # "Inviting guests": limited access, only to the groups invited to.
    (gus_inv,) = engine.invite(
        org, "gus@agency.example", actor=admin, kind=MemberKind.GUEST, groups=[projects]
    ).issued
    gus = engine.accept(gus_inv.secret, user_ref="acct-gus", first_name="Gus", last_name="Guest").member
    assert gus.kind is MemberKind.GUEST and gus.role == "guest"
    assert [g.name for g in engine.list_groups(org, actor=gus)] == ["Projects"]
    with pytest.raises(enlist.PermissionDeniedError):
        engine.list_members(org, actor=gus)

    # "Inviting a user with an invitation link": activate it in the
    # Authorisations section, share it; deactivating kills it, reactivating
    # makes a new one.
    engine.update_policy(org, actor=admin, policy=engine.organization(org).policy.replace(invite_link_enabled=True))
    link, token = engine.activate_invite_link(org, actor=admin)
    assert engine.preview_link(token).org_name == "Talk & Co"
    hana = engine.join_by_link(token, contact="hana@talk.example", user_ref="acct-hana", first_name="Hana", last_name="Kim")
    assert hana.groups == [GroupGrant(general)], "members by link land in the default group"
    engine.deactivate_invite_link(org, actor=admin)
    with pytest.raises(enlist.NotFoundError):
        engine.join_by_link(token, contact="ivan@talk.example", user_ref="acct-ivan", first_name="I", last_name="V")
    _, new_token = engine.activate_invite_link(org, actor=admin)
    assert new_token != token and engine.invite_link(org, actor=admin).active

    # "If you don't see the +Invite button, only the platform administrators
    # can invite new users."
    with pytest.raises(enlist.PermissionDeniedError):
        engine.invite(org, "jo@talk.example", actor=bruno, groups=[marketing])

    # "Inviting new users when you're a group administrator", once an
    # administrator authorizes it: into the groups they administer.
    dev_token = next(i.issued.secret for i in result.issued() if i.issued.invitation.email == "dev@talk.example")
    dev = engine.accept(dev_token, user_ref="acct-dev", first_name="Dev", last_name="Patel").member
    assert dev.group_role(projects) is GroupRole.OWNER
    engine.update_policy(
        org,
        actor=admin,
        policy=engine.organization(org).policy.replace(group_owners_can_invite=True, members_can_invite=True),
    )
    (kai,) = engine.invite(org, "kai@talk.example", actor=dev, groups=[projects]).issued
    assert kai.invitation.inviter == dev.id
    with pytest.raises(enlist.PermissionDeniedError):
        engine.invite(org, "lea@talk.example", actor=dev, groups=[marketing])

    # "Inviting new users when you're a member": from the directory, as
    # members, into a group they belong to.
    (lea,) = engine.invite(org, "lea@talk.example", actor=bruno, groups=[marketing]).issued
    assert lea.invitation.role == "member"
    with pytest.raises(enlist.PermissionDeniedError):
        engine.invite(org, "max@talk.example", actor=bruno, role="admin", groups=[marketing])

    # "If the administration has imposed a professional email domain".
    engine.update_policy(
        org, actor=admin, policy=engine.organization(org).policy.replace(allowed_domains=["talk.example"])
    )
    blocked = engine.invite(org, "nina@gmail.example", actor=admin)
    assert [r.reason.code for r in blocked.rejected] == ["domain_not_allowed"]

    # "You can also allow users to register for themselves."
    engine.update_policy(
        org, actor=admin, policy=engine.organization(org).policy.replace(self_registration=True)
    )
    # Under an email domain rule, the host verifies the address first.
    omar = engine.self_register(
        org,
        contact="omar@talk.example",
        user_ref="acct-omar",
        first_name="Omar",
        last_name="Sy",
        verified_email="omar@talk.example",
    )
    assert omar.groups == [GroupGrant(general)]

    # Where everyone stands, and the trail of it all.
    emails = {m.contact: m.status for m in engine.list_members(org, actor=admin, limit=100)}
    assert emails == {
        "alice@talk.example": "active",
        "bruno@talk.example": "active",
        "EMP-0107": "active",
        "gus@agency.example": "active",
        "hana@talk.example": "active",
        "dev@talk.example": "active",
        "omar@talk.example": "active",
    }
    pending = engine.list_invitations(org, actor=admin, statuses=[InvitationStatus.PENDING], limit=100)
    assert sorted(i.recipient for i in pending) == ["carla@talk.example", "kai@talk.example", "lea@talk.example"]
    clock.advance(dt.timedelta(days=8))
    assert engine.expire_due() == 3
    trail = engine.events(org, actor=Actor.system(), limit=1000)
    assert trail[-1].kind is enlist.EventKind.INVITATION_EXPIRED
    assert len({ev.seq for ev in trail}) == len(trail)
