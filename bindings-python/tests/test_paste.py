"""The paste box on its own: parse_recipients, parse_address and the
normalizers."""

from __future__ import annotations

import pytest

import enlist
from enlist import AddressWarning, EntryOutcome


def test_parse_recipients_reports_every_fragment() -> None:
    paste = 'ada@example.com, "Lovelace, Ada" <ADA@Example.com>\nGrace Hopper <grace@navy.mil>; bob at example.com'
    parsed = enlist.parse_recipients(paste)
    assert len(parsed) == parsed.entry_count == 4
    assert parsed.recognized == 2
    entries = list(parsed)
    assert [e.outcome for e in entries] == [
        EntryOutcome.VALID,
        EntryOutcome.DUPLICATE,
        EntryOutcome.VALID,
        EntryOutcome.INVALID,
    ]
    assert entries == parsed.entries
    dup = entries[1]
    assert dup.first == 0 and dup.mailbox is not None and dup.mailbox.display_name == "Lovelace, Ada"
    bad = entries[3]
    assert bad.text == "bob at example.com"
    assert paste.encode()[bad.start : bad.end].decode() == "bob at example.com"
    assert bad.problem is not None and bad.problem.code == "missing_at" and bad.mailbox is None
    assert [m.address for m in parsed.mailboxes()] == ["ada@example.com", "grace@navy.mil"]
    assert [e.text for e in parsed.invalid()] == ["bob at example.com"]
    assert [e.first for e in parsed.duplicates()] == [0]
    assert parsed == enlist.parse_recipients(paste)
    assert parsed.to_dict()["entries"][3]["outcome"]["outcome"] == "invalid"


def test_parse_recipients_never_fails() -> None:
    assert len(enlist.parse_recipients("")) == 0
    weird = enlist.parse_recipients("<<<>>> \x00 \u202e @@ ,,, ;;")
    assert weird.recognized == 0
    assert all(e.outcome is EntryOutcome.INVALID for e in weird)


def test_parse_address() -> None:
    m = enlist.parse_address('"Lovelace, Ada" <Ada@Example.COM>')
    assert (m.display_name, m.address, m.key) == ("Lovelace, Ada", "Ada@example.com", "ada@example.com")
    assert (m.local_part, m.domain, m.ascii_domain) == ("Ada", "example.com", "example.com")
    idn = enlist.parse_address("ada@université.fr")
    assert idn.ascii_domain == "xn--universit-j4a.fr"
    assert idn.warnings == [AddressWarning.INTERNATIONAL_DOMAIN]
    with pytest.raises(enlist.InvalidInputError) as err:
        enlist.parse_address("ada@localhost")
    problem = err.value.address_problem
    assert problem is not None and problem.code == "domain_no_dot"
    assert problem.details == {"domain": "localhost"}
    assert err.value.field == "address" and "no dot" in str(err.value)
    with pytest.raises(enlist.InvalidInputError) as header:
        enlist.parse_address("Ada\r\nBcc: x@evil.com <ada@example.com>")
    assert header.value.address_problem is not None
    assert header.value.address_problem.code == "display_name_control"
    assert header.value.address_problem.position == 3


def test_normalizers() -> None:
    assert enlist.normalize_email("Ada <ADA@Example.COM>") == "ada@example.com"
    assert enlist.normalize_identifier("+33 (6) 12-34-56.78") == "+33612345678"
    with pytest.raises(enlist.InvalidInputError) as err:
        enlist.normalize_identifier("a@b.com")
    assert err.value.field == "identifier"
    with pytest.raises(enlist.InvalidInputError):
        enlist.normalize_email("nope")
