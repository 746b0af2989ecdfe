//! `@username` mentions in a text (a comment, a resource's description):
//! who a text names, so that they are told (the inbox). Which names belong
//! to members is for the reader of the views to say; this only reads the
//! text.

/// At most this many members are told of one text: a text naming more
/// is a mass message, and the rest of the names notify no one.
pub const MAX_MENTIONS: usize = 20;

/// The usernames `text` mentions, lowercased as usernames are stored
/// ([`crate::user::Username`]), each once, in the order first mentioned, at
/// most [`MAX_MENTIONS`]. A mention is `@` and 3 to 32 letters, digits or
/// underscores, with no letter, digit or underscore right before the `@`
/// (`ada@example.org` mentions no one) nor right after the name (`@` and 33
/// characters is no username).
pub fn mentions(text: &str) -> Vec<String> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut found: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let starts = c == '@' && !previous.is_some_and(|p| p.is_alphanumeric() || p == '_');
        previous = Some(c);
        if !starts {
            continue;
        }
        let rest = &text[at + 1..];
        let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
        let name = &rest[..end];
        // A name of other letters (`@Zoë`) is no username either.
        let ends_cleanly = rest[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        if (3..=32).contains(&name.len()) && ends_cleanly {
            let name = name.to_ascii_lowercase();
            if !found.contains(&name) {
                found.push(name);
                if found.len() == MAX_MENTIONS {
                    break;
                }
            }
        }
        while chars.peek().is_some_and(|(i, _)| *i < at + 1 + end) {
            previous = chars.next().map(|(_, c)| c);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_names_after_an_at_sign() {
        assert_eq!(
            mentions("Thanks @Ada_Lovelace, and @bob: see @ada_lovelace."),
            ["ada_lovelace", "bob"]
        );
        assert_eq!(mentions("@carol at the start"), ["carol"]);
        assert_eq!(mentions("(@dave)\n@erin!"), ["dave", "erin"]);
    }

    #[test]
    fn addresses_short_long_and_foreign_names_mention_no_one() {
        assert!(mentions("write to ada@example.org").is_empty());
        assert!(mentions("@al is too short, @ alone is nothing, @@ too").is_empty());
        assert!(mentions(&format!("@{}", "a".repeat(33))).is_empty());
        assert!(mentions("@zoë is not a username").is_empty());
        assert!(mentions("").is_empty());
    }

    #[test]
    fn one_text_tells_at_most_twenty() {
        let text: Vec<String> = (0..30).map(|i| format!("@user{i:02}")).collect();
        let found = mentions(&text.join(" "));
        assert_eq!(found.len(), MAX_MENTIONS);
        assert_eq!(found[0], "user00");
    }
}
