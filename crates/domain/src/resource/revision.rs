//! What an edit changed: two revisions of a resource compared field by
//! field, for the resource's history. `resource.edited` carries the whole
//! editable state after the edit (title, description, tags, kind; the URL
//! never changes), so an edit's changes are its state against the one
//! before it.

/// A resource's editable fields as one revision (its submission or an
/// edit) left them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revision<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub tags: &'a [String],
    pub kind: &'a str,
}

/// One field's value on one side of an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    Tags(Vec<String>),
}

/// One field an edit changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// `title`, `description`, `tags` or `kind`.
    pub field: &'static str,
    /// `None` when the revision before is unknown.
    pub before: Option<FieldValue>,
    pub after: FieldValue,
}

/// The fields that differ between `before` and `after`, in the order
/// title, description, tags, kind. Tags compare as lists: a new order is
/// a change. With no revision before, every field is reported.
pub fn changes(before: Option<&Revision<'_>>, after: &Revision<'_>) -> Vec<FieldChange> {
    let text = |s: &str| FieldValue::Text(s.to_owned());
    let fields = |r: &Revision<'_>| {
        [
            ("title", text(r.title)),
            ("description", text(r.description)),
            ("tags", FieldValue::Tags(r.tags.to_vec())),
            ("kind", text(r.kind)),
        ]
    };
    let befores = before.map(fields);
    fields(after)
        .into_iter()
        .enumerate()
        .filter_map(|(i, (field, after))| {
            let before = befores.as_ref().map(|b| b[i].1.clone());
            (before.as_ref() != Some(&after)).then_some(FieldChange {
                field,
                before,
                after,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{FieldChange, FieldValue, Revision, changes};

    fn revision<'a>(title: &'a str, tags: &'a [String]) -> Revision<'a> {
        Revision {
            title,
            description: "About it.",
            tags,
            kind: "article",
        }
    }

    #[test]
    fn only_the_fields_that_differ_are_changes_with_both_values() {
        let (old, new) = (
            vec!["rust".to_owned()],
            vec!["rust".to_owned(), "go".into()],
        );
        let found = changes(Some(&revision("Old", &old)), &revision("New", &new));
        assert_eq!(
            found,
            vec![
                FieldChange {
                    field: "title",
                    before: Some(FieldValue::Text("Old".into())),
                    after: FieldValue::Text("New".into()),
                },
                FieldChange {
                    field: "tags",
                    before: Some(FieldValue::Tags(old.clone())),
                    after: FieldValue::Tags(new.clone()),
                },
            ]
        );
    }

    #[test]
    fn an_edit_to_the_same_state_changes_nothing() {
        let tags = vec!["rust".to_owned()];
        assert!(changes(Some(&revision("Same", &tags)), &revision("Same", &tags)).is_empty());
    }

    #[test]
    fn reordered_tags_are_a_change() {
        let (a, b) = (
            vec!["a".to_owned(), "b".into()],
            vec!["b".to_owned(), "a".into()],
        );
        let found = changes(Some(&revision("T", &a)), &revision("T", &b));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "tags");
    }

    #[test]
    fn without_a_revision_before_every_field_is_reported_with_no_before() {
        let found = changes(None, &revision("T", &[]));
        let fields: Vec<_> = found.iter().map(|c| c.field).collect();
        assert_eq!(fields, ["title", "description", "tags", "kind"]);
        assert!(found.iter().all(|c| c.before.is_none()));
    }
}
