//! The shape every aggregate shares, so the command service can be generic.

/// A consistency boundary: a stream of events folded into state, and the rules
/// that turn a command into new events given that state.
pub trait Aggregate: Default {
    /// The name used in subjects (`<ns>.events.<NAME>.<id>`).
    const NAME: &'static str;
    type Command;
    type Event: Clone
        + Into<crate::DomainEvent>
        + TryFrom<crate::DomainEvent, Error = crate::DomainEvent>;

    /// Decides which events a command produces. Pure: no I/O, no clock.
    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, crate::DomainError>;

    /// Folds one event into the state.
    fn evolve(self, event: &Self::Event) -> Self;

    /// Rebuilds state from an aggregate's history.
    fn from_history<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self
    where
        Self::Event: 'a,
    {
        events
            .into_iter()
            .fold(Self::default(), |state, event| state.evolve(event))
    }
}
