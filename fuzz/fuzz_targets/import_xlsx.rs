//! A structure-aware XLSX target: random bytes rarely make a valid zip, so
//! the fuzzer builds one from fuzzed parts (workbook, relationships, a
//! worksheet with fuzzed cell references and dimension, a shared-strings
//! table with a fuzzed count, styles, extra entries) and packs each part
//! stored or deflated, optionally padded with a long run of one byte (a
//! deflate bomb) and with a directory that lies about its size.
//!
//! An input starting with `PK` is taken as a whole file instead, so the
//! corpus can hold real workbooks for libFuzzer to mutate.
//!
//! Run with `-rss_limit_mb=256 -malloc_limit_mb=256 -timeout=1`: whatever
//! the parts, `parse_import` returns a sheet or an error within the
//! default limits, and never panics (a panic inside calamine is caught by
//! `parse_import`, but libFuzzer's panic hook reports it first: the input
//! reached a spot the pre-checks should have refused).

#![no_main]

use enlist::{ImportFormat, ImportLimits, parse_import};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

/// A number as written in an attribute.
#[derive(Arbitrary, Debug)]
enum Num {
    Small(u8),
    Row(u32),
    Huge(u64),
    /// Raw text: signs, spaces, entities, leading zeros.
    Text(String),
}

impl Num {
    fn text(&self) -> String {
        match self {
            Num::Small(n) => n.to_string(),
            Num::Row(n) => n.to_string(),
            Num::Huge(n) => n.to_string(),
            Num::Text(t) => escape(t),
        }
    }
}

/// A cell reference: column letters (each byte picks one) and a row.
#[derive(Arbitrary, Debug)]
struct CellRef {
    col: Vec<u8>,
    lower: bool,
    row: Num,
}

impl CellRef {
    fn text(&self) -> String {
        let mut s: String = self
            .col
            .iter()
            .take(12)
            .map(|b| {
                let c = char::from(b'A' + b % 26);
                if self.lower {
                    c.to_ascii_lowercase()
                } else {
                    c
                }
            })
            .collect();
        s.push_str(&self.row.text());
        s
    }
}

#[derive(Arbitrary, Debug)]
enum Range {
    One(CellRef),
    Two(CellRef, CellRef),
    Raw(String),
}

impl Range {
    fn text(&self) -> String {
        match self {
            Range::One(a) => a.text(),
            Range::Two(a, b) => format!("{}:{}", a.text(), b.text()),
            Range::Raw(t) => escape(t),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Value {
    Inline(String),
    Shared(Num),
    Number(String),
    Bool(bool),
    Error(String),
    Str(String),
    Date(String),
    Formula(String, Option<Range>, Option<Num>),
    Empty,
}

#[derive(Arbitrary, Debug)]
struct Cell {
    r: Option<CellRef>,
    style: Option<Num>,
    value: Value,
}

#[derive(Arbitrary, Debug)]
struct Row {
    r: Option<Num>,
    cells: Vec<Cell>,
}

/// How a part is packed.
#[derive(Arbitrary, Debug)]
enum Packing {
    Stored,
    Deflated,
    /// Deflated, with `n` copies of `fill` inserted at `at` (a bomb).
    Padded {
        fill: u8,
        n: u32,
        at: u16,
    },
}

#[derive(Arbitrary, Debug)]
enum Name {
    /// One of the names calamine looks for, in some spelling.
    Known(u8),
    Any(String),
}

const KNOWN: [&str; 10] = [
    "xl/sharedStrings.xml",
    "XL/SHAREDSTRINGS.XML",
    "xl\\sharedStrings.xml",
    "xl/styles.xml",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/worksheets/sheet1.xml",
    "xl/worksheets/sheet2.xml",
    "[Content_Types].xml",
    "xl/media/image1.png",
];

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Known(i) => KNOWN[usize::from(*i) % KNOWN.len()].to_owned(),
            Name::Any(s) => s.chars().take(64).collect(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Extra {
    name: Name,
    data: Vec<u8>,
    packing: Packing,
    lie: Option<u32>,
}

#[derive(Arbitrary, Debug)]
struct Book {
    max_rows: u8,
    unique_count: Option<Num>,
    count: Option<Num>,
    strings: Vec<String>,
    dimension: Option<Range>,
    rows: Vec<Row>,
    sheet_target: Option<String>,
    sheet_state: Option<String>,
    date1904: bool,
    num_formats: Vec<(Num, String)>,
    xfs: Vec<Option<Num>>,
    sheet_packing: Packing,
    sst_packing: Packing,
    sheet_lie: Option<u32>,
    sst_lie: Option<u32>,
    extra: Vec<Extra>,
    /// Replaces the worksheet XML with raw bytes.
    raw_sheet: Option<Vec<u8>>,
}

fn escape(s: &str) -> String {
    s.chars()
        .take(200)
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

impl Book {
    fn sheet_xml(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw_sheet {
            return raw.clone();
        }
        let mut x = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
        );
        if let Some(d) = &self.dimension {
            x.push_str(&format!(r#"<dimension ref="{}"/>"#, d.text()));
        }
        x.push_str("<sheetData>");
        for row in self.rows.iter().take(64) {
            match &row.r {
                Some(r) => x.push_str(&format!(r#"<row r="{}">"#, r.text())),
                None => x.push_str("<row>"),
            }
            for cell in row.cells.iter().take(32) {
                x.push_str("<c");
                if let Some(r) = &cell.r {
                    x.push_str(&format!(r#" r="{}""#, r.text()));
                }
                if let Some(s) = &cell.style {
                    x.push_str(&format!(r#" s="{}""#, s.text()));
                }
                let (t, body) = match &cell.value {
                    Value::Inline(s) => {
                        (Some("inlineStr"), format!("<is><t>{}</t></is>", escape(s)))
                    }
                    Value::Shared(n) => (Some("s"), format!("<v>{}</v>", n.text())),
                    Value::Number(s) => (None, format!("<v>{}</v>", escape(s))),
                    Value::Bool(b) => (Some("b"), format!("<v>{}</v>", u8::from(*b))),
                    Value::Error(s) => (Some("e"), format!("<v>{}</v>", escape(s))),
                    Value::Str(s) => (Some("str"), format!("<v>{}</v>", escape(s))),
                    Value::Date(s) => (Some("d"), format!("<v>{}</v>", escape(s))),
                    Value::Formula(f, r, si) => {
                        let mut attrs = String::new();
                        if let Some(r) = r {
                            attrs.push_str(&format!(r#" t="shared" ref="{}""#, r.text()));
                        }
                        if let Some(si) = si {
                            attrs.push_str(&format!(r#" si="{}""#, si.text()));
                        }
                        (None, format!("<f{attrs}>{}</f><v>1</v>", escape(f)))
                    }
                    Value::Empty => (None, String::new()),
                };
                if let Some(t) = t {
                    x.push_str(&format!(r#" t="{t}""#));
                }
                x.push('>');
                x.push_str(&body);
                x.push_str("</c>");
            }
            x.push_str("</row>");
        }
        x.push_str("</sheetData></worksheet>");
        x.into_bytes()
    }

    fn shared_strings_xml(&self) -> Option<Vec<u8>> {
        if self.strings.is_empty() && self.unique_count.is_none() {
            return None;
        }
        let mut x = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#,
        );
        if let Some(c) = &self.count {
            x.push_str(&format!(r#" count="{}""#, c.text()));
        }
        if let Some(c) = &self.unique_count {
            x.push_str(&format!(r#" uniqueCount="{}""#, c.text()));
        }
        x.push('>');
        for s in self.strings.iter().take(64) {
            x.push_str(&format!("<si><t>{}</t></si>", escape(s)));
        }
        x.push_str("</sst>");
        Some(x.into_bytes())
    }

    fn styles_xml(&self) -> Option<Vec<u8>> {
        if self.num_formats.is_empty() && self.xfs.is_empty() {
            return None;
        }
        let mut x = String::from(r#"<styleSheet><numFmts>"#);
        for (id, code) in self.num_formats.iter().take(16) {
            x.push_str(&format!(
                r#"<numFmt numFmtId="{}" formatCode="{}"/>"#,
                id.text(),
                escape(code)
            ));
        }
        x.push_str("</numFmts><cellXfs>");
        for xf in self.xfs.iter().take(16) {
            match xf {
                Some(id) => x.push_str(&format!(r#"<xf numFmtId="{}"/>"#, id.text())),
                None => x.push_str("<xf/>"),
            }
        }
        x.push_str("</cellXfs></styleSheet>");
        Some(x.into_bytes())
    }

    fn workbook_xml(&self) -> Vec<u8> {
        let state = self
            .sheet_state
            .as_deref()
            .map(|s| format!(r#" state="{}""#, escape(s)))
            .unwrap_or_default();
        let pr = if self.date1904 {
            r#"<workbookPr date1904="1"/>"#
        } else {
            ""
        };
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">{pr}<sheets><sheet name="Users" sheetId="1"{state} r:id="rId1"/></sheets></workbook>"#
        )
        .into_bytes()
    }

    fn rels_xml(&self) -> Vec<u8> {
        let target = self
            .sheet_target
            .as_deref()
            .map(escape)
            .unwrap_or_else(|| "worksheets/sheet1.xml".to_owned());
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="{target}"/></Relationships>"#
        )
        .into_bytes()
    }

    fn file(&self) -> Vec<u8> {
        let mut z = Zip::default();
        z.add(
            "xl/workbook.xml",
            &self.workbook_xml(),
            &Packing::Stored,
            None,
        );
        z.add(
            "xl/_rels/workbook.xml.rels",
            &self.rels_xml(),
            &Packing::Deflated,
            None,
        );
        z.add(
            "xl/worksheets/sheet1.xml",
            &self.sheet_xml(),
            &self.sheet_packing,
            self.sheet_lie,
        );
        if let Some(sst) = self.shared_strings_xml() {
            z.add(
                "xl/sharedStrings.xml",
                &sst,
                &self.sst_packing,
                self.sst_lie,
            );
        }
        if let Some(styles) = self.styles_xml() {
            z.add("xl/styles.xml", &styles, &Packing::Stored, None);
        }
        for e in self.extra.iter().take(8) {
            z.add(&e.name.text(), &e.data, &e.packing, e.lie);
        }
        z.finish()
    }
}

/// CRC-32 (IEEE).
fn crc32(data: &[u8], fill: u8, n: usize, at: usize) -> u32 {
    let mut c = !0u32;
    let mut feed = |b: u8| {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    };
    for &b in &data[..at] {
        feed(b);
    }
    // Long fills: the CRC is only checked at the entry's end, which the
    // reader never reaches when it refuses the entry; skip the cost.
    if n <= 1 << 16 {
        for _ in 0..n {
            feed(fill);
        }
    }
    for &b in &data[at..] {
        feed(b);
    }
    !c
}

/// DEFLATE with the fixed Huffman code: `data[..at]`, `n` times `fill`
/// (258 at a time), `data[at..]`.
fn deflate(data: &[u8], fill: u8, n: usize, at: usize) -> Vec<u8> {
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
        fn code(&mut self, code: u32, n: u32) {
            self.put(code.reverse_bits() >> (32 - n), n);
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
    bits.put(1, 1);
    bits.put(1, 2);
    for &b in &data[..at] {
        bits.literal(b);
    }
    if n > 0 {
        bits.literal(fill);
        for _ in 0..(n - 1) / 258 {
            bits.code(0xC5, 8);
            bits.code(0, 5);
        }
        for _ in 0..(n - 1) % 258 {
            bits.literal(fill);
        }
    }
    for &b in &data[at..] {
        bits.literal(b);
    }
    bits.code(0, 7);
    bits.put(0, 7);
    bits.out
}

#[derive(Default)]
struct Zip {
    out: Vec<u8>,
    central: Vec<u8>,
    count: u16,
}

impl Zip {
    fn add(&mut self, name: &str, data: &[u8], packing: &Packing, lie: Option<u32>) {
        let (method, packed, size, crc) = match packing {
            Packing::Stored => (0u16, data.to_vec(), data.len(), crc32(data, 0, 0, 0)),
            Packing::Deflated => (8, deflate(data, 0, 0, 0), data.len(), crc32(data, 0, 0, 0)),
            Packing::Padded { fill, n, at } => {
                // Up to 64 MiB: past every default limit, cheap to encode.
                let n = (*n as usize) % (64 << 20);
                let at = usize::from(*at).min(data.len());
                (
                    8,
                    deflate(data, *fill, n, at),
                    data.len() + n,
                    crc32(data, *fill, n, at),
                )
            }
        };
        let size = lie.unwrap_or(u32::try_from(size).unwrap_or(u32::MAX));
        let offset = u32::try_from(self.out.len()).unwrap_or(u32::MAX);
        let name = name.as_bytes();
        let name_len = u16::try_from(name.len()).unwrap_or(0);
        let name = &name[..usize::from(name_len)];
        let packed_len = u32::try_from(packed.len()).unwrap_or(u32::MAX);
        for (buf, sig) in [
            (&mut self.out, b"PK\x03\x04"),
            (&mut self.central, b"PK\x01\x02"),
        ] {
            buf.extend_from_slice(sig);
            if sig == b"PK\x01\x02" {
                buf.extend_from_slice(&20u16.to_le_bytes());
            }
            buf.extend_from_slice(&20u16.to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes());
            buf.extend_from_slice(&method.to_le_bytes());
            buf.extend_from_slice(&[0, 0, 0x21, 0]);
            buf.extend_from_slice(&crc.to_le_bytes());
            buf.extend_from_slice(&packed_len.to_le_bytes());
            buf.extend_from_slice(&size.to_le_bytes());
            buf.extend_from_slice(&name_len.to_le_bytes());
            if sig == b"PK\x01\x02" {
                buf.extend_from_slice(&[0; 12]);
                buf.extend_from_slice(&offset.to_le_bytes());
            } else {
                buf.extend_from_slice(&0u16.to_le_bytes());
            }
            buf.extend_from_slice(name);
        }
        self.out.extend_from_slice(&packed);
        self.count = self.count.saturating_add(1);
    }

    fn finish(mut self) -> Vec<u8> {
        let cd_offset = u32::try_from(self.out.len()).unwrap_or(u32::MAX);
        let cd_len = u32::try_from(self.central.len()).unwrap_or(u32::MAX);
        self.out.extend_from_slice(&self.central);
        self.out.extend_from_slice(b"PK\x05\x06");
        self.out.extend_from_slice(&[0; 4]);
        self.out.extend_from_slice(&self.count.to_le_bytes());
        self.out.extend_from_slice(&self.count.to_le_bytes());
        self.out.extend_from_slice(&cd_len.to_le_bytes());
        self.out.extend_from_slice(&cd_offset.to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes());
        self.out
    }
}

fn check(bytes: &[u8], max_rows: u32) {
    let mut limits = ImportLimits::default();
    limits.max_rows = max_rows;
    if let Ok(sheet) = parse_import(bytes, ImportFormat::Xlsx, &limits) {
        assert!(sheet.rows.len() + sheet.errors.len() <= max_rows as usize);
    }
}

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"PK") {
        check(data, 500);
        return;
    }
    let u = arbitrary::Unstructured::new(data);
    if let Ok(book) = Book::arbitrary_take_rest(u) {
        check(&book.file(), u32::from(book.max_rows % 32));
    }
});
