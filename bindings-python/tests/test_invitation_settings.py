"""Per-invitation settings (issue 14): an invitation's own lifetime within
the policy's bounds [Clerk ``expires_in_days``, Auth0 ``ttl_sec``], a
redirect URL from the host's allowlist [Clerk ``redirect_url``], public and
private metadata as dicts [Clerk ``public_metadata`` / ``private_metadata``],
the language of the email [WorkOS], and a limit of open invitations per
inviter [better-auth ``invitationLimit``]."""

from __future__ import annotations

import datetime as dt

import pytest

import enlist
from enlist import RecipientInput

from conftest import ACCEPT_BASE, START, World, make_world, record_call

DAY = dt.timedelta(days=1)


def bounded() -> enlist.Policy:
    return enlist.Policy(
        min_invitation_lifetime=dt.timedelta(hours=1),
        invitation_lifetime=7 * DAY,
        max_invitation_lifetime=30 * DAY,
    )


def test_the_policy_bounds_the_lifetime_and_limits_each_inviter() -> None:
    p = bounded().replace(max_open_invitations_per_inviter=2)
    assert p.min_invitation_lifetime == dt.timedelta(hours=1)
    assert p.max_invitation_lifetime == 30 * DAY
    assert p.max_open_invitations_per_inviter == 2
    # Defaults keep every lifetime the policy could already hold.
    assert enlist.Policy().min_invitation_lifetime == dt.timedelta(seconds=1)
    assert enlist.Policy().max_invitation_lifetime == 366 * DAY
    assert enlist.Policy().max_open_invitations_per_inviter is None


def test_an_invitation_lasts_its_own_lifetime_and_a_resend_renews_it(engine, clock) -> None:
    w = make_world(engine, clock, bounded())
    e = w.engine
    report = e.invite(w.org, "ann@acme.example", actor=w.owner, lifetime=2 * DAY)
    inv = report.issued[0].invitation
    assert inv.lifetime_secs == 2 * 86_400
    assert inv.expires_at == START + 2 * DAY
    clock.advance(3 * DAY)
    again = e.resend(w.org, inv, actor=w.owner)
    assert again.invitation.expires_at == START + 5 * DAY
    with pytest.raises(enlist.InvalidInputError):
        e.invite(w.org, "bob@acme.example", actor=w.owner, lifetime=31 * DAY)
    assert [i.recipient for i in e.list_invitations(w.org, actor=w.owner).items] == ["ann@acme.example"]


def test_a_rows_own_lifetime_and_locale_and_the_dry_run_agree(engine, clock) -> None:
    w = make_world(engine, clock, bounded())
    rows = [
        RecipientInput(email="ok@acme.example", lifetime=DAY, locale="de"),
        RecipientInput(email="long@acme.example", lifetime=60 * DAY),
    ]
    dry = w.engine.dry_run_invite(w.org, rows, actor=w.owner)
    report = w.engine.invite(w.org, rows, actor=w.owner)
    assert [r.reason.code for r in report.rejected] == ["lifetime_out_of_bounds"]
    assert report.rejected[0].reason.details == {
        "lifetime_secs": 60 * 86_400,
        "min_secs": 3600,
        "max_secs": 30 * 86_400,
    }
    assert [r.reason.code for r in dry.rejected] == ["lifetime_out_of_bounds"]
    assert (dry.would_issue[0].lifetime_secs, dry.would_issue[0].locale) == (86_400, "de")
    assert report.issued[0].invitation.locale == "de"


def test_the_staged_edit_sets_lifetime_and_locale(world: World) -> None:
    e = world.engine
    staged = e.invite(world.org, "ann@acme.example", actor=world.owner, send=False).issued[0].invitation
    edited = e.update_staged_invitation(world.org, staged, actor=world.owner, lifetime=DAY, locale="fr_ca")
    assert (edited.lifetime_secs, edited.locale) == (86_400, "fr-CA")
    sent = e.send_staged(world.org, [staged], actor=world.owner)
    assert sent.results[0].issued.invitation.expires_at == START + DAY


def test_a_german_invitation_renders_the_german_template(world: World) -> None:
    e = world.engine
    e.set_email_template(
        world.org,
        actor=world.owner,
        locale="de",
        subject="Einladung zu {{ organization }}",
        text_body="Hallo {{ recipient_name }}: {{ accept_url }}",
    )
    report = e.invite(world.org, "ann@acme.example, bob@acme.example", actor=world.owner, locale="de-AT")
    world.deliver()
    assert [m.subject for m in world.outbox.sent] == ["Einladung zu Acme"] * 2
    preview = e.preview(world.outbox.token("ann@acme.example"))
    assert preview.locale == "de-AT"
    assert report.issued[0].invitation.locale == "de-AT"


def test_an_import_sets_locale_and_lifetime(engine, clock) -> None:
    w = make_world(engine, clock, bounded())
    csv = "email,language,expires in days\nann@acme.example,de,3\nbob@acme.example,,\n"
    report = w.engine.import_invitations(w.org, csv, actor=w.owner, format="csv", locale="fr", lifetime=2 * DAY)
    issued = {i.invitation.recipient: i.invitation for b in report.batches for i in b.issued}
    assert (issued["ann@acme.example"].locale, issued["ann@acme.example"].lifetime_secs) == ("de", 3 * 86_400)
    assert (issued["bob@acme.example"].locale, issued["bob@acme.example"].lifetime_secs) == ("fr", 2 * 86_400)


def test_bad_import_defaults_fail_the_import(engine, clock) -> None:
    w = make_world(engine, clock, bounded())
    csv = "email\nann@acme.example\n"
    with pytest.raises(enlist.InvalidInputError):
        w.engine.dry_run_import(w.org, csv, actor=w.owner, format="csv", lifetime=90 * DAY)
    with pytest.raises(enlist.InvalidInputError):
        w.engine.import_invitations(w.org, csv, actor=w.owner, format="csv", locale="not a tag")


def test_a_redirect_url_comes_from_the_hosts_allowlist(clock) -> None:
    record_call("in_memory_for_tests")
    engine = enlist.Enlist.in_memory_for_tests(
        clock=clock,
        seed=7,
        accept_url_base=ACCEPT_BASE,
        allowed_redirect_urls=["https://app.acme.example/welcome"],
    )
    w = make_world(engine, clock)
    for bad in [
        "https://evil.example/welcome",
        "https://app.acme.example/welcome/../admin",
        "https://app.acme.example@evil.example/welcome",
        "https://app.acme.example/welcome#x",
    ]:
        with pytest.raises(enlist.InvalidInputError):
            engine.invite(w.org, "ann@acme.example", actor=w.owner, redirect_url=bad)
    report = engine.invite(
        w.org, "ann@acme.example", actor=w.owner, redirect_url="https://app.acme.example/welcome/team"
    )
    token = report.issued[0].secret
    assert engine.preview(token).redirect_url == "https://app.acme.example/welcome/team"
    acceptance = engine.accept(token, user_ref="acct-ann", first_name="Ann", last_name="Lee")
    assert acceptance.invitation.redirect_url == "https://app.acme.example/welcome/team"
    with pytest.raises(TypeError):
        enlist.Enlist.in_memory(allowed_redirect_url=["https://x.example/"])  # type: ignore[call-arg]
    with pytest.raises(enlist.InvalidInputError):
        enlist.Enlist.in_memory(allowed_redirect_urls=["https://app.acme.example/welcome?x=1"])


def test_metadata_is_a_dict_and_the_private_part_never_reaches_the_invitee(world: World) -> None:
    e = world.engine
    public = {"team": "blue", "seats": [1, 2.5, None, {"deep": True}]}
    private = {"crm_id": "A-17"}
    report = e.invite(
        world.org,
        "ann@acme.example, dan@acme.example",
        actor=world.owner,
        public_metadata=public,
        private_metadata=private,
    )
    assert report.issued[0].invitation.public_metadata == public
    assert report.issued[0].invitation.private_metadata == private
    token = report.issued[0].secret
    preview = e.preview(token)
    assert preview.public_metadata == public
    assert not hasattr(preview, "private_metadata")
    acceptance = e.accept(token, user_ref="acct-ann", first_name="Ann", last_name="Lee")
    assert "A-17" not in repr(acceptance.to_dict())
    assert acceptance.member.private_metadata == {}
    assert e.decline(report.issued[1].secret).private_metadata == {}
    member = e.member(world.org, acceptance.member, actor=world.owner)
    assert (member.public_metadata, member.private_metadata) == (public, private)
    # Only an administrator edits it.
    with pytest.raises(enlist.PermissionDeniedError):
        e.update_member(world.org, member, actor=member, public_metadata={"team": "gold"})
    edited = e.update_member(world.org, member, actor=world.owner, private_metadata={})
    assert edited.private_metadata == {}
    # JSON text is taken too; anything else, or too much, is refused.
    again = e.update_member(world.org, member, actor=world.owner, public_metadata='{"team": "red"}')
    assert again.public_metadata == {"team": "red"}
    for bad in [
        [1, 2],
        {"a": float("nan")},
        {1: "x"},
        {"a": object()},
        {"k": "x" * 5000},
        {str(i): i for i in range(1000)},
        "[1]",
    ]:
        with pytest.raises((enlist.InvalidInputError, enlist.LimitExceededError)):
            e.invite(world.org, "eve@acme.example", actor=world.owner, public_metadata=bad)
    deep: dict = {}
    cur = deep
    for _ in range(100):
        cur["k"] = {}
        cur = cur["k"]
    with pytest.raises(enlist.InvalidInputError):
        e.invite(world.org, "eve@acme.example", actor=world.owner, private_metadata=deep)
    assert not e.list_invitations(world.org, actor=world.owner, search="eve").items


def test_an_inviter_has_at_most_the_policys_open_invitations(engine, clock) -> None:
    w = make_world(engine, clock, enlist.Policy(max_open_invitations_per_inviter=2))
    paste = "a@acme.example, b@acme.example, c@acme.example"
    dry = w.engine.dry_run_invite(w.org, paste, actor=w.owner)
    report = w.engine.invite(w.org, paste, actor=w.owner)
    assert len(report.issued) == 2
    assert [(r.input, r.reason.code, r.reason.details) for r in report.rejected] == [
        ("c@acme.example", "inviter_limit_reached", {"limit": 2})
    ]
    assert [r.reason.code for r in dry.rejected] == ["inviter_limit_reached"]
    w.engine.revoke(w.org, report.issued[0].invitation, actor=w.owner)
    assert len(w.engine.invite(w.org, "c@acme.example", actor=w.owner).issued) == 1
    clock.advance(8 * DAY)
    assert len(w.engine.invite(w.org, "d@acme.example, e@acme.example", actor=w.owner).issued) == 2
    with pytest.raises(enlist.LimitExceededError) as err:
        w.engine.resend(w.org, report.issued[1].invitation, actor=w.owner)
    assert err.value.limit is enlist.LimitKind.OPEN_INVITATIONS_PER_INVITER
