use super::*;

fn ok(s: &str) -> Mailbox<'_> {
    match parse_address(s) {
        Ok(m) => m,
        Err(e) => panic!("{s:?} refused: {e} ({e:?})"),
    }
}

fn err(s: &str) -> AddressError {
    match parse_address(s) {
        Ok(m) => panic!("{s:?} accepted: {m:?}"),
        Err(e) => e,
    }
}

fn texts<'a>(p: &'a ParsedRecipients<'_>) -> Vec<&'a str> {
    p.entries.iter().map(|e| e.text.as_ref()).collect()
}

#[test]
fn three_formats() {
    let m = ok("ada@example.com");
    assert_eq!(m.display_name, None);
    assert_eq!(m.address, "ada@example.com");
    let m = ok("Ada Lovelace <ada@example.com>");
    assert_eq!(m.display_name.as_deref(), Some("Ada Lovelace"));
    let m = ok("\"Lovelace, Ada\" <ada@example.com>");
    assert_eq!(m.display_name.as_deref(), Some("Lovelace, Ada"));
    let m = ok("Ada<ada@example.com>");
    assert_eq!(m.display_name.as_deref(), Some("Ada"));
    let m = ok("<ada@example.com>");
    assert_eq!(m.display_name, None);
    let m = ok("  \"\" < ada@example.com >  ");
    assert_eq!(m.display_name, None);
    assert_eq!(m.key, "ada@example.com");
}

#[test]
fn display_names_are_unquoted_and_trimmed() {
    assert_eq!(
        ok("\"A \\'B\\'\" <a@b.com>").display_name.as_deref(),
        Some("A 'B'")
    );
    assert_eq!(
        ok("\"  Ada  \" <a@b.com>").display_name.as_deref(),
        Some("Ada")
    );
    assert_eq!(
        ok("\"The Foo of Bar\" Course   Staff <a@b.com>")
            .display_name
            .as_deref(),
        Some("The Foo of Bar Course Staff")
    );
    assert_eq!(
        ok("Joe Q. Public <a@b.com>").display_name.as_deref(),
        Some("Joe Q. Public")
    );
    assert_eq!(
        ok("Ada\tLovelace <a@b.com>").display_name.as_deref(),
        Some("Ada Lovelace")
    );
}

#[test]
fn normalization() {
    let m = ok("Ada@Example.COM");
    assert_eq!(m.address, "Ada@example.com");
    assert_eq!(m.key, "ada@example.com");
    assert_eq!(m.ascii_domain, "example.com");
    assert!(m.warnings.is_empty());
    assert_eq!(
        normalize_email("ADA@example.com"),
        Ok("ada@example.com".into())
    );
    let m = ok("Élodie@Université.FR");
    assert_eq!(m.address, "Élodie@université.fr");
    assert_eq!(m.key, "élodie@xn--universit-j4a.fr");
    assert_eq!(m.ascii_domain, "xn--universit-j4a.fr");
    assert!(m.has_warning(&AddressWarning::InternationalDomain));
    assert!(m.has_warning(&AddressWarning::InternationalLocalPart));
    assert!(!m.has_warning(&AddressWarning::Confusable));
    assert_eq!(m.local_part(), "Élodie");
    assert_eq!(m.domain(), "université.fr");
    // The punycode form is the same key.
    assert_eq!(ok("élodie@xn--universit-j4a.fr").key, m.key);
}

/// Found by the paste fuzz target after 22 minutes: the domain was
/// shown lowercased by `str::to_lowercase` (a capital sigma ending a
/// word became a final sigma ς) while its key came from UTS #46 (which
/// maps Σ to σ), so the stored address parsed again to another key.
#[test]
fn final_sigma_domain_parses_again_to_the_same_key() {
    let m = ok("ЕOAtpp@YgA.ΧgaOOOΣ");
    assert_eq!(m.address, "ЕOAtpp@yga.χgaoooσ");
    assert_eq!(m.key, "еoatpp@yga.xn--gaooo-kdew");
    let again = ok(&m.address);
    assert_eq!(again.key, m.key);
    assert_eq!(again.address, m.address);
    assert_eq!(ok(&m.key).key, m.key);
    // ς is its own letter for IDNA 2008: typed, it stays.
    assert_ne!(ok("ada@χgaoooς.gr").key, ok("ada@χgaoooσ.gr").key);
    assert_eq!(ok("ada@ΧGAOOOΣ.gr").key, ok("ada@χgaoooσ.gr").key);
    // Found by `keys_are_fixed_points`: the hyphen rules apply to the
    // mapped label (`㍻--a` is `平成--a`), which the address shows.
    assert_eq!(err("ada@㍻--a.jp").code(), "reserved_label");
}

/// Found by the paste fuzz target (with the fixed-point assertion): a
/// punycode label decoding to U+2800 BRAILLE PATTERN BLANK, an invisible
/// character the typed-character checks never saw; in a domain with
/// non-ASCII labels the shown (decoded) address then failed to parse.
#[test]
fn punycode_labels_cannot_smuggle_invisible_characters() {
    let blank = AddressError::UnsafeCharacter {
        character: '\u{2800}',
        position: 4,
    };
    assert_eq!(err("ada@xn--ab-10y.com"), blank);
    assert_eq!(err("ada@XN--6ii.com"), blank);
    assert_eq!(
        err("ada@α.xn--ab-10y.com"),
        AddressError::UnsafeCharacter {
            character: '\u{2800}',
            position: 6
        }
    );
    let crash = "p@IIEg.xn--gIIIpyga5dxxxxxxxxxxxxxyxyA.\u{3b1}.comevil.9.\u{3b1}.comevil.9.com.exYgwA.\u{3a7}g\u{3b1}aOxxxxxxA.\u{3b1}.comevil.9.\u{3b1}.comevil.9.com.exYgwA.\u{3a7}g\u{3b1}aOxxxxxxxx";
    assert_eq!(err(crash).code(), "unsafe_character");
    // A punycode label typed among Unicode ones is checked for
    // look-alikes as it is shown (decoded).
    let m = ok("ada@α.xn--80ak6aa92e.com");
    assert!(m.has_warning(&AddressWarning::Confusable), "{m:?}");
    assert_eq!(ok(&m.address).key, m.key);
}

#[test]
fn domains_are_shown_as_uts46_maps_them() {
    // Fullwidth letters and the ideographic full stop fold to what they
    // imitate (still flagged as confusable).
    let m = ok("ada@ＥＸＡＭＰＬＥ。com");
    assert_eq!(m.address, "ada@example.com");
    assert!(m.has_warning(&AddressWarning::Confusable));
    assert_eq!(ok("ada@STRAẞE.de").address, "ada@straße.de");
    assert_eq!(
        ok("ada@İstanbul.tr").address,
        ok(&ok("ada@İstanbul.tr").address).address
    );
    // A domain typed in ASCII stays ASCII.
    assert_eq!(
        ok("ada@XN--Universit-J4A.fr").address,
        "ada@xn--universit-j4a.fr"
    );
}

/// The local part's key does not depend on a neighbour: `Σ` is `σ`
/// wherever it stands, whether the key goes through UTS #46 (`ΑΣ`) or
/// plain lowercasing (`ΑΣ＠`, where the mapping would make a `@`).
#[test]
fn local_part_key_lowercases_sigma_without_context() {
    assert_eq!(ok("ΑΣ@example.com").key, ok("Ασ@example.com").key);
    assert_eq!(ok("ΑΣ＠@example.com").key, ok("Ασ＠@example.com").key);
    let m = ok("ΑΣ＠@example.com");
    assert_eq!(ok(&m.key).key, m.key);
}

#[test]
fn fullwidth_domain_is_the_same_key_and_flagged() {
    let m = ok("ada@ｅｘａｍｐｌｅ.com");
    assert_eq!(m.key, "ada@example.com");
    assert!(m.has_warning(&AddressWarning::Confusable));
    let p = parse_recipients("ada@example.com ada@ｅｘａｍｐｌｅ.com");
    assert_eq!(p.recognized(), 1);
    assert_eq!(p.duplicates().count(), 1);
}

#[test]
fn confusables_are_flagged() {
    // Cyrillic "аррӏе" imitating "apple".
    assert!(ok("ada@аррӏе.com").has_warning(&AddressWarning::Confusable));
    assert!(ok("ada@xn--80ak6aa92e.com").has_warning(&AddressWarning::Confusable));
    // Latin and Cyrillic mixed in one label.
    assert!(ok("ada@pаypal.com").has_warning(&AddressWarning::Confusable));
    assert!(ok("pаypal@example.com").has_warning(&AddressWarning::Confusable));
    assert!(ok("＠@fullwidth.at").has_warning(&AddressWarning::Confusable));
    // Ordinary international addresses are not.
    for a in [
        "jeff葉@臺網中心.tw",
        "юзер@екзампл.ком",
        "θσερ@εχαμπλε.ψομ",
        "राम@मोहन.ईन्फो",
        "甲斐黒川日本@example.tld",
        "ñoñó@example.tld",
    ] {
        let m = ok(a);
        assert!(!m.has_warning(&AddressWarning::Confusable), "{a}");
    }
}

#[test]
fn refusals_are_precise() {
    use AddressError as E;
    let part = AddressPart::LocalPart;
    let dom = AddressPart::Domain;
    assert_eq!(err(""), E::Empty);
    assert_eq!(err("   "), E::Empty);
    assert_eq!(err("ada.example.com"), E::MissingAt);
    assert_eq!(
        err("hello＠world"),
        E::LookalikeAt {
            character: '＠',
            position: 5
        }
    );
    assert_eq!(err("a@b@c.com"), E::MultipleAt { position: 3 });
    assert_eq!(err("a@b.com c@d.com"), E::MultipleEntries { count: 2 });
    assert_eq!(err("@example.com"), E::EmptyLocalPart);
    assert_eq!(err("ada@"), E::EmptyDomain);
    assert_eq!(
        err(&format!("{}@example.com", "a".repeat(65))),
        E::LocalPartTooLong { len: 65, max: 64 }
    );
    assert_eq!(err(".ada@x.com"), E::LeadingDot { part });
    assert_eq!(err("ada.@x.com"), E::TrailingDot { part });
    assert_eq!(err("a..da@x.com"), E::ConsecutiveDots { part });
    assert_eq!(err("ada@.x.com"), E::LeadingDot { part: dom });
    assert_eq!(err("ada@x.com."), E::TrailingDot { part: dom });
    assert_eq!(err("ada@x..com"), E::ConsecutiveDots { part: dom });
    assert_eq!(
        err("a,da@x.com"),
        E::MultipleEntries { count: 2 },
        "a comma separates entries"
    );
    assert_eq!(
        err("a\\da@x.com"),
        E::InvalidCharacter {
            character: '\\',
            position: 1,
            part
        }
    );
    assert_eq!(
        err("ada@exa_mple.com"),
        E::InvalidCharacter {
            character: '_',
            position: 7,
            part: dom
        }
    );
    assert_eq!(
        err("ada@x.com\n"),
        E::ControlCharacter {
            character: '\n',
            position: 9
        }
    );
    assert_eq!(
        err("a\u{0}da@x.com"),
        E::ControlCharacter {
            character: '\0',
            position: 1
        }
    );
    assert_eq!(
        err("a\u{200B}da@x.com"),
        E::UnsafeCharacter {
            character: '\u{200B}',
            position: 1
        }
    );
    assert_eq!(
        err("ad\u{202E}a@x.com"),
        E::UnsafeCharacter {
            character: '\u{202E}',
            position: 2
        }
    );
    assert_eq!(
        err("\u{300}@x.com"),
        E::LeadingCombiningMark {
            character: '\u{300}',
            position: 0
        }
    );
    assert_eq!(err("<a b@x.com>"), E::Whitespace { position: 2 });
    assert_eq!(err("\"ada\"@x.com"), E::QuotedLocalPart);
    assert_eq!(err("ada(x)@x.com"), E::Comment);
    assert_eq!(err("<ada@x.com> (Ada)"), E::Comment);
    assert_eq!(err("ada@[192.0.2.1]"), E::DomainLiteral);
    assert_eq!(err("ada@[IPv6:::1]"), E::DomainLiteral);
    assert_eq!(err("ada@192.0.2.1"), E::IpAddressDomain);
    assert_eq!(
        err("ada@localhost"),
        E::DomainNoDot {
            domain: "localhost".into()
        }
    );
    assert_eq!(err("ada@-x.com"), E::LabelHyphen { label: "-x".into() });
    assert_eq!(
        err("ada@yy--0.tld"),
        E::ReservedLabel {
            label: "yy--0".into()
        }
    );
    assert_eq!(
        err("me@yy－－0.tld"),
        E::ReservedLabel {
            label: "yy--0".into()
        }
    );
    assert_eq!(
        err("ada@xn--0.tld"),
        E::InvalidPunycode {
            label: "xn--0".into()
        }
    );
    assert_eq!(err("ada@x.123"), E::NumericTld { tld: "123".into() });
    assert_eq!(
        err("me@⒈wouldbeinvalid.com"),
        E::InvalidCharacter {
            character: '⒈',
            position: 3,
            part: dom
        }
    );
    assert_eq!(
        err("Ada\u{202E} <a@b.com>"),
        E::DisplayNameControl {
            character: '\u{202E}',
            position: 3
        }
    );
    assert_eq!(
        err("foo\r\n <wok@example.com>"),
        E::DisplayNameControl {
            character: '\r',
            position: 3
        }
    );
    assert_eq!(
        err("\"\u{0}\" <null@example.net>"),
        E::DisplayNameControl {
            character: '\0',
            position: 1
        }
    );
    assert_eq!(
        err("a@b <a@b.com>"),
        E::AddressInName {
            found: "a@b".into(),
            position: 0
        }
    );
    assert_eq!(
        err("Ada@Home<a@b.com>"),
        E::AddressInName {
            found: "Ada@Home".into(),
            position: 0
        }
    );

    assert_eq!(err("\"Ada <a@b.com>"), E::UnbalancedQuote);
    assert_eq!(err("Ada \"x\"y\" <a@b.com>"), E::UnbalancedQuote);
    assert_eq!(err("<a@b.com"), E::MissingClosingBracket);
    assert_eq!(
        err("a@b.com>"),
        E::UnexpectedBracket {
            character: '>',
            position: 7
        }
    );
    assert_eq!(err("<a@b.com>x"), E::TrailingText);
    assert_eq!(
        err("  a\u{0}@b.com"),
        E::ControlCharacter {
            character: '\0',
            position: 3
        },
        "positions count from the start of the input"
    );
}

#[test]
fn lengths() {
    let label = "a".repeat(63);
    let domain = format!("{label}.{label}.{label}.{}", "a".repeat(57)); // 249
    assert_eq!(domain.len(), 249);
    assert!(parse_address(&format!("abc@{domain}")).is_ok());
    assert_eq!(
        err(&format!("abcd@{domain}x")),
        AddressError::AddressTooLong { len: 255, max: 254 }
    );
    assert_eq!(
        err(&format!("a@{label}.{label}.{label}.{label}")),
        AddressError::DomainTooLong { len: 255, max: 253 }
    );
    assert_eq!(
        err(&format!("abcdefgh@{domain}")),
        AddressError::AddressTooLong { len: 258, max: 254 }
    );
    assert_eq!(
        err(&format!("ada@{}.com", "a".repeat(64))),
        AddressError::LabelTooLong {
            label: "a".repeat(64),
            len: 64,
            max: 63
        }
    );
    // Lowercasing İ (2 bytes) gives i + U+0307 (3 bytes): the key must
    // still fit the limit.
    let local = "İ".repeat(30);
    assert_eq!(local.len(), 60);
    assert_eq!(
        err(&format!("{local}@example.com")),
        AddressError::LocalPartTooLong { len: 90, max: 64 }
    );
}

/// Local parts for the Latin-1 fast paths' exhaustive tests: every code
/// point from the Latin-1 block to Latin Extended-A, alone and among ASCII
/// (upper and lower case, digits, dots, atext symbols), with whether it is
/// a Latin-1 letter (the fast paths take exactly those).
fn latin1_cases() -> impl Iterator<Item = (char, String, bool)> {
    (0xA0u32..=0x17F).flat_map(|u| {
        let c = char::from_u32(u).expect("a scalar value");
        let letter = (0xC0..=0xFF).contains(&u) && u != 0xD7 && u != 0xF7;
        [
            format!("{c}"),
            format!("A{c}b"),
            format!("{c}.Z9"),
            format!("x+{c}{c}'Q"),
            format!("{c}~XN-{c}"),
        ]
        .into_iter()
        .map(move |local| (c, local, letter))
    })
}

#[test]
fn latin1_local_key_agrees_with_uts46() {
    for (_, local, expected) in latin1_cases() {
        let mut fast = String::from("kept:");
        let used = latin1_local_key(&local, &mut fast);
        assert_eq!(used, expected, "{local:?}");
        if used {
            assert_eq!(fast, format!("kept:{}", uts46_local_key(&local)));
        } else {
            assert_eq!(fast, "kept:", "nothing appended for {local:?}");
        }
    }
    // A piece that reads as punycode takes the general path.
    let mut out = String::new();
    assert!(!latin1_local_key("xN--é", &mut out));
    assert!(!latin1_local_key("é.Xn--abc", &mut out));
    assert!(out.is_empty());
    assert!(latin1_local_key("é.xn-abc", &mut out));
    assert_eq!(out, "é.xn-abc");
}

#[test]
fn latin1_local_parts_take_the_short_path() {
    // The short path of `check_local` (only the warning) and of
    // `any_address` (no unsafe character) for local parts of ASCII and
    // Latin-1 letters, against the general checks: every code point of
    // the Latin-1 block and beyond, alone and among ASCII.
    for (c, local, expected) in latin1_cases() {
        let short = is_latin1_letters(local.as_bytes());
        assert_eq!(short, expected, "{local:?}");
        if short {
            let mut warnings = Vec::new();
            assert_eq!(non_ascii_local(&local, 0, &mut warnings), Ok(()));
            assert_eq!(warnings, [AddressWarning::InternationalLocalPart]);
            assert!(!is_unsafe_in_address(c), "{c:?}");
            let mut warnings = Vec::new();
            assert_eq!(check_local(&local, 0, &mut warnings), Ok(false));
            assert_eq!(warnings, [AddressWarning::InternationalLocalPart]);
        }
    }
    assert!(is_latin1_letters(b"plain.ascii+1"));
    assert!(!is_latin1_letters("a\u{D7}b".as_bytes()));
    assert!(!is_latin1_letters(&[0xC3]));
}

#[test]
fn plain_ascii_domains_are_the_ones_check_labels_passes_without_punycode() {
    let label = "a".repeat(63);
    let domains = [
        "example.com".to_owned(),
        "Example.COM".to_owned(),
        "a.b".to_owned(),
        "a-b.c-d.ef".to_owned(),
        "x.y1".to_owned(),
        "x.1y".to_owned(),
        "x.123".to_owned(),
        "1.2.3.4".to_owned(),
        "localhost".to_owned(),
        ".x.com".to_owned(),
        "x.com.".to_owned(),
        "x..com".to_owned(),
        "-x.com".to_owned(),
        "x-.com".to_owned(),
        "ab--c.com".to_owned(),
        "xn--bcher-kva.com".to_owned(),
        "XN--0.com".to_owned(),
        "ab-c.com".to_owned(),
        "x_y.com".to_owned(),
        "x y.com".to_owned(),
        String::new(),
        format!("{label}.com"),
        format!("{label}a.com"),
        format!("{label}.{label}.{label}.{}", "a".repeat(61)),
        format!("{label}.{label}.{label}.{}", "a".repeat(62)),
    ];
    for d in &domains {
        let ldh = d
            .bytes()
            .all(|c| c == b'.' || ASCII_CLASS[usize::from(c)] & LDH != 0);
        let labels = check_labels(&d.to_ascii_lowercase(), d);
        assert_eq!(
            is_plain_ascii_domain(d.as_bytes()),
            ldh && labels == Ok(false),
            "{d:?}: {labels:?}"
        );
    }
}

#[test]
fn paste_separators() {
    let p = parse_recipients("a@x.com,b@x.com;c@x.com\nd@x.com\r\ne@x.com f@x.com\tg@x.com");
    assert_eq!(
        texts(&p),
        [
            "a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com", "f@x.com", "g@x.com"
        ]
    );
    assert_eq!(p.recognized(), 7);
    let p = parse_recipients(" , ,, \n\n ;");
    assert!(p.entries.is_empty());
}

#[test]
fn paste_formats_and_spans() {
    let text =
        "Ada Lovelace <ada@x.com>, \"Hopper, Grace\" <grace@x.com>\nbob@x.com Carol<carol@x.com>";
    let p = parse_recipients(text);
    assert_eq!(
        texts(&p),
        [
            "Ada Lovelace <ada@x.com>",
            "\"Hopper, Grace\" <grace@x.com>",
            "bob@x.com",
            "Carol<carol@x.com>"
        ]
    );
    for e in &p.entries {
        assert_eq!(e.span.slice(text), e.text);
    }
    let names: Vec<_> = p.mailboxes().map(|m| m.display_name.clone()).collect();
    assert_eq!(
        names,
        [
            Some("Ada Lovelace".into()),
            Some("Hopper, Grace".into()),
            None,
            Some("Carol".into())
        ]
    );
}

#[test]
fn paste_reports_broken_fragments() {
    let p = parse_recipients(
        "ada@x.com\nbob at example.com\n<carol@x.com\ndan@@x.com\neve@x.com.\nfrank@",
    );
    let codes: Vec<_> = p
        .entries
        .iter()
        .map(|e| match &e.outcome {
            EntryOutcome::Invalid { error } => error.code(),
            _ => "ok",
        })
        .collect();
    assert_eq!(
        codes,
        [
            "ok",
            "missing_at",
            "missing_closing_bracket",
            "multiple_at",
            "trailing_dot",
            "empty_domain"
        ]
    );
    assert_eq!(p.recognized(), 1);
    assert_eq!(p.invalid().count(), 5);
}

#[test]
fn stray_quote_spoils_one_entry_only() {
    let p = parse_recipients("\"Smith, John <js@x.com>, ada@x.com");
    assert_eq!(texts(&p), ["\"Smith", "John <js@x.com>", "ada@x.com"]);
    assert_eq!(p.recognized(), 2);
    let p = parse_recipients("Ada <ada@x.com Bob <bob@x.com>");
    assert_eq!(texts(&p), ["Ada", "<ada@x.com", "Bob <bob@x.com>"]);
    assert_eq!(p.recognized(), 1);
}

#[test]
fn duplicates() {
    let p = parse_recipients("Ada@X.com, ada@x.com, \"A\" <ADA@x.COM>, bob@x.com");
    assert_eq!(p.recognized(), 2);
    let d: Vec<_> = p.duplicates().map(|(_, f)| f).collect();
    assert_eq!(d, [0, 0]);
    assert!(matches!(
        &p.entries[2].outcome,
        EntryOutcome::Duplicate { mailbox, first: 0 } if mailbox.display_name.as_deref() == Some("A")
    ));
}

/// Whether `c` is a slice of `text` (not a copy).
#[allow(clippy::ptr_arg)] // the Cow is the point: borrowed or owned
fn within(c: &Cow<'_, str>, text: &str) -> bool {
    let range = text.as_bytes().as_ptr_range();
    matches!(c, Cow::Borrowed(s) if range.contains(&s.as_ptr()))
}

#[test]
fn what_was_typed_as_is_is_borrowed_and_what_changed_is_owned() {
    let text = "ada@example.com, Ada Lovelace <ada.l@example.com>\n\
                \"Lovelace, Ada\" <al@example.com>; Bob <BOB@Example.COM>\n\
                \"O\\'Neil\" <o@example.com> eve@université.fr";
    let p = parse_recipients(text);
    let m: Vec<&Mailbox<'_>> = p
        .entries
        .iter()
        .filter_map(|e| e.outcome.mailbox())
        .collect();
    assert_eq!(m.len(), 6);
    for e in &p.entries {
        assert!(within(&e.text, text), "{:?}", e.text);
    }
    // Typed in lowercase, names without escapes: nothing copied.
    for mb in &m[..3] {
        assert!(within(&mb.address, text) && within(&mb.key, text));
        assert!(within(&mb.ascii_domain, text));
        assert!(mb.display_name.as_ref().is_none_or(|n| within(n, text)));
    }
    assert_eq!(m[2].display_name.as_deref(), Some("Lovelace, Ada"));
    // An uppercase domain: address, key and domain are new strings.
    assert_eq!(
        (m[3].address.as_ref(), m[3].key.as_ref()),
        ("BOB@example.com", "bob@example.com")
    );
    assert!(matches!(m[3].address, Cow::Owned(_)) && matches!(m[3].key, Cow::Owned(_)));
    assert!(m[3].display_name.as_ref().is_some_and(|n| within(n, text)));
    // An escaped character in the name: unescaped into a new string.
    assert_eq!(m[4].display_name.as_deref(), Some("O'Neil"));
    assert!(matches!(m[4].display_name, Some(Cow::Owned(_))));
    // An international domain: the address as typed, the key in ASCII.
    assert!(within(&m[5].address, text));
    assert_eq!(m[5].key, "eve@xn--universit-j4a.fr");
    // Detached, the same values.
    let owned = p.clone().into_owned();
    assert_eq!(owned, p);
    assert!(
        owned
            .entries
            .iter()
            .all(|e| matches!(e.text, Cow::Owned(_)))
    );
}

#[test]
fn duplicates_are_found_through_colliding_hashes() {
    let valid = |key: &'static str| PasteEntry {
        span: Span { start: 0, end: 0 },
        text: key.into(),
        outcome: EntryOutcome::Valid(Mailbox {
            display_name: None,
            address: key.into(),
            key: key.into(),
            ascii_domain: "x.com".into(),
            warnings: Vec::new(),
        }),
    };
    let keys = [
        "a@x.com", "b@x.com", "a@x.com", "-", "b@x.com", "c@x.com", "c@x.com", "b@x.com",
        "d@x.com", "a@x.com",
    ];
    let mut entries: Vec<PasteEntry> = keys
        .iter()
        .map(|&k| match k {
            "-" => PasteEntry {
                span: Span { start: 0, end: 0 },
                text: k.into(),
                outcome: EntryOutcome::Invalid {
                    error: AddressError::MissingAt,
                },
            },
            _ => valid(k),
        })
        .collect();
    let mut hashes = KeyHashes::new(100, 0);
    for (i, k) in keys.iter().enumerate() {
        match *k {
            "-" => {}
            // a, b and c share one hash, d has its own.
            "d@x.com" => hashes.push(i, k),
            _ => hashes.push_hash(i, 42 << 40),
        }
    }
    hashes.mark_duplicates(&mut entries);
    let got: Vec<String> = entries
        .iter()
        .map(|e| match &e.outcome {
            EntryOutcome::Valid(m) => format!("valid {}", m.key),
            EntryOutcome::Duplicate { mailbox, first } => {
                format!("dup {} of {first}", mailbox.key)
            }
            EntryOutcome::Invalid { error } => error.code().to_owned(),
        })
        .collect();
    assert_eq!(
        got,
        [
            "valid a@x.com",
            "valid b@x.com",
            "dup a@x.com of 0",
            "missing_at",
            "dup b@x.com of 1",
            "valid c@x.com",
            "dup c@x.com of 5",
            "dup b@x.com of 1",
            "valid d@x.com",
            "dup a@x.com of 0",
        ]
    );
}

#[test]
fn many_copies_of_one_address_point_at_the_first() {
    let text = "ada@example.com\n".repeat(100_000);
    let p = parse_recipients(&text);
    assert_eq!(p.recognized(), 1);
    assert_eq!(p.duplicates().count(), 99_999);
    assert!(p.duplicates().all(|(_, first)| first == 0));
}

#[test]
fn hostile_display_names_in_pastes_never_reach_a_mailbox() {
    let p = parse_recipients("foo\r\nBcc: evil@x.com <wok@example.com>");
    for m in p.mailboxes() {
        let name = m.display_name.as_deref().unwrap_or("");
        assert!(!name.contains(['\r', '\n']), "{m:?}");
    }
    let p = parse_recipients("\"A\u{202E}B\" <a@b.com>, \"x\u{0}\" <c@d.com>");
    assert_eq!(p.recognized(), 0);
}

#[test]
fn an_address_cannot_pose_as_a_name() {
    let posing = |s: &str, found: &str, position: usize| {
        assert_eq!(
            err(s),
            AddressError::AddressInName {
                found: found.into(),
                position
            },
            "{s}"
        );
    };
    posing(
        "\"Alice <alice@example.com>\" <evil@evil.example>",
        "alice@example.com",
        8,
    );
    posing(
        "\"alice@example.com\" <evil@evil.example>",
        "alice@example.com",
        1,
    );
    posing(
        "alice@example.com <evil@evil.example>",
        "alice@example.com",
        0,
    );
    posing(
        "alice@example.com<evil@evil.example>",
        "alice@example.com",
        0,
    );
    posing(
        "\"Alice, alice@example.org\" <bob@example.com>",
        "alice@example.org",
        8,
    );
    // In a paste: one refused entry, not two invitations.
    let p = parse_recipients("alice@example.com <evil@evil.example>, bob@example.com");
    assert_eq!(
        texts(&p),
        ["alice@example.com <evil@evil.example>", "bob@example.com"]
    );
    assert_eq!(p.recognized(), 1);
    assert_eq!(
        p.invalid().map(|(_, e)| e.code()).collect::<Vec<_>>(),
        ["address_in_name"]
    );
    // Its own address as its name is no imitation: kept, with no name.
    for s in [
        "ada@example.com <ADA@example.com>",
        "\"ada@example.com\" <ada@example.com>",
        "'ada@example.com' <ada@example.com>",
    ] {
        let m = ok(s);
        assert_eq!((m.key.as_ref(), m.display_name), ("ada@example.com", None));
    }
    assert_eq!(
        ok("\"Ada (ada@example.com)\" <ada@example.com>")
            .display_name
            .as_deref(),
        Some("Ada (ada@example.com)")
    );
    // An @ that is not inside a word is an ordinary character of a name.
    assert_eq!(
        ok("\"Ada @ Home\" <ada@example.com>")
            .display_name
            .as_deref(),
        Some("Ada @ Home")
    );
}

#[test]
fn two_addresses_in_one_entry_are_refused() {
    assert_eq!(
        err("Alice <alice@example.com> <evil@evil.example>"),
        AddressError::TwoAddresses { position: 26 }
    );
    assert_eq!(
        err("<alice@example.com><evil@evil.example>"),
        AddressError::TwoAddresses { position: 19 }
    );
    let p = parse_recipients(
        "Alice <alice@example.com> <evil@evil.example>\n<a@x.com> <b@y.com> <c@z.com>\nbob@example.com",
    );
    assert_eq!(p.entries.len(), 3);
    assert_eq!(p.recognized(), 1);
    assert!(p.invalid().all(|(_, e)| e.code() == "two_addresses"));
    // Separated, they are two entries as always.
    assert_eq!(parse_recipients("<a@x.com>, <b@y.com>").recognized(), 2);
    assert_eq!(
        parse_recipients("Al <a@x.com> Bo <b@y.com>").recognized(),
        2
    );
    assert_eq!(parse_recipients("a@x.com b@y.com").recognized(), 2);
    assert_eq!(parse_recipients("a@x.com Bo <b@y.com>").recognized(), 2);
}

#[test]
fn encoded_words_are_refused() {
    assert_eq!(
        err("=?utf-8?q?=C3=89ric?= <foo@example.com>"),
        AddressError::EncodedWord { position: 0 }
    );
    assert_eq!(
        err("\"Götz =?utf-8?q?C?=\" <g@c.de>"),
        AddressError::EncodedWord { position: 6 }
    );
    // In the local part, where some mail software decodes it into
    // another address (`=40` is `@`).
    assert_eq!(
        err("=?utf-8?q?eve=40evil.example?=@example.com"),
        AddressError::EncodedWord { position: 0 }
    );
    assert_eq!(
        err("Ada <a=?x?q?y?=b@example.com>"),
        AddressError::EncodedWord { position: 6 }
    );
    let p = parse_recipients("=?utf-8?b?QWRh?= <ada@example.com>; =?x?q?y?=@example.com");
    assert_eq!(p.recognized(), 0);
    // `=` alone is an ordinary character.
    assert_eq!(
        ok("prvs=1234=ada@example.com").key,
        "prvs=1234=ada@example.com"
    );
    assert_eq!(ok("a=?b@example.com").key, "a=?b@example.com");
    assert_eq!(
        ok("Ada = Countess <ada@example.com>")
            .display_name
            .as_deref(),
        Some("Ada = Countess")
    );
}

#[test]
fn display_names_are_bounded() {
    let max = MAX_DISPLAY_NAME_CHARS;
    for name in [
        "A".repeat(max),
        "é".repeat(max),
        format!("{} Z", "a".repeat(max - 2)),
    ] {
        let entry = format!("{name} <a@b.com>");
        let m = ok(&entry);
        assert_eq!(m.display_name.as_deref(), Some(name.as_str()));
        assert_eq!(
            ok(&format!("\"{name}\" <a@b.com>")).display_name,
            m.display_name
        );
    }
    let too_long = AddressError::DisplayNameTooLong { len: max + 1, max };
    for name in ["A".repeat(max + 1), "é".repeat(max + 1)] {
        assert_eq!(err(&format!("{name} <a@b.com>")), too_long);
        assert_eq!(err(&format!("\"{name}\" <a@b.com>")), too_long);
        assert_eq!(
            err(&format!("\"{name}\" Z <a@b.com>")).code(),
            "display_name_too_long"
        );
    }
    // Spaces between words count once, as the name keeps them.
    let spaced = format!("{}     {}", "a".repeat(100), "b".repeat(99));
    assert_eq!(
        ok(&format!("{spaced} <a@b.com>"))
            .display_name
            .map(|n| n.len()),
        Some(200)
    );
    // In a paste, the entry is refused and the rest goes on.
    let text = format!("{} <a@b.com>, ada@example.com", "A".repeat(max + 1));
    let p = parse_recipients(&text);
    assert_eq!(p.recognized(), 1);
    assert_eq!(p.invalid().next().map(|(_, e)| e.clone()), Some(too_long));
}

#[test]
fn quotes_brackets_and_invisible_characters_stay_out_of_names() {
    use AddressError as E;
    let forbidden = |character, position| E::DisplayNameCharacter {
        character,
        position,
    };
    assert_eq!(err("\"Ada \\\"x\\\"\" <a@b.com>"), forbidden('"', 6));
    assert_eq!(err("\"Ada <x>\" <a@b.com>"), forbidden('<', 5));
    assert_eq!(err("\"Ada >\" <a@b.com>"), forbidden('>', 5));
    assert_eq!(err("Ada\\<x <a@b.com>"), forbidden('<', 4));
    assert_eq!(err("Ada\\\"x <a@b.com>"), forbidden('"', 4));
    for c in [
        '\u{2028}', '\u{2029}', '\u{200B}', '\u{FEFF}', '\u{2060}', '\u{202E}', '\u{2066}',
        '\u{200E}', '\u{061C}', '\u{AD}', '\u{3164}', '\u{115F}', '\u{180E}', '\u{206A}',
    ] {
        for entry in [
            format!("\"Ada{c}\" <a@b.com>"),
            format!("Ada{c}x <a@b.com>"),
        ] {
            assert!(
                matches!(err(&entry), E::DisplayNameControl { character, .. } if character == c),
                "{entry:?}"
            );
            let p = parse_recipients(&entry);
            assert!(
                p.mailboxes()
                    .all(|m| !m.display_name.as_deref().unwrap_or("").contains(c)),
                "{entry:?}: {p:?}"
            );
        }
    }
    // What names keep: letters of any script, marks, joiners in the
    // scripts that need them, emoji.
    for name in [
        "Zoë O'Brien-Łukasz",
        "محمد‌علی",
        "田中 太郎",
        "Ada 👩\u{200D}💻",
    ] {
        assert_eq!(
            ok(&format!("\"{name}\" <a@b.com>")).display_name.as_deref(),
            Some(name)
        );
    }
}

#[test]
fn error_codes_match_serde_tags() {
    let errors = [
        err(""),
        err("x"),
        err("a@b@c.com"),
        err("ada@localhost"),
        err("a\u{0}@b.com"),
        err("\"q\"@b.com"),
        err("ada@[1.2.3.4]"),
        err("ada@x.123"),
    ];
    for e in errors {
        let json = serde_json::to_value(&e).expect("serializes");
        assert_eq!(json["code"], e.code(), "{json}");
        let back: AddressError = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, e);
        assert!(!e.to_string().is_empty());
    }
    for w in [
        AddressWarning::InternationalDomain,
        AddressWarning::Confusable,
        AddressWarning::InternationalLocalPart,
    ] {
        assert_eq!(serde_json::to_value(&w).expect("serializes"), w.code());
    }
}

#[test]
fn bounded_time_on_pathological_input() {
    let inputs = [
        "\"".repeat(100_000),
        "\"\\".repeat(50_000),
        "<".repeat(100_000),
        "<a".repeat(50_000) + ">",
        "a@".repeat(50_000),
        "(".repeat(100_000),
        format!("user@example.com {}", "(".repeat(10_000)),
        "=?utf-8?q?hello?= ".repeat(10_000),
    ];
    for s in &inputs {
        let start = std::time::Instant::now();
        let p = parse_recipients(s);
        let _ = parse_address(s);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "{} entries took {:?}",
            p.entries.len(),
            start.elapsed()
        );
    }
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    fn local() -> impl Strategy<Value = String> {
        "[A-Za-z0-9]{1,8}([._+'-][a-z0-9]{1,8}){0,2}"
    }

    fn domain() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9]{1,10}(-[a-z0-9]{1,5})?(\\.[a-z0-9]{1,8}){0,2}\\.[a-z]{2,6}",
            Just("université.fr".to_owned()),
            Just("Example.COM".to_owned()),
        ]
    }

    fn address() -> impl Strategy<Value = String> {
        (local(), domain()).prop_map(|(l, d)| format!("{l}@{d}"))
    }

    /// Characters whose case mapping or UTS #46 mapping is tricky.
    const TRICKY: &str = "A-Za-z0-9ΣσςΑαΧχİıIiẞßＡａＢｂＫ\u{212A}µΜÉéÖöКкᎠꭰǄǅǆ㍻";

    fn tricky_address() -> impl Strategy<Value = String> {
        let local = format!("[{TRICKY}＠'+_]{{1,8}}(\\.[{TRICKY}]{{1,6}}){{0,2}}");
        let label = format!("[{TRICKY}-]{{1,8}}");
        let tld = format!("([a-zA-Z]{{2,4}}|[{TRICKY}]{{2,5}})");
        let dot = "(\\.|。|．)";
        let re = |r: &str| proptest::string::string_regex(r).expect("a valid regex");
        (
            re(&local),
            proptest::collection::vec((re(&label), re(dot)), 1..3),
            re(&tld),
        )
            .prop_map(|(local, labels, tld)| {
                let mut s = local;
                s.push('@');
                for (label, dot) in labels {
                    s.push_str(&label);
                    s.push_str(&dot);
                }
                s.push_str(&tld);
                s
            })
    }

    fn name() -> impl Strategy<Value = String> {
        "[A-Z][a-z]{0,8}( [A-Z][a-z.]{0,8}){0,2}"
    }

    fn wrap() -> impl Strategy<Value = u8> {
        0u8..4
    }

    fn wrapped(addr: &str, how: u8, first: &str, last: &str) -> String {
        match how {
            0 => addr.to_owned(),
            1 => format!("{first} {last} <{addr}>"),
            2 => format!("\"{last}, {first}\" <{addr}>"),
            _ => format!("{first}<{addr}>"),
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let p = parse_recipients(&s);
            for e in &p.entries {
                prop_assert!(s.get(e.span.start..e.span.end).is_some());
            }
            let _ = parse_address(&s);
        }

        #[test]
        fn never_panics_on_specials(s in "[a-z@<>\",;: \n\r\t\\\\.()\\[\\]＠é\u{0}\u{202E}-]{0,40}") {
            let p = parse_recipients(&s);
            let mut end = 0;
            for e in &p.entries {
                prop_assert!(e.span.start >= end && e.span.start < e.span.end);
                end = e.span.end;
                prop_assert_eq!(&s[e.span.start..e.span.end], e.text.as_ref());
            }
            if let Ok(m) = parse_address(&s) {
                prop_assert_eq!(parse_address(&m.key).map(|k| k.key), Ok(m.key.clone()));
            }
        }

        /// The uniqueness key is a fixed point: what a mailbox stores
        /// (its address, its key) parses again to the same key, the
        /// same address and the same ASCII domain, for addresses whose
        /// case mapping is tricky (Greek sigma, Turkish dotted and
        /// dotless I, German ß and ẞ, fullwidth forms, the Kelvin sign,
        /// Cherokee, squared CJK, titlecase digraphs, full stops).
        #[test]
        fn keys_are_fixed_points(s in tricky_address(), how in wrap()) {
            let entry = wrapped(&s, how, "Ada", "Lovelace");
            if let Ok(m) = parse_address(&entry) {
                let again = parse_address(&m.address);
                prop_assert!(again.is_ok(), "{:?} -> {:?}: {:?}", entry, m.address, again);
                let again = again.unwrap_or_else(|_| m.clone());
                prop_assert_eq!(&again.key, &m.key, "{:?}", entry);
                prop_assert_eq!(&again.address, &m.address, "{:?}", entry);
                prop_assert_eq!(&again.ascii_domain, &m.ascii_domain, "{:?}", entry);
                let by_key = parse_address(&m.key).map(|k| k.key);
                prop_assert_eq!(by_key, Ok(m.key.clone()), "{:?}", entry);
                let pasted = parse_recipients(&entry);
                prop_assert_eq!(pasted.mailboxes().next().map(|p| &p.key), Some(&m.key));
            }
        }

        /// The short paths of the blank trims and of the capital check
        /// agree with the plain ones.
        #[test]
        fn blank_trims_and_capitals_agree_with_the_plain_forms(
            s in "[ \t\u{A0}\u{3000}\u{2028}aZ@.é\u{85}]{0,8}"
        ) {
            prop_assert_eq!(trim_blank(&s), s.trim_matches(is_blank));
            prop_assert_eq!(trim_blank_start(&s), s.trim_start_matches(is_blank));
            prop_assert_eq!(trim_blank_end(&s), s.trim_end_matches(is_blank));
            prop_assert_eq!(has_ascii_uppercase(&s), s.bytes().any(|c| c.is_ascii_uppercase()));
        }

        #[test]
        fn latin1_local_parts_pass_the_general_checks(local in "[A-Za-z0-9'+_\u{C0}-\u{FF}\u{100}-\u{17F}]{1,8}(\\.[A-Za-z0-9\u{C0}-\u{FF}-]{1,8}){0,2}") {
            if is_latin1_letters(local.as_bytes()) {
                let mut warnings = Vec::new();
                prop_assert_eq!(non_ascii_local(&local, 0, &mut warnings), Ok(()));
                prop_assert!(!local.chars().any(|c| !c.is_ascii() && is_unsafe_in_address(c)));
            }
        }

        #[test]
        fn latin1_local_keys_match_uts46(local in "[A-Za-z0-9'+_\u{C0}-\u{FF}\u{100}-\u{17F}]{1,8}(\\.[A-Za-z0-9\u{C0}-\u{FF}-]{1,8}){0,2}") {
            let mut fast = String::new();
            if latin1_local_key(&local, &mut fast) {
                prop_assert_eq!(fast, uts46_local_key(&local));
            } else {
                prop_assert!(fast.is_empty());
            }
        }

        #[test]
        fn accepted_addresses_pass_the_email_address_crate(
            s in prop_oneof![
                "[A-Za-z0-9.!#$%&'*+/=?^_`{|}~@-]{1,12}@[A-Za-z0-9._-]{1,16}",
                "[a-zé.+]{1,8}@[a-zé0-9.-]{1,10}\\.[a-zé0-9-]{1,6}",
                "(xn--[a-z0-9-]{1,8}|[a-z]{1,4})@(xn--[a-z0-9-]{1,12}|[A-Za-z0-9-]{1,8})\\.[a-zA-Z0-9-]{1,6}",
                address(),
            ]
        ) {
            // The promise of the module doc: the bare local part (when
            // ASCII) and the ASCII domain pass the crate.
            if let Ok(m) = parse_address(&s) {
                let local = m.local_part();
                prop_assert!(
                    !local.is_ascii() || email_address::EmailAddress::is_valid_local_part(local),
                    "{:?}", m
                );
                prop_assert!(email_address::EmailAddress::is_valid_domain(&m.ascii_domain), "{:?}", m);
                // The key ends in the ASCII domain after its last `@`: the
                // engine reads a recipient's domain there.
                prop_assert_eq!(
                    m.key.rsplit_once('@').map(|(_, d)| d),
                    Some(m.ascii_domain.as_ref()),
                    "{:?}", m
                );
                if local.is_ascii() {
                    let bare = format!("{local}@{}", m.ascii_domain);
                    prop_assert!(email_address::EmailAddress::is_valid(&bare), "{}", bare);
                }
            }
        }

        #[test]
        fn generated_addresses_are_recognized_in_every_format(
            addr in address(), how in wrap(), first in "[A-Z][a-z]{1,8}", last in "[A-Z][a-z]{1,8}"
        ) {
            let alone = parse_address(&addr);
            prop_assert!(alone.is_ok(), "{:?}: {:?}", addr, alone);
            let key = alone.map(|m| m.key).unwrap_or_default();
            let entry = wrapped(&addr, how, &first, &last);
            let single = parse_address(&entry).map(|m| m.key);
            prop_assert_eq!(single, Ok(key.clone()), "{}", entry);
            let p = parse_recipients(&entry);
            prop_assert_eq!(p.entries.len(), 1);
            prop_assert_eq!(p.mailboxes().next().map(|m| m.key.clone()), Some(key.clone()));
            if how != 0 {
                let expected = if how == 2 { format!("{last}, {first}") } else if how == 1 { format!("{first} {last}") } else { first.clone() };
                prop_assert_eq!(p.mailboxes().next().and_then(|m| m.display_name.as_deref()), Some(expected.as_str()));
            }
        }

        #[test]
        fn joined_lists_have_one_entry_per_address(
            items in prop::collection::vec((address(), wrap(), name(), name()), 1..12),
            seps in prop::collection::vec(prop_oneof![
                Just(", "), Just(","), Just(";"), Just("; "), Just("\n"), Just("\r\n"), Just(" "), Just("\n\n"), Just(" ,\t")
            ], 12)
        ) {
            let mut text = String::new();
            let mut keys = Vec::new();
            for (i, (addr, how, first, last)) in items.iter().enumerate() {
                if i > 0 {
                    text.push_str(seps[i]);
                }
                let first = first.split(' ').next().unwrap_or("A");
                text.push_str(&wrapped(addr, *how, first, last));
                keys.push(parse_address(addr).map(|m| m.key).unwrap_or_default());
            }
            let p = parse_recipients(&text);
            prop_assert_eq!(p.entries.len(), items.len(), "{:?}", text);
            let got: Vec<_> = p.entries.iter().map(|e| match &e.outcome {
                EntryOutcome::Valid(m) | EntryOutcome::Duplicate { mailbox: m, .. } => m.key.to_string(),
                EntryOutcome::Invalid { error } => format!("invalid: {error}"),
            }).collect();
            prop_assert_eq!(&got, &keys);
            let mut distinct = keys.clone();
            distinct.sort();
            distinct.dedup();
            prop_assert_eq!(p.recognized(), distinct.len());
        }
    }
}
