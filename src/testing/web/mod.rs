//! The fake's Web API facet: method routing, scripted answers and uploads ([`api`]) over a
//! model of the workspace ([`workspace`]: channels, messages, files).

pub(super) mod api;
pub(super) mod workspace;
