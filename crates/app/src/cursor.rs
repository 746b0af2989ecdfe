//! Opaque keyset cursors. Clients pass them back unchanged; their content is
//! ours to change, so it is versioned and encoded, not documented. Each
//! kind of list has its own kind of cursor, and a cursor of one kind is
//! refused by a list of another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use resourcify_readmodel::ResourceRow;

/// The alphabet of every cursor (URL-safe base64 without padding), as a
/// regular expression for the OpenAPI document: a client can tell a cursor
/// from other text, though only the server can tell which are its own.
pub const CURSOR_PATTERN: &str = r"^[A-Za-z0-9_-]+$";

/// "Continue strictly after this key" in one kind of list.
#[derive(Debug, Clone, PartialEq)]
pub enum Cursor {
    /// Newest first: before this position.
    Before(i64),
    /// Oldest first: after this position.
    After(i64),
    /// Most upvoted first.
    Top { votes: i32, listed_at: i64 },
    /// By a score, highest first (hot lists, search rank).
    Scored { score: f64, listed_at: i64 },
    /// Tags by count.
    Tag { count: i32, tag: String },
    /// Comments in thread order: after this path.
    Path(String),
}

impl Cursor {
    /// After `row` in a newest-first list of resources.
    pub(crate) fn newest(row: &ResourceRow) -> Self {
        Self::Before(row.listed_at)
    }

    /// After `row` in a most-upvoted list.
    pub(crate) fn top(row: &ResourceRow) -> Self {
        Self::Top {
            votes: row.votes,
            listed_at: row.listed_at,
        }
    }

    /// After `row` in a list by score (hot, or search rank).
    pub(crate) fn scored(row: &ResourceRow) -> Self {
        Self::Scored {
            score: row.score,
            listed_at: row.listed_at,
        }
    }

    pub fn encode(&self) -> String {
        let text = match self {
            Self::Before(position) => format!("v2:n:{position}"),
            Self::After(position) => format!("v2:o:{position}"),
            Self::Top { votes, listed_at } => format!("v2:t:{votes}:{listed_at}"),
            // `{}` on f64 prints the shortest text that parses back exactly.
            Self::Scored { score, listed_at } => format!("v2:s:{score}:{listed_at}"),
            Self::Tag { count, tag } => format!("v2:g:{count}:{tag}"),
            Self::Path(path) => format!("v2:p:{path}"),
        };
        URL_SAFE_NO_PAD.encode(text)
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        // No key holds a control character; a forged NUL would reach
        // Postgres, which refuses it as text.
        if !text
            .chars()
            .all(|c| resourcify_domain::is_text_char(c, false))
        {
            return None;
        }
        let (kind, rest) = text.strip_prefix("v2:")?.split_once(':')?;
        Some(match kind {
            "n" => Self::Before(rest.parse().ok()?),
            "o" => Self::After(rest.parse().ok()?),
            "t" => {
                let (votes, listed_at) = rest.split_once(':')?;
                Self::Top {
                    votes: votes.parse().ok()?,
                    listed_at: listed_at.parse().ok()?,
                }
            }
            "s" => {
                let (score, listed_at) = rest.split_once(':')?;
                let score: f64 = score.parse().ok()?;
                Self::Scored {
                    score: score.is_finite().then_some(score)?,
                    listed_at: listed_at.parse().ok()?,
                }
            }
            "g" => {
                let (count, tag) = rest.split_once(':')?;
                Self::Tag {
                    count: count.parse().ok()?,
                    tag: tag.to_owned(),
                }
            }
            "p" => Self::Path(rest.to_owned()),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        for cursor in [
            Cursor::Before(42),
            Cursor::After(42),
            Cursor::Top {
                votes: 7,
                listed_at: 9,
            },
            Cursor::Scored {
                score: 40_123.456_789_012_3,
                listed_at: 3,
            },
            Cursor::Tag {
                count: 5,
                tag: "c++".into(),
            },
            Cursor::Path("00000000000000000012.00000000000000000040".into()),
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
        assert_eq!(Cursor::decode("not-a-cursor"), None);
        assert_eq!(Cursor::decode(""), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("v2:s:NaN:1")), None);
        // Forged keys with control characters, which Postgres would refuse.
        for forged in ["v2:p:\0", "v2:p:top/\0", "v2:g:5:\0", "v2:g:5:a\u{1}"] {
            assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(forged)), None);
        }
    }
}
