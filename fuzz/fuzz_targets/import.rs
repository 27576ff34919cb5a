//! `parse_import` reads untrusted uploads: on any bytes, in either format,
//! it returns a sheet or an error and never panics, within the default
//! limits of time and memory. A sheet it returns holds no more rows than
//! the limit; CSV rows come after the header line.
//!
//! Run it with large inputs (`-max_len=4194304`): CSV costs grow with the
//! input (quotes, record and field sizes, line counting), and the
//! corpus's real files (`fuzz/corpus/import`) are a few kilobytes each.
//! Random bytes rarely make a zip: the `import_xlsx` target builds
//! workbooks from fuzzed parts.

#![no_main]

use enlist::{ImportFormat, ImportLimits, parse_import};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the row limit, so that the limit path is
    // reached by small inputs too.
    let (max_rows, bytes) = match data.split_first() {
        Some((first, rest)) => (u32::from(*first % 16), rest),
        None => (500, data),
    };
    let mut limits = ImportLimits::default();
    limits.max_rows = max_rows;
    for format in [ImportFormat::Csv, ImportFormat::Xlsx] {
        if let Ok(sheet) = parse_import(bytes, format, &limits) {
            assert!(sheet.rows.len() + sheet.errors.len() <= max_rows as usize);
            if format == ImportFormat::Csv {
                assert!(sheet.rows.iter().all(|r| r.line >= 2));
                assert!(sheet.errors.iter().all(|e| e.line >= 2));
            }
        }
    }
});
