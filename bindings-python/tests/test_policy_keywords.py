"""Policy's keyword constructor and `replace` take every field through one
generic path (core's serde form): each attribute is a keyword, and the
errors are the same for every field."""

from __future__ import annotations

import datetime as dt
import inspect
from pathlib import Path

import pytest

import enlist
from enlist import Policy, RegistrationRequirements

STUB = Path(__file__).resolve().parent.parent / "python" / "enlist" / "_enlist.pyi"


def _attributes() -> list[str]:
    return [n for n, v in inspect.getmembers(Policy) if isinstance(v, property) or type(v).__name__ == "getset_descriptor"]


def test_every_attribute_is_a_keyword_and_round_trips() -> None:
    changed = Policy(
        invitation_lifetime=dt.timedelta(days=3),
        max_batch=7,
        allowed_domains=("acme.example",),
        eula_version="v2",
        registration=RegistrationRequirements(phone=True),
        seat_limits={"standard": 4},
        resend_cooldown=dt.timedelta(minutes=1),
        accept_url_base=None,
    )
    names = [n for n in _attributes() if not n.startswith("_")]
    assert "max_batch" in names and "invitation_lifetime" in names
    for name in names:
        value = getattr(changed, name)
        assert Policy(**{name: value}) == Policy().replace(**{name: value})
        assert getattr(Policy(**{name: value}), name) == value, name
    assert Policy(**{n: getattr(changed, n) for n in names}) == changed


def test_the_stub_lists_the_keywords_the_module_takes() -> None:
    stub = STUB.read_text()
    block = stub[stub.index("class Policy(") :]
    block = block[block.index("def __new__(") : block.index(") -> Policy:")]
    keywords = {line.strip().split(":")[0] for line in block.splitlines() if line.strip().endswith("= ...,")}
    assert keywords == {n for n in _attributes() if not n.startswith("_")}


def test_a_bad_value_is_an_invalid_input_naming_the_keyword() -> None:
    for name, value in [("max_batch", -1), ("max_import_bytes", 2**70), ("resend_cooldown", dt.timedelta(seconds=-1))]:
        with pytest.raises(enlist.InvalidInputError) as err:
            Policy(**{name: value})
        assert err.value.field == name
    with pytest.raises(enlist.InvalidInputError) as err:
        Policy().replace(max_batch=-3)
    assert err.value.field == "max_batch"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_batch": "5"},
        {"max_batch": 2.5},
        {"guests_enabled": 1},
        {"allowed_domains": "acme.example"},
        {"seat_limits": {"standard": "five"}},
        {"registration": {"phone": True}},
        {"registration": {"first_name": True, "last_name": True, "phone": True, "typo": 1}},
        {"eula_version": object()},
        {"resend_cooldown_secs": 60},
        {"max_batchh": 3},
    ],
)
def test_a_value_of_the_wrong_type_or_an_unknown_keyword_is_a_type_error(kwargs: dict) -> None:
    with pytest.raises(TypeError):
        Policy(**kwargs)
    with pytest.raises(TypeError):
        Policy().replace(**kwargs)


def test_a_deeply_nested_value_is_refused_before_it_spends_the_stack() -> None:
    deep: list = []
    for _ in range(200_000):
        deep = [deep]
    with pytest.raises(TypeError, match="nested too deeply"):
        Policy(allowed_domains=deep)
