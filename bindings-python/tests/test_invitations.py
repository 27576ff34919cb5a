"""Issuing invitations: batches, staged sends, resend, revoke, expiry,
lists and bulk import."""

from __future__ import annotations

import datetime as dt

import pytest

import enlist
from enlist import InvitationStatus, MemberKind, RecipientInput

from conftest import START, World, make_world


def test_invite_a_paste_reports_each_recipient(world: World) -> None:
    e = world.engine
    paste = 'bob@acme.example, "Jones, Carol" <carol@acme.example>\nbob at acme; ada@acme.example'
    report = e.invite(world.org, paste, actor=world.owner, message="Welcome aboard")
    assert report.total == len(report) == 4
    assert [i.invitation.recipient for i in report.issued] == ["bob@acme.example", "carol@acme.example"]
    assert [(r.index, r.input, r.reason.code) for r in report.rejected] == [
        (2, "bob at acme", "invalid_address"),
        (3, "ada@acme.example", "already_member"),
    ]
    assert report.rejected[1].reason.details == {"member": world.owner.id}
    assert report.rejected[0].reason.details["error"]["code"] == "missing_at"
    assert str(report.rejected[0].reason).startswith("invalid address")
    rows = list(report)
    assert [type(r).__name__ for r in rows] == [
        "IssuedInvitation",
        "IssuedInvitation",
        "RejectedRecipient",
        "RejectedRecipient",
    ]
    carol = report.issued[1]
    assert carol.index == 1
    assert carol.invitation.display_name == "Jones, Carol"
    assert carol.invitation.status is InvitationStatus.PENDING
    assert carol.invitation.expires_at == START + dt.timedelta(days=7)
    assert carol.invitation.inviter == world.owner.id
    assert carol.invitation.message == "Welcome aboard"
    assert carol.invitation.batch_id == report.batch_id
    assert carol.secret is not None and carol.secret.startswith(world.org.id + ".")
    assert carol.secret not in repr(carol), "repr never shows the secret"
    assert carol.message_id is not None
    csv = report.to_csv()
    assert csv.splitlines()[0] == "index,recipient,status,invitation_id,reason_code,reason,warnings"
    assert carol.secret not in csv
    assert "already_member" in csv


def test_invite_a_list_with_per_row_settings_and_identifiers(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    team = e.create_group(org, actor=owner, name="Team")
    report = e.invite(
        org,
        [
            "dan@acme.example",
            RecipientInput(email="eve@acme.example", first_name="Eve", role="admin"),
            RecipientInput(identifier="+33 6 12 34 56 78", first_name="Fred", last_name="Martin"),
            RecipientInput(first_name="Nobody"),
        ],
        actor=owner,
        groups=[team],
        license_type="pro",
    )
    dan, eve, fred = report.issued
    assert dan.invitation.role == "member" and eve.invitation.role == "admin"
    assert [g.group_id for g in dan.invitation.groups] == [team.id]
    assert dan.invitation.license_type == "pro"
    assert fred.invitation.is_by_identifier and fred.invitation.identifier == "+33 6 12 34 56 78"
    assert fred.invitation.email is None
    assert fred.message_id is None, "identifier invitations get an access code, not an email"
    assert fred.secret is not None and len(fred.secret) == 11, "an access code like ABCDE-FGHJK"
    (nobody,) = report.rejected
    assert nobody.reason.code == "missing_contact"
    with pytest.raises(TypeError):
        e.invite(org, [42], actor=owner)


def test_invite_guests(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    team = e.create_group(org, actor=owner, name="Team")
    report = e.invite(org, "gina@partner.example", actor=owner, kind=MemberKind.GUEST, groups=[team])
    (gina,) = report.issued
    assert gina.invitation.kind is MemberKind.GUEST and gina.invitation.role == "guest"
    with pytest.raises(enlist.InvalidInputError) as err:
        e.invite(org, "x@partner.example", actor=owner, kind="alien")
    assert err.value.field == "kind"


def test_form_field_is_held_to_the_policy_length(world: World) -> None:
    e = world.engine
    e.update_policy(world.org, actor=world.owner, policy=world.org.policy.replace(max_paste_field_chars=30))
    long_text = "a1@acme.example, a2@acme.example, a3@acme.example"
    with pytest.raises(enlist.LimitExceededError) as err:
        e.invite(world.org, long_text, actor=world.owner, form_field=True)
    assert err.value.limit is enlist.LimitKind.PASTE_FIELD_CHARS
    assert (err.value.max, err.value.actual) == (30, len(long_text))
    assert len(e.invite(world.org, long_text, actor=world.owner).issued) == 3, "the API takes longer text"
    with pytest.raises(enlist.InvalidInputError):
        e.invite(world.org, ["a@acme.example"], actor=world.owner, form_field=True)


def test_batch_limit_refuses_the_whole_batch(engine, clock) -> None:
    world = make_world(engine, clock, enlist.Policy(max_batch=2))
    with pytest.raises(enlist.LimitExceededError) as err:
        engine.invite(world.org, "a@x.example b@x.example c@x.example", actor=world.owner)
    assert err.value.code == "limit_exceeded"
    assert err.value.limit is enlist.LimitKind.BATCH_SIZE
    assert (err.value.max, err.value.actual) == (2, 3)
    assert err.value.facts["max"] == 2
    assert "batch_size" in str(err.value)
    assert len(engine.list_invitations(world.org, actor=world.owner)) == 0, "nothing was stored"


def test_staged_invitations_are_sent_later(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    report = e.invite(org, "sam@acme.example, tom@acme.example", actor=owner, send=False)
    sam, tom = report.issued
    assert sam.invitation.status is InvitationStatus.STAGED
    assert sam.secret is None and sam.message_id is None
    assert sam.invitation.expires_at is None
    assert world.deliver().sent == []
    sent = e.send_staged(org, [sam.invitation, tom.invitation.id, "inv_missing"], actor=owner)
    assert len(sent) == 3
    outcomes = list(sent)
    assert [o.sent for o in outcomes] == [True, True, False]
    assert outcomes[0].issued is not None and outcomes[0].issued.secret is not None
    assert outcomes[0].invitation_id == sam.invitation.id
    assert outcomes[2].code == "not_found" and outcomes[2].issued is None
    assert outcomes[2].message is not None and "inv_missing" in outcomes[2].message
    assert sorted(m.email.to for m in e.claim_due(org=org)) == ["sam@acme.example", "tom@acme.example"]


def test_revoke_then_the_secret_is_dead(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    (bob,) = e.invite(org, "bob@acme.example", actor=owner).issued
    revoked = e.revoke(org, bob.invitation, actor=owner)
    assert revoked.status is InvitationStatus.REVOKED and revoked.closed_at == START
    assert world.deliver().sent == [], "its unsent email was dropped"
    with pytest.raises(enlist.RevokedError) as err:
        e.accept(bob.secret, user_ref="acct-bob", first_name="Bob", last_name="B")
    assert err.value.code == "invitation_revoked" and err.value.invitation == bob.invitation.id
    with pytest.raises(enlist.ConflictError) as again:
        e.revoke(org, bob.invitation, actor=owner)
    assert again.value.code == "invitation_not_open"
    assert again.value.status is InvitationStatus.REVOKED


def test_resend_gives_a_new_secret_after_the_cooldown(world: World) -> None:
    e, org, owner, clock = world.engine, world.org, world.owner, world.clock
    (bob,) = e.invite(org, "bob@acme.example", actor=owner).issued
    with pytest.raises(enlist.LimitExceededError) as err:
        e.resend(org, bob.invitation, actor=owner)
    assert err.value.code == "resend_too_soon"
    assert err.value.retry_after == START + dt.timedelta(minutes=10)
    clock.advance(dt.timedelta(minutes=11))
    again = e.resend(org, bob.invitation.id, actor=owner)
    assert again.secret != bob.secret
    assert again.invitation.send_count == 2
    assert again.invitation.expires_at == START + dt.timedelta(minutes=11, days=7)
    with pytest.raises(enlist.NotFoundError):
        e.accept(bob.secret, user_ref="acct-bob", first_name="Bob", last_name="B")
    world.deliver()
    assert len(world.outbox.to("bob@acme.example")) == 1, "the superseded email was not sent"
    assert e.accept(world.outbox.token("bob@acme.example"), user_ref="acct-bob", first_name="Bob", last_name="B")


def test_expiry_is_computed_on_read_and_persisted_by_expire_due(world: World) -> None:
    e, org, owner, clock = world.engine, world.org, world.owner, world.clock
    (bob,) = e.invite(org, "bob@acme.example", actor=owner).issued
    clock.advance(dt.timedelta(days=8))
    assert e.invitation(org, bob.invitation, actor=owner).status is InvitationStatus.EXPIRED
    with pytest.raises(enlist.ExpiredError) as err:
        e.accept(bob.secret, user_ref="acct-bob", first_name="Bob", last_name="B")
    assert err.value.code == "invitation_expired"
    assert err.value.expired_at == START + dt.timedelta(days=7)
    assert err.value.invitation == bob.invitation.id
    assert e.expire_due() == 1
    assert e.expire_due(START + dt.timedelta(days=30)) == 0, "already persisted"
    kinds = [ev.kind for ev in e.events(org, actor=owner)]
    assert kinds.count(enlist.EventKind.INVITATION_EXPIRED) == 1
    with pytest.raises(enlist.InvalidInputError) as naive:
        e.expire_due(dt.datetime(2030, 1, 1))
    assert naive.value.field == "now"
    # An expired invitation does not block a new one.
    assert len(e.invite(org, "bob@acme.example", actor=owner).issued) == 1


def test_list_invitations_filters_and_pages(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    report = e.invite(org, [f"u{i}@acme.example" for i in range(5)], actor=owner)
    e.revoke(org, report.issued[0].invitation, actor=owner)
    first = e.list_invitations(org, actor=owner, limit=3)
    assert len(first) == 3 and first.next_cursor is not None
    rest = e.list_invitations(org, actor=owner, limit=3, after=first.next_cursor)
    assert len(rest) == 2 and rest.next_cursor is None
    everyone = {i.recipient for i in first} | {i.recipient for i in rest}
    assert everyone == {f"u{i}@acme.example" for i in range(5)}
    pending = e.list_invitations(org, actor=owner, statuses=[InvitationStatus.PENDING])
    assert {i.recipient for i in pending.items} == {f"u{i}@acme.example" for i in range(1, 5)}
    revoked = e.list_invitations(org, actor=owner, statuses=["revoked"], search="U0")
    assert [i.recipient for i in revoked] == ["u0@acme.example"]
    assert len(e.list_invitations(org, actor=owner, batch=report.batch_id)) == 5
    assert len(e.list_invitations(org, actor=owner, batch="bat_other")) == 0
    with pytest.raises(enlist.InvalidInputError):
        e.list_invitations(org, actor=owner, statuses=["lost"])
    with pytest.raises(enlist.LimitExceededError):
        e.list_invitations(org, actor=owner, limit=5000)


def test_import_a_csv_file(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    e.create_group(org, actor=owner, name="Sales")
    csv = (
        "Email;First name;Last name;Groups\n"
        "ann@acme.example;Ann;Lee;Sales:owner\n"
        "bad address;Bo;Ng;\n"
        "cy@acme.example;Cy;Po;Nowhere\n"
        "ann@acme.example;Ann;Again;\n"
    )
    report = e.import_invitations(org, csv.encode(), actor=owner, format="csv", message="Hi")
    assert report.issued_count == 1 and report.failed_count == 3
    (ann,) = report.issued()
    assert ann.line == 2 and ann.batch == 0
    assert ann.issued.invitation.first_name == "Ann"
    assert ann.issued.invitation.groups[0].role is enlist.GroupRole.OWNER
    rejected = {r.line: r.reason.code for r in report.rejected()}
    assert rejected == {3: "invalid_address", 4: "unknown_group", 5: "duplicate_in_batch"}
    assert [type(r).__name__ for r in report] == [
        "ImportedInvitation",
        "ImportRejection",
        "ImportRejection",
        "ImportRejection",
    ]
    assert report.line(0, 0) == 2
    assert report.batch_lines == [[2, 3, 5]]
    assert report.interrupted is None
    assert report.to_csv().startswith("line,recipient,status,batch,invitation_id,reason_code,reason")
    assert ann.issued.secret is not None and ann.issued.secret not in report.to_csv()
    with pytest.raises(enlist.InvalidInputError) as err:
        e.import_invitations(org, b"Name\nBob\n", actor=owner, format=enlist.ImportFormat.CSV)
    assert err.value.field == "file"


def test_import_row_limit_is_checked_before_anything(engine, clock) -> None:
    world = make_world(engine, clock, enlist.Policy(max_import_rows=2))
    rows = "Email\n" + "".join(f"p{i}@acme.example\n" for i in range(3))
    with pytest.raises(enlist.LimitExceededError) as err:
        engine.import_invitations(world.org, rows, actor=world.owner, format="csv")
    assert err.value.limit is enlist.LimitKind.IMPORT_ROWS
    assert len(engine.list_invitations(world.org, actor=world.owner)) == 0


def test_parse_import_and_the_template() -> None:
    template = enlist.import_template_csv()
    sheet = enlist.parse_import(template, "csv")
    assert len(sheet) == 2 and sheet.errors == [] and sheet.ignored_columns == []
    first, second = sheet.rows
    assert first.line == 2 and first.input.email == "ada.lovelace@example.com"
    assert [(g.name, g.role) for g in first.groups] == [("Sales", "owner"), ("Support", "member")]
    assert second.input.identifier == "+33 6 12 34 56 78"
    with pytest.raises(enlist.LimitExceededError):
        enlist.parse_import(template, enlist.ImportFormat.CSV, max_rows=1)
    assert enlist.import_format_for("Users.XLSX") is enlist.ImportFormat.XLSX
    assert enlist.import_format_for("users.xls") is None
    with pytest.raises(enlist.InvalidInputError):
        enlist.parse_import(b"PK\x03\x04 not a zip", "xlsx")
