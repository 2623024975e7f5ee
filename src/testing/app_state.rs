//! What the fake's App facet keeps in the shared state (its own file, so that `state.rs` and
//! `app.rs` import no circle).

use std::collections::HashMap;
use std::time::Instant;

/// What the App facet keeps: the trigger ids it issued.
#[derive(Debug, Default)]
pub(crate) struct AppState {
    /// Trigger ids issued, with when.
    pub(crate) triggers: HashMap<String, Instant>,
    /// `views.open` / `views.push` accept only trigger ids the fake issued, for 3 s.
    pub(crate) check_triggers: bool,
}

impl AppState {
    pub(crate) fn new() -> AppState {
        AppState {
            check_triggers: true,
            ..AppState::default()
        }
    }
}
