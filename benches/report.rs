//! How every benchmark of the workspace reports a figure: one line
//! `BENCH-RESULT {json}` on standard output, with the figure, its unit, the
//! ceiling (or yardstick) it is held against, measured in the same run, the
//! ratio of the two, and the aim the ratio (or, with no ceiling, the value)
//! must meet. `scripts/bench.sh` collects these lines into the table of
//! `docs/src/performance.md` and exits non-zero when a figure misses its
//! aim. Included by path (`#[path = "../../benches/report.rs"] mod report;`)
//! from each crate's benches, so it needs no crate of its own.
#![allow(dead_code)]

/// What a figure must meet.
#[derive(Clone, Copy, Debug)]
pub enum Aim {
    /// The ratio (or the value, with no ceiling) is at least this.
    AtLeast(f64),
    /// The ratio (or the value, with no ceiling) is at most this.
    AtMost(f64),
    /// Shown, not judged.
    None,
}

/// One figure of one run.
#[derive(Clone, Debug)]
pub struct Figure {
    /// Dotted name: `store.what`, e.g. `sqlite.issue`.
    pub name: String,
    /// What was measured, in words, for the table.
    pub what: String,
    /// The figure.
    pub value: f64,
    /// Its unit: `inv/s`, `µs`, `rows/s`, `x`.
    pub unit: String,
    /// The ceiling or yardstick, its value in its own unit, measured in
    /// the same run.
    pub ceiling: Option<(String, f64)>,
    /// value / ceiling, when there is one.
    pub ratio: Option<f64>,
    /// What the ratio (or the value) must meet.
    pub aim: Aim,
}

impl Figure {
    /// A figure with no ceiling.
    pub fn new(name: &str, what: &str, value: f64, unit: &str) -> Self {
        Figure {
            name: name.to_owned(),
            what: what.to_owned(),
            value,
            unit: unit.to_owned(),
            ceiling: None,
            ratio: None,
            aim: Aim::None,
        }
    }

    /// Held against `ceiling` (named `ceiling_name`): the ratio is
    /// value / ceiling.
    pub fn against(mut self, ceiling_name: &str, ceiling: f64) -> Self {
        self.ratio = Some(if ceiling == 0.0 {
            f64::NAN
        } else {
            self.value / ceiling
        });
        self.ceiling = Some((ceiling_name.to_owned(), ceiling));
        self
    }

    /// The aim this figure must meet.
    pub fn aim(mut self, aim: Aim) -> Self {
        self.aim = aim;
        self
    }

    /// Whether the figure meets its aim.
    pub fn met(&self) -> bool {
        let judged = self.ratio.unwrap_or(self.value);
        match self.aim {
            Aim::AtLeast(x) => judged >= x,
            Aim::AtMost(x) => judged <= x,
            Aim::None => true,
        }
    }

    /// Prints the figure as one `BENCH-RESULT` line and returns it.
    pub fn print(self) -> Self {
        println!("BENCH-RESULT {}", self.json());
        self
    }

    /// The figure as one line of JSON.
    pub fn json(&self) -> String {
        fn s(x: &str) -> String {
            let mut o = String::with_capacity(x.len() + 2);
            o.push('"');
            for c in x.chars() {
                match c {
                    '"' => o.push_str("\\\""),
                    '\\' => o.push_str("\\\\"),
                    c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
                    c => o.push(c),
                }
            }
            o.push('"');
            o
        }
        fn n(x: f64) -> String {
            if x.is_finite() {
                format!("{x:.6}")
            } else {
                "null".to_owned()
            }
        }
        let (ceiling_name, ceiling) = match &self.ceiling {
            Some((name, v)) => (s(name), n(*v)),
            None => ("null".to_owned(), "null".to_owned()),
        };
        let (op, aim) = match self.aim {
            Aim::AtLeast(x) => (s(">="), n(x)),
            Aim::AtMost(x) => (s("<="), n(x)),
            Aim::None => ("null".to_owned(), "null".to_owned()),
        };
        format!(
            "{{\"name\": {}, \"what\": {}, \"value\": {}, \"unit\": {}, \"ceiling_name\": {}, \"ceiling\": {}, \"ratio\": {}, \"aim_op\": {}, \"aim\": {}, \"met\": {}}}",
            s(&self.name),
            s(&self.what),
            n(self.value),
            s(&self.unit),
            ceiling_name,
            ceiling,
            self.ratio.map(n).unwrap_or_else(|| "null".to_owned()),
            op,
            aim,
            self.met()
        )
    }
}

/// The median of some samples (sorted in place); NaN for none.
pub fn median(xs: &mut [f64]) -> f64 {
    percentile(xs, 0.5)
}

/// The p-th percentile (0..=1) of some samples (sorted in place).
pub fn percentile(xs: &mut [f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let i = ((xs.len() - 1) as f64 * p).round() as usize;
    xs[i.min(xs.len() - 1)]
}
