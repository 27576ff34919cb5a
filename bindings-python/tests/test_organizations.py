"""Organizations, the policy, roles and the audit trail."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import enlist
from enlist import Actor, Permission, Policy

from conftest import START, World, make_world


def test_create_organization_returns_the_org_and_its_active_owner(world: World) -> None:
    org, owner = world.org, world.owner
    assert org.name == "Acme"
    assert org.id.startswith("org_")
    assert org.created_at == START
    assert org.created_at.tzinfo is not None
    assert owner.role == "owner" == enlist.BuiltinRole.OWNER
    assert owner.status is enlist.MemberStatus.ACTIVE
    assert owner.status == "active"
    assert owner.email == "ada@acme.example" and owner.identifier is None
    assert owner.display_name == "Ada Lovelace"
    assert owner.user_ref == "acct-ada"
    assert owner.org_id == org.id
    assert owner.holds_seat


def test_organization_reads_back_equal(world: World) -> None:
    again = world.engine.organization(world.org.id)
    assert again == world.org
    assert world.engine.organization(world.org) == world.org  # an Organization works as the id
    assert again != world.engine.rename_organization(world.org, actor=world.owner, name="Acme 2")


def test_rename_organization(world: World) -> None:
    renamed = world.engine.rename_organization(world.org, actor=world.owner, name="  Acme Corp ")
    assert renamed.name == "Acme Corp"
    assert world.engine.organization(world.org.id).name == "Acme Corp"


def test_policy_defaults_and_durations() -> None:
    p = Policy()
    assert p.max_batch == 100
    assert p.invitation_lifetime == dt.timedelta(days=7)
    assert p.resend_cooldown == dt.timedelta(minutes=10)
    assert p.registration == enlist.RegistrationRequirements()
    assert p.registration.first_name and not p.registration.phone
    assert p.seat_limits == {} and p.allowed_domains == []
    changed = p.replace(max_batch=20, invitation_lifetime=dt.timedelta(days=2), eula_version="v3")
    assert (changed.max_batch, changed.invitation_lifetime, changed.eula_version) == (
        20,
        dt.timedelta(days=2),
        "v3",
    )
    assert p.max_batch == 100, "replace() leaves the original alone"
    assert changed.replace(eula_version=None).eula_version is None
    assert Policy(max_batch=20) == Policy().replace(max_batch=20)
    assert Policy(max_batch=20) != Policy()


def test_policy_refuses_unknown_and_malformed_fields() -> None:
    with pytest.raises(TypeError, match="max_batchh"):
        Policy(max_batchh=3)
    with pytest.raises(enlist.InvalidInputError) as e:
        Policy(invitation_lifetime=dt.timedelta(seconds=1.5))
    assert e.value.field == "invitation_lifetime"
    with pytest.raises(enlist.InvalidInputError):
        Policy(resend_cooldown=dt.timedelta(seconds=-1))
    with pytest.raises(TypeError):
        Policy(allowed_domains="acme.example")


def test_update_policy_applies_and_bad_policy_changes_nothing(world: World) -> None:
    e = world.engine
    policy = world.org.policy.replace(
        max_batch=10,
        allowed_domains=["Acme.Example"],
        seat_limits={"standard": 5},
        registration=enlist.RegistrationRequirements(phone=True),
    )
    org = e.update_policy(world.org, actor=world.owner, policy=policy)
    assert org.policy.max_batch == 10
    assert org.policy.allowed_domains == ["acme.example"], "domains are normalized by the engine"
    assert org.policy.seat_limits == {"standard": 5}
    assert org.policy.registration.phone
    with pytest.raises(enlist.InvalidInputError) as err:
        e.update_policy(world.org, actor=world.owner, policy=policy.replace(max_batch=0))
    assert err.value.code == "invalid_input" and err.value.field == "max_batch"
    assert e.organization(world.org).policy == org.policy


def test_create_organization_with_invalid_owner_email_creates_nothing(engine, clock) -> None:
    with pytest.raises(enlist.InvalidInputError):
        engine.create_organization("Acme", owner_user_ref="acct-x", owner_email="not-an-email")


def test_roles_define_and_delete(world: World) -> None:
    e = world.engine
    names = [r.name for r in e.roles(world.org)]
    assert names == ["owner", "admin", "user_admin", "member", "guest"]
    assert all(r.built_in for r in e.roles(world.org))
    role = e.define_role(
        world.org,
        actor=world.owner,
        name="recruiter",
        permissions=[Permission.VIEW_MEMBERS, "invite_members"],
    )
    assert role.permissions == frozenset({Permission.VIEW_MEMBERS, Permission.INVITE_MEMBERS})
    assert role.allows("invite_members") and not role.allows(Permission.MANAGE_GROUPS)
    assert not role.built_in
    org = e.organization(world.org)
    assert [r.name for r in org.custom_roles] == ["recruiter"]
    assert org.roles()[-1] == role
    with pytest.raises(enlist.InvalidInputError):
        e.define_role(world.org, actor=world.owner, name="x", permissions=["fly"])
    with pytest.raises(enlist.InvalidInputError):
        e.define_role(world.org, actor=world.owner, name="x", permissions="view_members")
    e.delete_role(world.org, actor=world.owner, name="recruiter")
    assert [r.name for r in e.organization(world.org).custom_roles] == []
    with pytest.raises(enlist.NotFoundError) as nf:
        e.delete_role(world.org, actor=world.owner, name="recruiter")
    assert nf.value.entity == "role" and nf.value.id == "recruiter"


def test_events_record_every_change_with_actor_and_facts(world: World) -> None:
    e = world.engine
    e.rename_organization(world.org, actor=world.owner, name="Acme 2")
    events = e.events(world.org, actor=world.owner)
    kinds = [ev.kind for ev in events]
    assert kinds == [
        enlist.EventKind.ORGANIZATION_CREATED,
        enlist.EventKind.MEMBER_JOINED,
        enlist.EventKind.ORGANIZATION_RENAMED,
    ]
    assert [ev.seq for ev in events] == [1, 2, 3]
    renamed = events[-1]
    assert renamed.data == {"from": "Acme", "to": "Acme 2"}
    assert renamed.actor == Actor.member(world.owner.id)
    assert renamed.actor.kind is enlist.ActorKind.MEMBER
    assert renamed.at == START
    # Paging: after the first two.
    assert [ev.seq for ev in e.events(world.org, actor=Actor.system(), after=2, limit=5)] == [3]
    with pytest.raises(enlist.LimitExceededError) as err:
        e.events(world.org, actor=world.owner, limit=0)
    assert err.value.limit is enlist.LimitKind.PAGE_SIZE


def test_to_dict_is_plain_json_data(world: World) -> None:
    d = world.owner.to_dict()
    json.dumps(d)  # plain data
    assert d["id"] == world.owner.id
    assert d["status"] == "active"
    assert d["joined_at"].startswith("2030-01-01T09:00:00")
    org = world.org.to_dict()
    assert org["policy"]["max_batch"] == 100


def test_actor_forms(world: World) -> None:
    assert Actor.system().kind == "system" and Actor.system().id is None
    assert Actor.member(world.owner) == Actor.member(world.owner.id)
    assert Actor.account("acct-1").id == "acct-1"
    assert Actor.anonymous().kind is enlist.ActorKind.ANONYMOUS
    assert str(Actor.system()) == "system"
    assert "Actor(kind=" in repr(Actor.system())
    with pytest.raises(TypeError):
        world.engine.rename_organization(world.org, actor=42, name="x")


def test_a_removed_or_unknown_actor_is_denied(world: World) -> None:
    with pytest.raises(enlist.PermissionDeniedError) as e:
        world.engine.rename_organization(world.org, actor="mem_nobody", name="x")
    assert e.value.actor == "mem_nobody"
    assert world.engine.organization(world.org).name == "Acme"


def test_a_second_engine_sees_nothing_of_the_first(engine, clock) -> None:
    other = enlist.Enlist.in_memory()
    world = make_world(engine, clock)
    with pytest.raises(enlist.NotFoundError):
        other.organization(world.org.id)
    assert repr(other) == "Enlist(store='memory')"
    assert other.now().tzinfo is not None
    assert engine.now() == START
