//! Text made safe for the page, and numbers written for people.

use std::fmt::Write;

/// `text` with `& < > " '` written as entities, safe inside an element and a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A file name as a relative URL: every byte but letters, digits and `-._~` percent-encoded,
/// so that a space, `#`, `?` or `&` in a name still points at the file.
pub fn url(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Four decimals (`NaN` as it is).
pub fn fixed4(x: f64) -> String {
    format!("{x:.4}")
}

/// A percentage with two decimals, or a dash when there is no value.
pub fn percent(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{:.2}%", 100.0 * x),
        _ => "—".into(),
    }
}

/// A count: an integer when the value is one.
pub fn count(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// A number in few characters: integers whole, ordinary sizes to at most four decimals, very
/// small or large ones in scientific notation (a learning rate of `1e-5` stays readable).
pub fn short(x: f64) -> String {
    if !x.is_finite() || (x.fract() == 0.0 && x.abs() < 1e15) {
        return count(x);
    }
    let a = x.abs();
    if (1e-3..1e6).contains(&a) {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{x:.3e}")
    }
}

/// A JSON value in one short line: text without quotes, numbers by [`short`], lists and maps
/// inline, the first dozen items of a long list and how many there are.
pub fn compact(value: &serde_json::Value) -> String {
    use serde_json::Value;
    const MAX_ITEMS: usize = 12;
    match value {
        Value::Null => "none".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.as_f64().map(short).unwrap_or_else(|| n.to_string()),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let mut parts: Vec<String> = items.iter().take(MAX_ITEMS).map(compact).collect();
            if items.len() > MAX_ITEMS {
                parts.push(format!("… ({} in all)", items.len()));
            }
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}: {}", compact(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_encodes_names() {
        assert_eq!(
            escape(r#"<a & 'b' "c">"#),
            "&lt;a &amp; &#39;b&#39; &quot;c&quot;&gt;"
        );
        assert_eq!(url("loss.png"), "loss.png");
        assert_eq!(url("a b&c#.png"), "a%20b%26c%23.png");
        assert_eq!(url("é.png"), "%C3%A9.png");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short(64.0), "64");
        assert_eq!(short(0.002), "0.002");
        assert_eq!(short(123.456789), "123.4568");
        assert_eq!(short(1e-5), "1.000e-5");
        assert_eq!(fixed4(0.5), "0.5000");
        assert_eq!(percent(Some(0.25)), "25.00%");
        assert_eq!(percent(Some(f64::NAN)), "—");
        assert_eq!(count(3.0), "3");
        let v = serde_json::json!({"a": [1, 2.5], "b": null, "c": "x"});
        assert_eq!(compact(&v), "{a: [1, 2.5], b: none, c: x}");
        let long = serde_json::json!((0..20).collect::<Vec<_>>());
        assert!(compact(&long).ends_with("… (20 in all)]"));
    }
}
