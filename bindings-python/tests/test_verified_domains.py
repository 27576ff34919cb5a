"""Verified domains and membership requests (Clerk Verified Domains and
membership requests, Auth0 Membership on Authentication): claim a domain,
verify it by DNS TXT or a mailed code, open it to auto-join or requests,
and decide requests."""

from __future__ import annotations

import pytest

import enlist
from enlist import DomainEnrollment, DomainStatus, DomainVerificationMethod, MembershipRequestStatus

from conftest import World


def verified(world: World, domain: str = "acme.example") -> enlist.OrgDomain:
    e, org, owner = world.engine, world.org, world.owner
    claim = e.claim_domain(org, domain, actor=owner)
    assert claim.status is DomainStatus.PENDING
    assert claim.dns_record_name == f"_enlist-verification.{domain}"
    d: enlist.OrgDomain = e.verify_domain_dns(
        org, domain, actor=owner, txt_values=["v=spf1 -all", claim.dns_record_value]
    )
    return d


def test_a_domain_is_claimed_and_verified_by_dns(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    claim = e.claim_domain(org, "Acme.Example.", actor=owner)
    assert claim.domain == "acme.example" and claim.enrollment is DomainEnrollment.OFF
    with pytest.raises(enlist.ConflictError):
        e.verify_domain_dns(org, "acme.example", actor=owner, txt_values=["nothing"])
    with pytest.raises(enlist.InvalidInputError):
        e.claim_domain(org, "*.acme.example", actor=owner)
    with pytest.raises(enlist.LimitExceededError):
        e.verify_domain_dns(org, "acme.example", actor=owner, txt_values=["x"] * 65)
    d = e.verify_domain_dns(org, "acme.example", actor=owner, txt_values=[claim.dns_record_value])
    assert d.status is DomainStatus.VERIFIED and d.method is DomainVerificationMethod.DNS_TXT
    assert [x.domain for x in e.domains(org, actor=owner)] == ["acme.example"]
    assert e.remove_domain(org, "acme.example", actor=owner) is True
    assert e.domains(org, actor=owner) == []


def test_a_domain_is_verified_by_a_mailed_code_kept_only_hashed(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    e.claim_domain(org, "acme.example", actor=owner)
    d = e.send_domain_code(org, "acme.example", actor=owner, email="it@acme.example")
    assert d.code_sent_to == "it@acme.example"
    assert "code_hash" not in d.to_dict()
    world.deliver()
    (mail,) = world.outbox.to("it@acme.example")
    code = mail.accept_url
    assert code in mail.text_body
    with pytest.raises(enlist.EnlistError) as wrong:
        e.verify_domain_code(org, "acme.example", actor=owner, code="00000-00000")
    assert wrong.value.code == "invalid_secret"
    d = e.verify_domain_code(org, "acme.example", actor=owner, code=code)
    assert d.method is DomainVerificationMethod.EMAIL_CODE


def test_auto_join_and_offers(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    verified(world)
    assert e.domain_offers("pat@acme.example", user_ref="acct-pat") == []
    e.set_domain_enrollment(org, "acme.example", actor=owner, enrollment="auto_join")
    (offer,) = e.domain_offers("pat@acme.example", user_ref="acct-pat")
    assert offer.org_name == "Acme" and offer.enrollment is DomainEnrollment.AUTO_JOIN
    with pytest.raises(enlist.InvalidInputError) as missing:
        e.join_by_domain(org, user_ref="acct-pat", first_name="Pat", last_name="Doe")
    assert missing.value.code == "registration_incomplete"
    m = e.join_by_domain(
        org, user_ref="acct-pat", first_name="Pat", last_name="Doe", verified_email="pat@acme.example"
    )
    assert m.email == "pat@acme.example" and m.role == "member"
    assert e.domain_offers("pat@acme.example", user_ref="acct-pat") == []


def test_membership_requests_are_listed_approved_and_declined(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    verified(world)
    e.set_domain_enrollment(
        org, "acme.example", actor=owner, enrollment=DomainEnrollment.REQUEST, role="member"
    )
    with pytest.raises(enlist.NotFoundError):
        e.join_by_domain(
            org, user_ref="acct-sam", first_name="Sam", last_name="Roe", verified_email="sam@acme.example"
        )
    sam = e.request_membership(
        org, user_ref="acct-sam", first_name="Sam", last_name="Roe", verified_email="sam@acme.example"
    )
    again = e.request_membership(
        org, user_ref="acct-sam", first_name="Sam", last_name="Roe", verified_email="sam@acme.example"
    )
    assert again.id == sam.id and sam.status is MembershipRequestStatus.PENDING
    kim = e.request_membership(
        org, user_ref="acct-kim", first_name="Kim", last_name="Poe", verified_email="kim@acme.example"
    )
    page = e.membership_requests(org, actor=owner, limit=1)
    assert len(page) == 1 and page.next_cursor is not None
    rest = e.membership_requests(org, actor=owner, after=page.next_cursor)
    # Oldest first, ties (two requests in the same instant) by id.
    oldest_first = [r.id for r in sorted([sam, kim], key=lambda r: (r.created_at, r.id))]
    assert [r.id for r in page] + [r.id for r in rest] == oldest_first
    member = e.approve_membership_request(org, sam, actor=owner)
    assert member.email == "sam@acme.example"
    declined = e.decline_membership_request(org, kim.id, actor=owner)
    assert declined.status is MembershipRequestStatus.DECLINED
    seen = e.my_membership_request(org, user_ref="acct-kim")
    assert seen is not None and seen.status is MembershipRequestStatus.DECLINED
    pending = e.membership_requests(org, actor=owner, status="pending")
    assert list(pending) == []
    kinds = [ev.kind for ev in e.events(org, actor=owner, limit=1000)]
    assert enlist.EventKind.MEMBERSHIP_REQUEST_APPROVED in kinds
    assert enlist.EventKind.MEMBERSHIP_REQUEST_DECLINED in kinds


def test_a_plain_member_cannot_claim_or_decide(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    bob = world.join("bob@acme.example")
    with pytest.raises(enlist.PermissionDeniedError):
        e.claim_domain(org, "acme.example", actor=bob)
    with pytest.raises(enlist.PermissionDeniedError):
        e.membership_requests(org, actor=bob)
    assert owner is not None
