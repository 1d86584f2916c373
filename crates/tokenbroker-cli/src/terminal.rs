//! Text from the registry on the terminal: control characters (newlines, escape sequences that
//! would recolour, retitle or rewrite the terminal) are shown escaped, never sent raw. New
//! entries cannot contain them; entries made before that rule, or by hand, still can.

use std::borrow::Cow;

/// `text` with every control character escaped as Rust escapes it (`\n`, `\u{1b}`).
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// Unix seconds as people read them on a terminal: UTC, RFC 3339 (`--json` keeps the seconds).
pub(crate) fn when(unix_seconds: i64) -> String {
    let at =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix_seconds.max(0).unsigned_abs());
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_rfc_3339() {
        assert_eq!(when(0), "1970-01-01T00:00:00Z");
        assert_eq!(when(1_796_256_000), "2026-12-03T00:00:00Z");
        assert_eq!(when(-5), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(printable("route-planner é"), "route-planner é");
        assert_eq!(
            printable("a\nforged line\u{1b}]0;title\u{7}"),
            "a\\nforged line\\u{1b}]0;title\\u{7}"
        );
    }
}
