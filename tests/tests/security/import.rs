//! Security tests: hostile import files (issue 10, "a small XLSX file aborts
//! the process").
//!
//! An import file comes from whoever may upload one, and `parse_import` is
//! also public without an actor. Each file here is built in code, byte by
//! byte where a real writer would refuse to lie: a shared-strings count of
//! four trillion, a deflate bomb, a directory that understates what an
//! entry unpacks to, thousands of entries, cell references past Excel's
//! grid, a 100 MB CSV field. Each must come back as a clear error (never an
//! abort, a stall or gigabytes of memory) and store nothing.

use super::super::scenarios::common;
use enlist::{
    Error, ImportDefaults, ImportFormat, ImportLimits, InvitationStatus, LimitKind, Permission,
    Policy, parse_import,
};

// ---------------------------------------------------------------------------
// Building zip archives by hand
// ---------------------------------------------------------------------------

/// CRC-32 (IEEE), table-driven.
fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, slot) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *slot = c;
    }
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// One entry of a hand-made archive.
struct Entry {
    name: String,
    /// 0 stored, 8 deflated.
    method: u16,
    /// The bytes as stored in the archive.
    data: Vec<u8>,
    crc: u32,
    /// The unpacked size the headers declare (may lie).
    declared: u32,
}

impl Entry {
    fn stored(name: &str, content: &[u8]) -> Self {
        Entry {
            name: name.to_owned(),
            method: 0,
            data: content.to_vec(),
            crc: crc32(content),
            declared: u32::try_from(content.len()).expect("small entry"),
        }
    }

    /// `prefix`, then `fill` repeated `n` times, then `suffix`, deflated
    /// with the fixed Huffman code (13 bits per 258 repeated bytes).
    fn deflated(name: &str, prefix: &[u8], fill: u8, n: usize, suffix: &[u8]) -> Self {
        let data = deflate_fixed(prefix, fill, n, suffix);
        let total = prefix.len() + n + suffix.len();
        // The CRC of large fills is not needed: every test refuses the
        // entry before its end, where the CRC is checked.
        let crc = if total <= 1 << 20 {
            let mut all = prefix.to_vec();
            all.resize(prefix.len() + n, fill);
            all.extend_from_slice(suffix);
            crc32(&all)
        } else {
            0
        };
        Entry {
            name: name.to_owned(),
            method: 8,
            data,
            crc,
            declared: u32::try_from(total).expect("under 4 GB"),
        }
    }

    fn declaring(mut self, declared: u32) -> Self {
        self.declared = declared;
        self
    }
}

/// A DEFLATE stream (one final block, fixed Huffman codes).
fn deflate_fixed(prefix: &[u8], fill: u8, n: usize, suffix: &[u8]) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        len: u32,
    }
    impl Bits {
        fn put(&mut self, value: u32, n: u32) {
            self.acc |= u64::from(value) << self.len;
            self.len += n;
            while self.len >= 8 {
                self.out.push((self.acc & 0xFF) as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u32, n: u32) {
            let reversed = code.reverse_bits() >> (32 - n);
            self.put(reversed, n);
        }
        fn literal(&mut self, b: u8) {
            if b < 144 {
                self.code(0x30 + u32::from(b), 8);
            } else {
                self.code(0x190 + u32::from(b) - 144, 9);
            }
        }
    }
    let mut bits = Bits {
        out: Vec::new(),
        acc: 0,
        len: 0,
    };
    bits.put(1, 1); // final block
    bits.put(1, 2); // fixed Huffman codes
    for &b in prefix {
        bits.literal(b);
    }
    if n > 0 {
        bits.literal(fill);
        let rest = n - 1;
        for _ in 0..rest / 258 {
            bits.code(0xC5, 8); // length 258 (symbol 285)
            bits.code(0, 5); // distance 1
        }
        for _ in 0..rest % 258 {
            bits.literal(fill);
        }
    }
    for &b in suffix {
        bits.literal(b);
    }
    bits.code(0, 7); // end of block
    bits.put(0, 7); // flush
    bits.out
}

/// A zip archive of `entries`, with the sizes they declare.
fn zip(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = u32::try_from(out.len()).expect("small archive");
        let packed = u32::try_from(e.data.len()).expect("small entry");
        let name = e.name.as_bytes();
        let name_len = u16::try_from(name.len()).expect("short name");
        // Local file header.
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&e.method.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0x21, 0]); // time, date (1980-01-01)
        out.extend_from_slice(&e.crc.to_le_bytes());
        out.extend_from_slice(&packed.to_le_bytes());
        out.extend_from_slice(&e.declared.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra
        out.extend_from_slice(name);
        out.extend_from_slice(&e.data);
        // Central directory header.
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        central.extend_from_slice(&20u16.to_le_bytes()); // needed
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&e.method.to_le_bytes());
        central.extend_from_slice(&[0, 0, 0x21, 0]);
        central.extend_from_slice(&e.crc.to_le_bytes());
        central.extend_from_slice(&packed.to_le_bytes());
        central.extend_from_slice(&e.declared.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0; 12]); // extra, comment, disk, attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let count = u16::try_from(entries.len()).expect("fewer than 65536 entries");
    let cd_offset = u32::try_from(out.len()).expect("small archive");
    let cd_len = u32::try_from(central.len()).expect("small directory");
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment
    out
}

const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Users" sheetId="1" r:id="rId1"/></sheets></workbook>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

/// A worksheet whose `sheetData` is `rows`, after `before` (a dimension).
fn sheet(before: &str, rows: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{before}<sheetData>{rows}</sheetData></worksheet>"#
    )
}

/// A header row and one person, with inline strings.
const ROWS: &str = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>ada@acme.test</t></is></c></row>"#;

/// The parts calamine needs: workbook, its relationships, one sheet.
fn workbook_parts(sheet_xml: &str) -> Vec<Entry> {
    vec![
        Entry::stored("xl/workbook.xml", WORKBOOK.as_bytes()),
        Entry::stored("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
        Entry::stored("xl/worksheets/sheet1.xml", sheet_xml.as_bytes()),
    ]
}

/// The 1.7 KB workbook of the issue: its shared-strings table says it
/// holds four trillion strings, and calamine reserved room for them before
/// reading one (96 TB: the allocator aborted the process).
fn shared_strings_bomb() -> Vec<u8> {
    let mut parts = workbook_parts(&sheet(
        "",
        r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#,
    ));
    parts.push(Entry::stored(
        "xl/sharedStrings.xml",
        br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4000000000000" uniqueCount="4000000000000"><si><t>Email</t></si></sst>"#,
    ));
    zip(&parts)
}

/// The default limits, changed by `f`.
fn limits(f: impl FnOnce(&mut ImportLimits)) -> ImportLimits {
    let mut l = ImportLimits::default();
    f(&mut l);
    l
}

/// The default policy, changed by `f`.
fn policy(f: impl FnOnce(&mut Policy)) -> Policy {
    let mut p = Policy::default();
    f(&mut p);
    p
}

fn read(bytes: &[u8]) -> Result<enlist::ImportSheet, Error> {
    parse_import(bytes, ImportFormat::Xlsx, &ImportLimits::default())
}

#[track_caller]
fn assert_invalid_file(result: Result<enlist::ImportSheet, Error>, needle: &str) {
    match result {
        Err(Error::InvalidInput { field, reason }) => {
            assert_eq!(field, "file");
            assert!(reason.contains(needle), "{needle:?} not in {reason:?}");
        }
        other => panic!("expected an invalid file error about {needle:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_limit(result: Result<enlist::ImportSheet, Error>, kind: LimitKind) -> String {
    match result {
        Err(e @ Error::LimitExceeded { .. }) => {
            let Error::LimitExceeded {
                limit,
                max,
                actual,
                ref detail,
            } = e
            else {
                unreachable!()
            };
            assert_eq!(limit, kind, "{e}");
            assert!(actual > max, "{e}");
            detail.clone().expect("a limit error says what to do")
        }
        other => panic!("expected the {kind} limit, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The workbook parser never sees a count it cannot afford
// ---------------------------------------------------------------------------

#[test]
fn the_builder_makes_workbooks_calamine_reads() {
    // The hand-made archive is a real workbook: the tests below refuse
    // their files for what they hold, not for a broken archive.
    let sheet = read(&zip(&workbook_parts(&sheet(
        r#"<dimension ref="A1:A2"/>"#,
        ROWS,
    ))))
    .expect("a plain workbook reads");
    assert_eq!(sheet.rows.len(), 1);
    assert_eq!(sheet.rows[0].input.email.as_deref(), Some("ada@acme.test"));
    // Deflated parts too.
    let mut parts = workbook_parts("");
    let xml = sheet_xml_bytes();
    parts[2] = Entry::deflated("xl/worksheets/sheet1.xml", &xml, b' ', 1000, b"");
    assert_eq!(read(&zip(&parts)).expect("deflated").rows.len(), 1);
}

fn sheet_xml_bytes() -> Vec<u8> {
    sheet("", ROWS).into_bytes()
}

#[test]
fn a_shared_strings_count_of_four_trillion_is_an_error_not_an_abort() {
    let bytes = shared_strings_bomb();
    assert!(bytes.len() < 2048, "{} bytes", bytes.len());
    assert_invalid_file(
        read(&bytes),
        "shared strings table says it holds 4000000000000",
    );
    // A count the table honours still reads.
    let mut parts = workbook_parts(&sheet(
        "",
        r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>"#,
    ));
    parts.push(Entry::stored(
        "xl/sharedStrings.xml",
        br#"<sst count="2" uniqueCount="2"><si><t>Email</t></si><si><t>ada@acme.test</t></si></sst>"#,
    ));
    assert_eq!(read(&zip(&parts)).expect("honest count").rows.len(), 1);
}

#[test]
fn the_count_is_checked_however_the_part_is_spelled() {
    // calamine finds the part ignoring case and reading `\` as `/`.
    for name in ["XL/SharedStrings.XML", "xl\\sharedStrings.xml"] {
        let mut parts = workbook_parts(&sheet("", ROWS));
        parts.push(Entry::stored(
            name,
            br#"<x:sst xmlns:x="urn:x" uniqueCount = '99999999999'><x:si><x:t>a</x:t></x:si></x:sst>"#,
        ));
        assert_invalid_file(read(&zip(&parts)), "says it holds 99999999999");
    }
}

#[test]
fn cell_references_past_excels_grid_are_refused_by_name() {
    for (before, rows, cell) in [
        (
            r#"<dimension ref="A1:XFD99999999999"/>"#,
            ROWS,
            "A1:XFD99999999999",
        ),
        (r#"<dimension ref="C3:A1"/>"#, ROWS, "C3:A1"),
        (
            "",
            r#"<row r="1"><c r="ZZZZZZZ1" t="inlineStr"><is><t>Email</t></is></c></row>"#,
            "ZZZZZZZ1",
        ),
        (
            "",
            r#"<row r="4294967296"><c t="inlineStr"><is><t>Email</t></is></c></row>"#,
            "4294967296",
        ),
        (
            "",
            r#"<row r="1"><c r="A1048577" t="inlineStr"><is><t>Email</t></is></c></row>"#,
            "A1048577",
        ),
        // Found by the import_xlsx fuzz target: calamine multiplies
        // before it meets the character it refuses.
        (
            "",
            r#"<row r="1"><c r="nnnnnnnnnnnnn!" t="inlineStr"><is><t>Email</t></is></c></row>"#,
            "nnnnnnnnnnnnn!",
        ),
        (
            "",
            r#"<row r="99999999999x"><c t="inlineStr"><is><t>Email</t></is></c></row>"#,
            "99999999999x",
        ),
    ] {
        let bytes = zip(&workbook_parts(&sheet(before, rows)));
        assert_invalid_file(read(&bytes), &format!("{cell:?}, outside Excel's grid"));
    }
}

#[test]
fn the_last_cell_of_the_grid_costs_one_cell() {
    // XFD1048576 is a real cell: read sparsely, it is one row, not a
    // sixteen-billion-cell rectangle.
    let rows = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c></row><row r="1048576"><c r="A1048576" t="inlineStr"><is><t>last@acme.test</t></is></c><c r="XFD1048576" t="inlineStr"><is><t>far</t></is></c></row>"#;
    let sheet = read(&zip(&workbook_parts(&sheet(
        r#"<dimension ref="A1:XFD1048576"/>"#,
        rows,
    ))))
    .expect("the grid's corner reads");
    assert_eq!(sheet.rows.len(), 1);
    assert_eq!(sheet.rows[0].line, 1_048_576);
}

// ---------------------------------------------------------------------------
// The archive is measured before it is read
// ---------------------------------------------------------------------------

#[test]
fn a_deflate_bomb_is_refused_from_its_directory() {
    // 200 MB of zeros in 1.3 MB (the fixed Huffman code; zlib packs the
    // same in 200 KB).
    let mut parts = workbook_parts(&sheet("", ROWS));
    parts.push(Entry::deflated(
        "xl/media/image1.png",
        b"",
        0,
        200 << 20,
        b"",
    ));
    let bytes = zip(&parts);
    assert!(bytes.len() < 2 << 20, "{} bytes", bytes.len());
    let detail = assert_limit(read(&bytes), LimitKind::ImportRatio);
    assert!(detail.contains("xl/media/image1.png"), "{detail}");
    // Without the ratio limit (at its ceiling), the total stops it.
    let lenient = limits(|l| l.max_ratio = 1_032);
    let detail = match parse_import(&bytes, ImportFormat::Xlsx, &lenient) {
        Err(Error::LimitExceeded {
            limit: LimitKind::ImportUnpackedBytes,
            detail,
            ..
        }) => detail.unwrap_or_default(),
        other => panic!("{other:?}"),
    };
    assert!(detail.contains("unpacks to more than 200 MB"), "{detail}");
    assert!(detail.contains("save only the sheet"), "{detail}");
}

#[test]
fn a_directory_that_understates_an_entry_is_caught_while_unpacking() {
    // The sheet declares 1 KB and unpacks to 30 MB: every size in the
    // directory is within the limits, the truth is not.
    let mut xml = sheet_xml_bytes();
    let tail = xml.split_off(xml.len() - "</worksheet>".len());
    let mut parts = workbook_parts("");
    parts[2] =
        Entry::deflated("xl/worksheets/sheet1.xml", &xml, b' ', 30 << 20, &tail).declaring(1024);
    assert_invalid_file(
        read(&zip(&parts)),
        "xl/worksheets/sheet1.xml unpacks to more than the 1024 bytes its directory declares",
    );
    // The same lie about a part calamine never reads is refused too: the
    // archive is not trusted anywhere.
    let mut parts = workbook_parts(&sheet("", ROWS));
    parts.push(Entry::deflated("docProps/app.xml", b"", b' ', 30 << 20, b"").declaring(10));
    assert_invalid_file(read(&zip(&parts)), "docProps/app.xml unpacks to more than");
}

#[test]
fn many_small_entries_add_up() {
    // Thirty 1 MiB entries: each is exempt from the ratio limit, together
    // they are past the 20 MiB total.
    let mut parts = workbook_parts(&sheet("", ROWS));
    for i in 0..30 {
        parts.push(Entry::deflated(
            &format!("xl/media/{i}.bin"),
            b"",
            0,
            1 << 20,
            b"",
        ));
    }
    let bytes = zip(&parts);
    assert!(bytes.len() < 1 << 20);
    assert_limit(read(&bytes), LimitKind::ImportUnpackedBytes);
}

#[test]
fn too_many_entries_are_refused_before_any_is_read() {
    let mut parts = workbook_parts(&sheet("", ROWS));
    for i in 0..2_000 {
        parts.push(Entry::stored(&format!("xl/media/{i}.txt"), b""));
    }
    let detail = assert_limit(read(&zip(&parts)), LimitKind::ImportEntries);
    assert!(detail.contains("2003 parts"), "{detail}");
    // Exactly at the limit reads.
    let at_limit = limits(|l| l.max_entries = 2_003);
    assert!(parse_import(&zip(&parts), ImportFormat::Xlsx, &at_limit).is_ok());
}

#[test]
fn the_file_size_comes_first() {
    let tiny = limits(|l| l.max_bytes = 1_000);
    let detail = match parse_import(&shared_strings_bomb(), ImportFormat::Xlsx, &tiny) {
        Err(Error::LimitExceeded {
            limit: LimitKind::ImportBytes,
            max: 1_000,
            detail,
            ..
        }) => detail.unwrap_or_default(),
        other => panic!("{other:?}"),
    };
    assert!(detail.contains("at most 1000 bytes per import"), "{detail}");
}

// ---------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------

/// `Email,Notes` and one row whose note is `n` bytes.
fn csv_with_field(n: usize) -> Vec<u8> {
    let mut text = b"Email,Notes\nada@acme.test,\"".to_vec();
    text.resize(text.len() + n, b'x');
    text.extend_from_slice(b"\"\n");
    text
}

#[test]
fn a_100_mb_csv_field_is_refused_unread() {
    let bytes = csv_with_field(100 << 20);
    let detail = match parse_import(&bytes, ImportFormat::Csv, &ImportLimits::default()) {
        Err(Error::LimitExceeded {
            limit: LimitKind::ImportBytes,
            detail,
            ..
        }) => detail.unwrap_or_default(),
        other => panic!("{:?}", other.map(|s| s.rows.len())),
    };
    assert!(
        detail.contains("the file weighs 100 MB, at most 10 MB"),
        "{detail}"
    );
    // Where a policy takes large files, one record is still bounded: the
    // field is not buffered past 1 MiB.
    let large = limits(|l| l.max_bytes = 256 << 20);
    match parse_import(&bytes, ImportFormat::Csv, &large) {
        Err(Error::InvalidInput { field, reason }) => {
            assert_eq!(field, "file");
            assert!(
                reason.contains("the row on line 2 is longer than 1 MB"),
                "{reason}"
            );
        }
        other => panic!("{:?}", other.map(|s| s.rows.len())),
    }
    // A long note under the bound reads.
    let sheet = parse_import(&csv_with_field(500_000), ImportFormat::Csv, &large).expect("reads");
    assert_eq!(sheet.rows.len(), 1);
}

#[test]
fn an_unclosed_quote_cannot_swallow_the_file() {
    let mut text = b"Email\n\"".to_vec();
    for i in 0..200_000 {
        text.extend_from_slice(format!("u{i}@acme.test\n").as_bytes());
    }
    match parse_import(&text, ImportFormat::Csv, &ImportLimits::default()) {
        Err(Error::InvalidInput { reason, .. }) => {
            assert!(reason.contains("a quote that is never closed"), "{reason}");
        }
        other => panic!("{:?}", other.map(|s| s.rows.len())),
    }
}

#[test]
fn more_columns_than_excel_are_refused() {
    let mut text = b"Email".to_vec();
    text.extend(std::iter::repeat_n(b',', 20_000));
    text.extend_from_slice(b"\na@acme.test\n");
    match parse_import(&text, ImportFormat::Csv, &ImportLimits::default()) {
        Err(Error::InvalidInput { reason, .. }) => {
            assert!(reason.contains("more than 16384 columns"), "{reason}");
        }
        other => panic!("{:?}", other.map(|s| s.rows.len())),
    }
}

// ---------------------------------------------------------------------------
// Through the engine: the organization's limits, nothing stored
// ---------------------------------------------------------------------------

#[test]
fn hostile_files_store_nothing_through_the_engine() {
    let acme = common::org_with_owner();
    let owner = acme.owner_actor();
    let events = acme.events().len();
    let mut lying = workbook_parts("");
    let mut xml = sheet_xml_bytes();
    let tail = xml.split_off(xml.len() - "</worksheet>".len());
    lying[2] =
        Entry::deflated("xl/worksheets/sheet1.xml", &xml, b' ', 30 << 20, &tail).declaring(1024);
    for (bytes, format, code) in [
        (shared_strings_bomb(), ImportFormat::Xlsx, "invalid_input"),
        (zip(&lying), ImportFormat::Xlsx, "invalid_input"),
        (
            csv_with_field(11 << 20),
            ImportFormat::Csv,
            "limit_exceeded",
        ),
    ] {
        let err = acme
            .engine
            .import_invitations(acme.id(), &owner, &bytes, format, ImportDefaults::default())
            .expect_err("refused");
        assert_eq!(err.code(), code, "{err}");
    }
    assert_eq!(acme.events().len(), events, "no event recorded");
    assert!(acme.invitations(&[InvitationStatus::Pending]).is_empty());
}

#[test]
fn the_organizations_policy_sets_the_limits() {
    let small = policy(|p| p.max_import_bytes = 1_024);
    let acme = common::org_with_policy(small);
    let mut csv = b"Email\n".to_vec();
    for i in 0..100 {
        csv.extend_from_slice(format!("u{i}@acme.test\n").as_bytes());
    }
    let err = acme
        .engine
        .import_invitations(
            acme.id(),
            &acme.owner_actor(),
            &csv,
            ImportFormat::Csv,
            ImportDefaults::default(),
        )
        .expect_err("over the organization's 1 KB");
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                limit: LimitKind::ImportBytes,
                max: 1_024,
                ..
            }
        ),
        "{err}"
    );
    assert!(acme.invitations(&[InvitationStatus::Pending]).is_empty());
    // A policy cannot lift the limits out of reach.
    for bad in [
        policy(|p| p.max_import_bytes = 1 << 40),
        policy(|p| p.max_import_unpacked_bytes = u64::MAX),
        policy(|p| p.max_import_entries = 1_000_000),
        policy(|p| p.max_import_ratio = 5_000),
        policy(|p| p.max_import_rows = u32::MAX),
    ] {
        assert_eq!(
            bad.validated().map(|_| ()).map_err(|e| e.code()),
            Err("invalid_input")
        );
    }
}

#[test]
fn a_caller_who_may_not_import_is_refused_before_the_file_is_read() {
    let acme = common::org_with_owner();
    let member = acme.join("mia@acme.test", "member", "acct-mia");
    let err = acme
        .engine
        .import_invitations(
            acme.id(),
            &common::as_member(&member),
            &shared_strings_bomb(),
            ImportFormat::Xlsx,
            ImportDefaults::default(),
        )
        .expect_err("a member may not import");
    assert!(
        matches!(
            err,
            Error::PermissionDenied {
                permission: Permission::InviteMembers,
                ..
            }
        ),
        "{err}"
    );
}
