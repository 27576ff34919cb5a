//! Writes the seed corpora of the import fuzz targets: real files, as
//! Excel-like writers make them, and the hostile files of issue 10 built
//! from them.
//!
//! ```text
//! cargo run -p enlist --example import_seeds -- fuzz/corpus
//! ```
//!
//! `fuzz/corpus/import` gets CSV and XLSX files (the raw target reads
//! both); `fuzz/corpus/import_xlsx` gets the XLSX files (that target takes
//! an input starting with `PK` as a whole file).

use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
use std::io::{Read, Write};
use std::path::Path;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A workbook with the import template's columns, numbers, dates, an
/// error cell, a second sheet and shared strings.
fn people(rows: u32) -> Res<Vec<u8>> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in [
        "Email",
        "Identifier",
        "First name",
        "Last name",
        "Role",
        "Kind",
        "Groups",
        "License",
        "Birthday",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(0, u16::try_from(c)?, *h)?;
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let when = ExcelDateTime::from_ymd(1990, 5, 17)?;
    for r in 1..=rows {
        if r % 3 == 0 {
            ws.write_number(r, 1, 33_612_345_678.0 + f64::from(r))?;
        } else {
            ws.write_string(r, 0, format!("user{r}@acme.test"))?;
        }
        ws.write_string(r, 2, "Ada")?;
        ws.write_string(r, 3, format!("Lovelace {r}"))?;
        ws.write_string(r, 4, "member")?;
        ws.write_string(r, 5, if r % 4 == 0 { "guest" } else { "member" })?;
        ws.write_string(r, 6, "Sales:owner; Support")?;
        ws.write_string(r, 7, "standard")?;
        ws.write_datetime_with_format(r, 8, &when, &date)?;
    }
    ws.write_formula(rows + 1, 1, Formula::new("=1/0").set_result("#DIV/0!"))?;
    let other = wb.add_worksheet();
    other.write_string(0, 0, "Email")?;
    other.write_string(1, 0, "not@read.test")?;
    Ok(wb.save_to_buffer()?)
}

/// `book` with some parts replaced (or added), deflated again.
fn with_parts(book: &[u8], parts: &[(&str, &[u8])]) -> Res<Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(book))?;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let name = entry.name().to_owned();
        if parts.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        out.start_file(name, options)?;
        out.write_all(&data)?;
    }
    for (name, data) in parts {
        out.start_file(*name, options)?;
        out.write_all(data)?;
    }
    Ok(out.finish()?.into_inner())
}

fn main() -> Res<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus".to_owned());
    let dir = Path::new(&dir);
    let raw = dir.join("import");
    let xlsx = dir.join("import_xlsx");
    std::fs::create_dir_all(&raw)?;
    std::fs::create_dir_all(&xlsx)?;

    let small = people(3)?;
    let larger = people(60)?;
    let bomb = with_parts(
        &small,
        &[(
            "xl/sharedStrings.xml",
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4000000000000" uniqueCount="4000000000000"><si><t>Email</t></si></sst>"#,
        )],
    )?;
    let far = with_parts(
        &small,
        &[(
            "xl/worksheets/sheet1.xml",
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>a@b.test</t></is></c></row></sheetData></worksheet>"#,
        )],
    )?;
    let zeros = vec![0u8; 2 << 20];
    let inflating = with_parts(&small, &[("xl/media/zeros.bin", &zeros)])?;

    let mut written = 0;
    for (name, bytes) in [
        ("people-3.xlsx", &small),
        ("people-60.xlsx", &larger),
        ("shared-strings-bomb.xlsx", &bomb),
        ("grid-corner.xlsx", &far),
        ("zeros-2mib.xlsx", &inflating),
    ] {
        std::fs::write(raw.join(name), bytes)?;
        std::fs::write(xlsx.join(name), bytes)?;
        written += 2;
    }
    let mut csv_rows = String::from("\u{feff}E-mail;Prénom;Surname;Groups;Kind\r\n");
    for i in 0..200 {
        csv_rows.push_str(&format!(
            "user{i}@acme.test;Ada;\"Love;lace\";\"Sales:owner, Support\";member\r\n"
        ));
    }
    for (name, text) in [
        ("template.csv", enlist::import_template_csv()),
        ("semicolons-bom.csv", csv_rows),
        (
            "quoted-lines.csv",
            "Email,Kind,Display name\na@x.test,boss,A\nb@x.test,guest,\"two\nlines\"\n\n,,\nc@x.test,,\"say \"\"hi\"\"\"\n"
                .to_owned(),
        ),
        (
            "tabs-identifiers.tsv",
            "Identifier\tFirst name\tLast name\n+33 6 12 34 56 78\tBob\tMartin\n0042\tAl\tSmith\n".to_owned(),
        ),
    ] {
        std::fs::write(raw.join(name), text.as_bytes())?;
        written += 1;
    }
    println!("{written} seeds in {}", dir.display());
    Ok(())
}
