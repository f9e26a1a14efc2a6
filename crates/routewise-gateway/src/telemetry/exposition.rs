//! The Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` once per
//! family, then one `name{label="value",...} number` line per sample, label values escaped.

use std::fmt::Write;

use super::histogram::Snapshot;

/// The `content-type` of the exposition.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Appends the text of one metric family to a `String`.
pub(crate) struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl<'a> Family<'a> {
    /// Starts a family: `kind` is `counter`, `gauge` or `histogram`.
    pub(crate) fn new(out: &'a mut String, name: &'static str, kind: &str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Self { out, name }
    }

    /// One counter or gauge sample.
    pub(crate) fn sample(&mut self, labels: &[(&str, &str)], value: u64) {
        self.line("", labels, None, &value.to_string());
    }

    /// A histogram's `_bucket` series (cumulative, `+Inf` last), `_sum` and `_count`.
    pub(crate) fn histogram(&mut self, labels: &[(&str, &str)], snap: &Snapshot) {
        for (le, count) in &snap.buckets {
            let le = if le.is_infinite() {
                "+Inf".to_owned()
            } else {
                le.to_string()
            };
            self.line("_bucket", labels, Some(&le), &count.to_string());
        }
        self.line("_sum", labels, None, &snap.sum_seconds.to_string());
        self.line("_count", labels, None, &snap.count.to_string());
    }

    fn line(&mut self, suffix: &str, labels: &[(&str, &str)], le: Option<&str>, value: &str) {
        let out = &mut *self.out;
        out.push_str(self.name);
        out.push_str(suffix);
        let extra = le.map(|le| ("le", le));
        let mut all = labels.iter().copied().chain(extra).peekable();
        if all.peek().is_some() {
            out.push('{');
            for (i, (k, v)) in all.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(k);
                out.push_str("=\"");
                escape_value(out, v);
                out.push('"');
            }
            out.push('}');
        }
        out.push(' ');
        out.push_str(value);
        out.push('\n');
    }
}

/// Label values escape `\`, `"` and line feeds.
fn escape_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Help text escapes `\` and line feeds.
fn escape_help(h: &str) -> String {
    h.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_escaped_labels() {
        let mut out = String::new();
        let mut f = Family::new(&mut out, "x_total", "counter", "Things.\nCounted \\ here.");
        f.sample(&[("deployment", "a\"b\\c\nd"), ("kind", "input")], 7);
        f.sample(&[], 0);
        assert_eq!(
            out,
            "# HELP x_total Things.\\nCounted \\\\ here.\n# TYPE x_total counter\n\
             x_total{deployment=\"a\\\"b\\\\c\\nd\",kind=\"input\"} 7\nx_total 0\n"
        );
    }

    #[test]
    fn histograms_have_buckets_sum_and_count() {
        let snap = Snapshot {
            buckets: vec![(0.005, 1), (1.0, 2), (f64::INFINITY, 3)],
            sum_seconds: 4.5,
            count: 3,
        };
        let mut out = String::new();
        Family::new(&mut out, "d_seconds", "histogram", "Durations.")
            .histogram(&[("deployment", "m")], &snap);
        let lines: Vec<&str> = out.lines().skip(2).collect();
        assert_eq!(
            lines,
            [
                "d_seconds_bucket{deployment=\"m\",le=\"0.005\"} 1",
                "d_seconds_bucket{deployment=\"m\",le=\"1\"} 2",
                "d_seconds_bucket{deployment=\"m\",le=\"+Inf\"} 3",
                "d_seconds_sum{deployment=\"m\"} 4.5",
                "d_seconds_count{deployment=\"m\"} 3",
            ]
        );
    }
}
