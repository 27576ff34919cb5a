"""Every error family is its own exception class under enlist.EnlistError,
with the stable code and the facts as attributes; a failed command changes
nothing."""

from __future__ import annotations

import ast
import datetime as dt
import pathlib
import pickle

import pytest

import enlist
from enlist import ErrorFamily, _errors

from conftest import World, make_world

FAMILIES = {
    enlist.InvalidInputError: ErrorFamily.INVALID_INPUT,
    enlist.LimitExceededError: ErrorFamily.LIMIT_EXCEEDED,
    enlist.PermissionDeniedError: ErrorFamily.PERMISSION_DENIED,
    enlist.NotFoundError: ErrorFamily.NOT_FOUND,
    enlist.ConflictError: ErrorFamily.CONFLICT,
    enlist.ExpiredError: ErrorFamily.EXPIRED,
    enlist.RevokedError: ErrorFamily.REVOKED,
    enlist.StorageError: ErrorFamily.STORAGE,
    enlist.MailError: ErrorFamily.MAIL,
}


def test_the_hierarchy() -> None:
    assert issubclass(enlist.EnlistError, Exception)
    assert {c.family for c in FAMILIES} == set(ErrorFamily)
    for cls, family in FAMILIES.items():
        assert issubclass(cls, enlist.EnlistError)
        assert cls.family is family
    distinct = set(FAMILIES)
    assert len(distinct) == 9


def event_count(world: World) -> int:
    return len(world.engine.events(world.org, actor=world.owner, limit=1000))


def test_each_family_is_raised_with_its_facts_and_changes_nothing(engine, clock) -> None:
    world = make_world(engine, clock, enlist.Policy(max_batch=1))
    e, org, owner = world.engine, world.org, world.owner
    before = event_count(world)

    with pytest.raises(enlist.InvalidInputError) as invalid:
        e.rename_organization(org, actor=owner, name="Bad\r\nBcc: x@evil.example")
    assert (invalid.value.code, invalid.value.field) == ("invalid_input", "name")
    assert "control" in invalid.value.reason and "U+000D" in invalid.value.reason

    with pytest.raises(enlist.LimitExceededError) as limit:
        e.invite(org, "a@acme.example b@acme.example", actor=owner)
    assert (limit.value.limit, limit.value.max, limit.value.actual) == ("batch_size", 1, 2)

    with pytest.raises(enlist.PermissionDeniedError) as denied:
        e.invite(org, "a@acme.example", actor=enlist.Actor.account("acct-stranger"))
    # Authorized before the recipients are read: the stranger may not invite.
    assert denied.value.permission is enlist.Permission.INVITE_MEMBERS
    assert denied.value.context is not None and "only members may invite" in denied.value.context
    assert denied.value.actor == "account acct-stranger"

    with pytest.raises(enlist.NotFoundError) as missing:
        e.group(org, "grp_missing", actor=owner)
    assert (missing.value.code, missing.value.group) == ("unknown_group", "grp_missing")
    with pytest.raises(enlist.NotFoundError) as no_member:
        e.member(org, "mem_missing", actor=owner)
    assert (no_member.value.entity, no_member.value.id) == ("member", "mem_missing")

    assert event_count(world) == before, "no failed command appended an event"
    assert e.organization(org) == org


def test_conflict_expired_revoked(world: World) -> None:
    e, org, owner, clock = world.engine, world.org, world.owner, world.clock
    (bob,) = e.invite(org, "bob@acme.example", actor=owner).issued
    report = e.invite(org, "Bob@ACME.example", actor=owner)
    assert report.rejected[0].reason.code == "already_invited"
    assert report.rejected[0].reason.details == {"invitation": bob.invitation.id}

    e.revoke(org, bob.invitation, actor=owner)
    with pytest.raises(enlist.RevokedError) as revoked:
        e.decline(bob.secret)
    assert revoked.value.invitation == bob.invitation.id

    (cat,) = e.invite(org, "cat@acme.example", actor=owner).issued
    clock.advance(dt.timedelta(days=7))
    with pytest.raises(enlist.ExpiredError) as expired:
        e.decline(cat.secret)
    assert expired.value.expired_at == clock.now()

    with pytest.raises(enlist.ConflictError) as conflict:
        e.remove_member(org, owner, actor=owner)
    assert conflict.value.code == "conflict" and "owner" in conflict.value.reason


def test_catching_the_base_class_and_the_message(world: World) -> None:
    try:
        world.engine.organization("org_missing")
    except enlist.EnlistError as err:
        assert isinstance(err, enlist.NotFoundError)
        assert err.code == "not_found"
        assert err.message == str(err) == "organization not found: org_missing"
        assert err.facts == {"entity": "organization", "id": "org_missing"}
    else:
        pytest.fail("no error raised")


def test_errors_pickle_with_their_facts(world: World) -> None:
    with pytest.raises(enlist.NotFoundError) as err:
        world.engine.organization("org_missing")
    copy = pickle.loads(pickle.dumps(err.value))
    assert type(copy) is enlist.NotFoundError
    assert (copy.code, copy.id, str(copy)) == ("not_found", "org_missing", str(err.value))


def test_scripts_may_raise_the_classes_themselves() -> None:
    err = enlist.MailError("bounced", permanent=True)
    assert err.code == "mail" and err.permanent and err.facts == {"permanent": True}
    assert enlist.MailError("x").permanent is False
    assert enlist.NotFoundError("gone").id is None


# -- The catalogue: the exception classes against the engine's -------------

_ANNOTATION = {
    "str": "str",
    "id": "str",
    "datetime": "datetime.datetime",
    "int": "int",
}


def _annotation(kind: str) -> str:
    if kind.startswith("list[") and kind.endswith("]"):
        return f"List[{kind[5:-1]}]"
    return _ANNOTATION.get(kind, kind)


def _class_of(family: str) -> str:
    return "".join(word.capitalize() for word in family.split("_")) + "Error"


def _expected_attributes() -> dict[str, dict[str, str]]:
    """Each exception class's fact attributes, as the catalogue says."""
    expected: dict[str, dict[str, str]] = {}
    for _code, family, facts in enlist._enlist._error_codes():
        cls = _class_of(family)
        attrs = expected.setdefault(cls, {})
        for name, kind, _optional in facts:
            line = "bool = False" if kind == "bool" else f"Optional[{_annotation(kind)}] = None"
            assert attrs.setdefault(name, line) == line, f"{cls}.{name} has two kinds"
    return expected


# Attributes a binding adds of its own (set by the email helpers).
_BINDING_ONLY = {"InvalidInputError": {"address_problem"}}


STUB = pathlib.Path(_errors.__file__).with_name("_errors.pyi")


def _stub_annotations(source: str) -> dict[str, dict[str, str]]:
    """Each class of the stub: its annotated attributes and their types."""
    return {
        node.name: {
            stmt.target.id: ast.unparse(stmt.annotation)
            for stmt in node.body
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
        }
        for node in ast.parse(source).body
        if isinstance(node, ast.ClassDef)
    }


def test_the_exception_classes_match_the_engines_catalogue() -> None:
    drift = []
    stub = _stub_annotations(STUB.read_text(encoding="utf-8"))
    for cls_name, attrs in _expected_attributes().items():
        cls = getattr(enlist, cls_name)
        declared = stub.get(cls_name, {})
        runtime = {name: getattr(cls, name) for name in attrs}
        assert runtime == {n: (False if l.startswith("bool") else None) for n, l in attrs.items()}
        assert cls.__doc__ and cls.__doc__ == ast.get_docstring(
            next(n for n in ast.parse(STUB.read_text(encoding="utf-8")).body
                 if isinstance(n, ast.ClassDef) and n.name == cls_name)
        )
        wanted = {name: line.split(" = ")[0] for name, line in attrs.items()}
        have = {n: t for n, t in declared.items() if n not in _BINDING_ONLY.get(cls_name, set())}
        if have != wanted:
            body = "\n".join(f"    {name}: {line}" for name, line in attrs.items())
            drift.append(f"class {cls_name}(EnlistError):\n    ...\n{body}")
    assert not drift, (
        "enlist/_errors.pyi drifted from the engine's error catalogue; the fact "
        "attributes should read:\n\n" + "\n\n".join(drift)
    )


def test_every_code_is_raised_as_its_familys_class() -> None:
    codes = enlist._enlist._error_codes()
    assert {c for c, *_ in codes} >= {"not_a_member", "retries_exhausted", "disabled"}
    for code, family, _facts in codes:
        cls = getattr(enlist, _class_of(family))
        assert cls.family == ErrorFamily(family), code
    assert {f for _, f, _ in codes} == {f.value for f in ErrorFamily}


# -- The new codes and typed facts, through the engine -----------------------


def test_a_non_member_is_told_apart_from_a_member_lacking_a_permission(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    with pytest.raises(enlist.PermissionDeniedError) as stranger:
        e.invite(org, "a@acme.example", actor=enlist.Actor.member("mem_nobody"))
    assert stranger.value.code == "not_a_member"
    assert stranger.value.organization == org.id
    assert stranger.value.permission is None


def test_typed_facts_are_enum_members(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    (bob,) = e.invite(org, "bob@acme.example", actor=owner).issued
    e.revoke(org, bob.invitation, actor=owner)
    with pytest.raises(enlist.ConflictError) as closed:
        e.revoke(org, bob.invitation, actor=owner)
    assert closed.value.code == "invitation_not_open"
    assert closed.value.status is enlist.InvitationStatus.REVOKED
    assert closed.value.invitation == bob.invitation.id

    with pytest.raises(enlist.NotFoundError) as missing:
        e.organization("org_missing")
    assert missing.value.entity is enlist.EntityKind.ORGANIZATION

    with pytest.raises(enlist.PermissionDeniedError) as disabled:
        e.self_register(org, contact="x@acme.example", user_ref="acct-x")
    assert disabled.value.code == "disabled"
    assert disabled.value.feature is enlist.Feature.SELF_REGISTRATION
