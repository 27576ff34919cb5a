//! Paste-box parser benchmarks, in addresses (entries) per second:
//! - `paste/parse_recipients/100`: a 100-entry mixed-format paste (what a
//!   person pastes; parsed on every keystroke);
//! - `paste/parse_recipients/100000`: a 100,000-entry paste;
//! - `paste/parse_into_owned/100000`: the same paste parsed and detached
//!   from its text with `ParsedRecipients::into_owned` (one `String` per
//!   fragment, address, key, ASCII domain and name): what keeping the
//!   result beyond the text costs (the Python binding does this);
//! - `bare/email_address_is_valid/100000`: the baseline, bare
//!   `email_address::EmailAddress::is_valid` over the same entries' bare
//!   addresses (no display names, no splitting, no normalization, no dedup);
//! - `bare/parse_address/100000`: enlist's `parse_address` over those same
//!   bare addresses.
//!
//! The input mimics `/work/shared/bench/gen_paste.py` with a deterministic
//! generator: three formats (`addr`, `First Last <addr>`,
//! `"Last, First" <addr>`), newline (80 %) or `", "` separated, about 2 %
//! broken entries, and IDN domains (`université.fr`) among six domains.
//! Run: `cargo bench -p enlist --bench parse`; `-- --report` for the
//! figures against the floor (BENCH-RESULT lines), `-- --profile` to run
//! one workload alone under a profiler (see [`profile`]).

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use enlist::email::{parse_address, parse_recipients};

const FIRST: [&str; 16] = [
    "ada", "bob", "carol", "dan", "eve", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "oscar", "peggy", "trent", "victor", "walter",
];
const LAST: [&str; 10] = [
    "lovelace", "smith", "jones", "garcia", "müller", "o'neil", "nguyen", "kowalski", "tanaka",
    "dubois",
];
const DOMAINS: [&str; 6] = [
    "example.com",
    "acme.co.uk",
    "mail.example.org",
    "big-corp.io",
    "université.fr",
    "sub.dept.example.net",
];

/// SplitMix64: a small deterministic generator (seed 7, like gen_paste.py).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn random(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn choice<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Python's `str.title()` for these words: a letter after a non-letter is
/// uppercased.
fn title(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut after_letter = false;
    for c in word.chars() {
        if after_letter {
            out.push(c);
        } else {
            out.extend(c.to_uppercase());
        }
        after_letter = c.is_alphabetic();
    }
    out
}

/// A paste of `n` entries and, for each entry, its bare address (the
/// broken text for broken entries).
fn generate(n: usize) -> (String, Vec<String>) {
    let mut rng = Rng(7);
    let mut paste = String::with_capacity(n * 40);
    let mut bare = Vec::with_capacity(n);
    for i in 0..n {
        let (f, l, d) = (rng.choice(&FIRST), rng.choice(&LAST), rng.choice(&DOMAINS));
        let l_plain = l.replace('\'', "");
        let local = if rng.random() < 0.7 {
            format!("{f}.{l_plain}{i}")
        } else {
            format!("{}{l_plain}+{i}", &f[..1])
        };
        let addr = format!("{local}@{d}");
        let r = rng.random();
        let entry = if r < 0.02 {
            let broken = match rng.next() % 5 {
                0 => format!("{local}@"),
                1 => format!("{local}@@{d}"),
                2 => format!("{local} at {d}"),
                3 => format!("<{addr}"),
                _ => format!("{local}@{d}."),
            };
            bare.push(broken.clone());
            broken
        } else {
            bare.push(addr.clone());
            if r < 0.45 {
                addr
            } else if r < 0.75 {
                format!("{} {} <{addr}>", title(f), title(l))
            } else {
                format!("\"{}, {}\" <{addr}>", title(l), title(f))
            }
        };
        paste.push_str(&entry);
        paste.push_str(if rng.random() < 0.8 { "\n" } else { ", " });
    }
    (paste, bare)
}

fn bench_paste(c: &mut Criterion) {
    let (small, _) = generate(100);
    let (large, bare) = generate(100_000);
    // Sanity: every entry is seen, about 98 % recognized.
    let parsed = parse_recipients(&large);
    assert_eq!(parsed.entries.len(), 100_000);
    assert!(parsed.recognized() > 97_000, "{}", parsed.recognized());

    let mut g = c.benchmark_group("paste");
    g.throughput(Throughput::Elements(100));
    g.bench_function("parse_recipients/100", |b| {
        b.iter(|| parse_recipients(black_box(&small)))
    });
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("parse_recipients/100000", |b| {
        b.iter(|| parse_recipients(black_box(&large)))
    });
    g.bench_function("parse_into_owned/100000", |b| {
        b.iter(|| parse_recipients(black_box(&large)).into_owned())
    });
    g.finish();

    let mut g = c.benchmark_group("bare");
    g.throughput(Throughput::Elements(bare.len() as u64));
    g.bench_function("email_address_is_valid/100000", |b| {
        b.iter(|| {
            bare.iter()
                .filter(|a| email_address::EmailAddress::is_valid(black_box(a)))
                .count()
        })
    });
    g.bench_function("parse_address/100000", |b| {
        b.iter(|| {
            bare.iter()
                .filter(|a| parse_address(black_box(a)).is_ok())
                .count()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_paste
}

#[path = "../../benches/report.rs"]
mod report;

/// The floor of `../shared/bench/parse_floor`: split on newlines and commas
/// outside quotes, take the `<...>` part, `EmailAddress::is_valid`; no
/// normalization, dedup or error detail. (valid, invalid) entries. Never
/// inlined, so that a profiler can single it out (`--profile`).
#[inline(never)]
fn floor(text: &str) -> (usize, usize) {
    let bytes = text.as_bytes();
    let (mut start, mut quoted) = (0, false);
    let (mut ok, mut bad) = (0, 0);
    let mut check = |e: &str| {
        let e = e.trim();
        if e.is_empty() {
            return;
        }
        let a = match (e.rfind('<'), e.rfind('>')) {
            (Some(a), Some(b)) if a < b => &e[a + 1..b],
            _ => e,
        };
        if email_address::EmailAddress::is_valid(a) {
            ok += 1
        } else {
            bad += 1
        }
    };
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b',' if !quoted => {
                check(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    check(&text[start..]);
    (ok, bad)
}

/// `--report`: enlist's parser against the floor, alternating in one
/// process on the same paste (100 and 100,000 entries), medians compared;
/// printed as BENCH-RESULT lines (aim: within 1.1x of the floor's time).
fn report() {
    let quick = std::env::var_os("ENLIST_BENCH_QUICK").is_some();
    for (n, rounds) in [
        (100, if quick { 201 } else { 2001 }),
        (100_000, if quick { 5 } else { 21 }),
    ] {
        let (text, _) = generate(n);
        let (mut f, mut e) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = std::time::Instant::now();
            black_box(floor(black_box(&text)));
            f.push(t.elapsed().as_secs_f64());
            let t = std::time::Instant::now();
            let p = parse_recipients(black_box(&text));
            black_box(&p);
            drop(p);
            e.push(t.elapsed().as_secs_f64());
        }
        let (fm, em) = (report::median(&mut f), report::median(&mut e));
        report::Figure::new(
            &format!("parse.paste_{n}"),
            &format!("time to parse a {n}-entry paste (median)"),
            em * 1e6,
            "µs",
        )
        .against("the split-and-validate floor, µs", fm * 1e6)
        .aim(report::Aim::AtMost(1.1))
        .print();
    }
}

/// `--profile [enlist|floor|both] [N] [ROUNDS]`: parses an N-entry paste
/// (default 100,000) ROUNDS times (default 1) with enlist's parser, the
/// floor or both, and nothing else, for a profiler:
///
/// ```text
/// valgrind --tool=callgrind --toggle-collect=enlist::email::parse_recipients \
///     --toggle-collect=parse::floor target/release/deps/parse-HASH --profile both
/// ```
///
/// Name the functions exactly: a pattern such as `*parse_recipients*` also
/// matches the closure the parser calls per entry, and entering it toggles
/// the collection off again. The result is dropped outside
/// `parse_recipients` (not counted with that toggle; the `--report`
/// figures count it).
fn profile(args: &[String]) {
    let which = args.first().map_or("both", String::as_str);
    let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let rounds = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1);
    let (text, _) = generate(n);
    for _ in 0..rounds {
        if which != "enlist" {
            black_box(floor(black_box(&text)));
        }
        if which != "floor" {
            black_box(parse_recipients(black_box(&text)));
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--report") {
        report();
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--profile") {
        profile(&args[at + 1..]);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
