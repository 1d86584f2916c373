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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(printable("route-planner é"), "route-planner é");
        assert_eq!(
            printable("a\nforged line\u{1b}]0;title\u{7}"),
            "a\\nforged line\\u{1b}]0;title\\u{7}"
        );
    }
}
