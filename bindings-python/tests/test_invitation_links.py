"""Several invitation links (issue 14, ADR 0013), from Python: named links
with their own terms, cap, expiry and domains; the URL shown again under
the engine's ``link_keys``; regenerate and revoke one link at a time."""

from __future__ import annotations

import datetime as dt

import pytest

import enlist
from enlist import LimitKind, LinkStatus, MemberKind

from conftest import ACCEPT_BASE, RecordingEngine, World, make_world

KEY = bytes(range(32))


@pytest.fixture
def keyed(clock: enlist.ManualClock) -> World:
    engine = RecordingEngine(
        enlist.Enlist.in_memory_for_tests(clock=clock, seed=7, accept_url_base=ACCEPT_BASE, link_keys=[KEY])
    )
    return make_world(engine, clock, enlist.Policy(invite_link_enabled=True))


def names(user: str) -> dict:
    return {"user_ref": user, "first_name": "Test", "last_name": "Person"}


def test_named_links_have_their_own_terms_cap_and_domains(keyed: World) -> None:
    e, org, admin = keyed.engine, keyed.org, keyed.owner
    link, url = e.create_link(org, actor=admin, name="First two", max_uses=2)
    assert (link.name, link.role, link.kind, link.status) == ("First two", "member", MemberKind.MEMBER, LinkStatus.ACTIVE)
    assert link.max_uses == 2 and link.uses == 0 and link.id.startswith("lnk_")
    assert url not in repr(e.create_link(org, actor=admin, name="other"))
    e.join_by_link(url, contact="a@acme.example", **names("acct-a"))
    e.join_by_link(url, contact="b@acme.example", **names("acct-b"))
    with pytest.raises(enlist.LimitExceededError) as full:
        e.join_by_link(url, contact="c@acme.example", **names("acct-c"))
    assert full.value.limit is LimitKind.LINK_USES and full.value.max == 2
    seen = e.link(org, actor=admin, link_id=link.id)
    assert (seen.uses, seen.status) == (2, LinkStatus.EXHAUSTED)

    partners, purl = e.create_link(
        org, actor=admin, name="Partners", allowed_domains=["Partner.example"], expires_in_secs=3600
    )
    assert partners.allowed_domains == ["partner.example"]
    assert partners.expires_at == keyed.clock.now() + dt.timedelta(hours=1)
    with pytest.raises(enlist.InvalidInputError):
        e.join_by_link(purl, contact="x@evil.example", verified_email="x@evil.example", **names("acct-x"))
    bob = e.join_by_link(purl, contact="bob@partner.example", verified_email="bob@partner.example", **names("acct-bob"))
    assert bob.role == "member"
    keyed.clock.advance(dt.timedelta(hours=2))
    with pytest.raises(enlist.ExpiredError) as expired:
        e.join_by_link(purl, contact="eve@partner.example", verified_email="eve@partner.example", **names("acct-eve"))
    assert expired.value.code == "link_expired" and expired.value.link == partners.id

    page = e.links(org, actor=admin, limit=2)
    assert len(page) == 2 and page.next_cursor
    rest = e.links(org, actor=admin, after=page.next_cursor, limit=2)
    assert len(rest) == 1 and rest.next_cursor is None
    assert {l.name: l.status for l in [*page, *rest]} == {
        "First two": LinkStatus.EXHAUSTED,
        "other": LinkStatus.ACTIVE,
        "Partners": LinkStatus.EXPIRED,
    }


def test_the_url_is_shown_again_regenerated_and_revoked(keyed: World) -> None:
    e, org, admin = keyed.engine, keyed.org, keyed.owner
    a, url_a = e.create_link(org, actor=admin, name="Team A")
    b, url_b = e.create_link(org, actor=admin, name="Team B")
    assert e.link_url(org, actor=admin, link_id=a.id) == url_a
    assert url_a.startswith(ACCEPT_BASE)
    a2, url_a2 = e.regenerate_link(org, actor=admin, link_id=a.id)
    assert url_a2 != url_a and a2.id == a.id
    with pytest.raises(enlist.NotFoundError):
        e.preview_link(url_a)
    assert e.preview_link(url_a2).org_name == "Acme"
    revoked = e.revoke_link(org, actor=admin, link_id=b.id)
    assert revoked.status is LinkStatus.REVOKED
    with pytest.raises(enlist.NotFoundError):
        e.join_by_link(url_b, contact="z@acme.example", **names("acct-z"))
    # A plain member can neither see nor make links.
    mel = keyed.join("mel@acme.example")
    for call in (
        lambda: e.create_link(org, actor=mel, name="mine"),
        lambda: e.links(org, actor=mel),
        lambda: e.link_url(org, actor=mel, link_id=a.id),
        lambda: e.revoke_link(org, actor=mel, link_id=a.id),
    ):
        with pytest.raises(enlist.PermissionDeniedError):
            call()


def test_without_a_key_the_url_is_shown_once(world: World) -> None:
    e, org, admin = world.engine, world.org, world.owner
    e.update_policy(org, actor=admin, policy=e.organization(org).policy.replace(invite_link_enabled=True))
    link, url = e.create_link(org, actor=admin, name="Once", kind="member")
    with pytest.raises(enlist.ConflictError) as not_kept:
        e.link_url(org, actor=admin, link_id=link.id)
    assert not_kept.value.code == "link_url_not_kept"
    assert not_kept.value.key_configured is False
    assert url not in str(not_kept.value)
    with pytest.raises(enlist.InvalidInputError):
        enlist.Enlist.in_memory(link_keys=[b"short"])
    with pytest.raises(TypeError):
        enlist.Enlist.in_memory(link_keys="not bytes")  # type: ignore[arg-type]
