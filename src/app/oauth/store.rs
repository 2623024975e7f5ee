//! The store traits ([`InstallationStore`], [`OAuthStateStore`]), their error, and the model the
//! shipped stores share: one [`Entry`] per workspace, changed by the same functions whether it
//! lives in memory, in a JSON file or in a SQLite row.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::installation::{workspace_key, Bot, Installation};

/// What a store failed to do: a message, and the underlying error when there is one
/// ([`std::error::Error::source`]). The OAuth flow answers it with a `500` page; authorization
/// with a failure.
#[derive(Debug)]
pub struct StoreError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> StoreError {
        StoreError {
            message: message.into(),
            source: None,
        }
    }

    /// An error with this message, caused by `source` (a database driver's error, an I/O
    /// error).
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StoreError {
        StoreError {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{}: {source}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Where installations live. Shipped: [`MemoryStore`](super::MemoryStore) (tests),
/// [`JsonFileStore`](super::JsonFileStore) (one process) and `SqliteStore` (feature `sqlite`:
/// several processes on one host). Implement it over your own database to run many hosts.
///
/// A workspace is named by `(enterprise_id, team_id, is_enterprise_install)`; for an org-wide
/// install (`is_enterprise_install`) the team is ignored. Each workspace has:
/// - its **latest installation** ([`find_installation`](Self::find_installation) with no
///   user): the bot token and the last installer's user token, with a **version** that every
///   change of the workspace's records increases;
/// - one installation per installing **user** (`find_installation` with a user), whose bot
///   fields are the workspace's bot.
///
/// **The compare-and-swap rule.** Token rotation saves with
/// [`save_rotated`](Self::save_rotated), which must write only if the workspace's version is
/// still the one that was read — in one atomic step (a transaction, a conditional `UPDATE …
/// WHERE version = ?`). When two hosts refresh the same workspace at once, one save wins; the
/// other gets `false`, re-reads, and uses the winner's token instead of overwriting it.
pub trait InstallationStore: Send + Sync {
    /// Saves a new installation (an OAuth install): it becomes the workspace's latest and the
    /// installing user's record; the workspace's version increases. Returns the saved record
    /// (with its version).
    fn save(&self, installation: &Installation) -> Result<Installation, StoreError>;

    /// Saves a rotated installation **only if** the workspace's version is still
    /// `read_version` (the `version` of the record the rotation started from): its bot fields
    /// become the workspace's bot, its user token the user's. Returns `true` when saved,
    /// `false` when another writer got there first (nothing was written).
    fn save_rotated(&self, rotated: &Installation, read_version: u64) -> Result<bool, StoreError>;

    /// The workspace's latest installation (`user_id` `None`), or that user's installation;
    /// `None` when there is none.
    fn find_installation(
        &self,
        enterprise_id: Option<&str>,
        team_id: Option<&str>,
        user_id: Option<&str>,
        is_enterprise_install: bool,
    ) -> Result<Option<Installation>, StoreError>;

    /// The workspace's bot; `None` when it has none (not installed, or its token was revoked).
    fn find_bot(
        &self,
        enterprise_id: Option<&str>,
        team_id: Option<&str>,
        is_enterprise_install: bool,
    ) -> Result<Option<Bot>, StoreError> {
        Ok(self
            .find_installation(enterprise_id, team_id, None, is_enterprise_install)?
            .and_then(|i| i.bot()))
    }

    /// Deletes that user's installation (their user token), or every user's when `user_id` is
    /// `None`; the bot stays.
    fn delete_installation(
        &self,
        enterprise_id: Option<&str>,
        team_id: Option<&str>,
        user_id: Option<&str>,
        is_enterprise_install: bool,
    ) -> Result<(), StoreError>;

    /// Deletes the workspace's bot token (its users' tokens stay).
    fn delete_bot(
        &self,
        enterprise_id: Option<&str>,
        team_id: Option<&str>,
        is_enterprise_install: bool,
    ) -> Result<(), StoreError>;

    /// Deletes everything the store holds for the workspace (the app was uninstalled).
    fn delete_all(
        &self,
        enterprise_id: Option<&str>,
        team_id: Option<&str>,
        is_enterprise_install: bool,
    ) -> Result<(), StoreError>;
}

/// Where the OAuth flow keeps its `state` values between the install page and the redirect:
/// [`issue`](Self::issue) a fresh random one, [`consume`](Self::consume) it once. A store
/// shared by several hosts (a database) lets the redirect land on any of them.
pub trait OAuthStateStore: Send + Sync {
    /// A new state value (random, unguessable), remembered until consumed or expired.
    fn issue(&self) -> Result<String, StoreError>;

    /// Forgets `state` and answers whether it was issued and had not expired: `true` once,
    /// `false` for an unknown, expired or already consumed value.
    fn consume(&self, state: &str) -> Result<bool, StoreError>;
}

/// How long an OAuth state stays valid: 600 s, as Bolt and the state cookie.
pub const DEFAULT_STATE_EXPIRY: u64 = 600;

/// A new state value: 128 random bits (the thread RNG, a CSPRNG), hex.
pub(crate) fn new_state() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// What a store keeps for one workspace.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Increased by every change.
    pub version: u64,
    /// The latest installation (bot token, last installer).
    pub latest: Option<Installation>,
    /// Each installing user's installation, by user id.
    #[serde(default)]
    pub users: BTreeMap<String, Installation>,
}

/// A workspace key: `(enterprise_id or "", team_id or "")`.
pub(crate) type Key = (String, String);

pub(crate) fn key(
    enterprise_id: Option<&str>,
    team_id: Option<&str>,
    is_enterprise_install: bool,
) -> Key {
    workspace_key(enterprise_id, team_id, is_enterprise_install)
}

impl Entry {
    pub(crate) fn is_empty(&self) -> bool {
        self.latest.is_none() && self.users.is_empty()
    }

    /// [`InstallationStore::save`] on this entry.
    pub(crate) fn save(&mut self, installation: &Installation) -> Installation {
        self.version += 1;
        let mut saved = installation.clone();
        saved.version = self.version;
        self.users.insert(saved.user_id.clone(), saved.clone());
        self.latest = Some(saved.clone());
        saved
    }

    /// [`InstallationStore::save_rotated`] on this entry.
    pub(crate) fn save_rotated(&mut self, rotated: &Installation, read_version: u64) -> bool {
        if self.version != read_version {
            return false;
        }
        self.version += 1;
        if let Some(latest) = &mut self.latest {
            latest.copy_bot_from(rotated);
            if latest.user_id == rotated.user_id {
                copy_user_token(latest, rotated);
            }
        }
        if let Some(user) = self.users.get_mut(&rotated.user_id) {
            copy_user_token(user, rotated);
        }
        true
    }

    /// [`InstallationStore::find_installation`] on this entry.
    pub(crate) fn find(&self, user_id: Option<&str>) -> Option<Installation> {
        let mut found = match user_id {
            None => self.latest.clone()?,
            Some(user) => {
                let mut found = self.users.get(user)?.clone();
                if let Some(latest) = &self.latest {
                    found.copy_bot_from(latest);
                }
                found
            }
        };
        found.version = self.version;
        Some(found)
    }

    /// [`InstallationStore::delete_installation`] on this entry.
    pub(crate) fn delete_installation(&mut self, user_id: Option<&str>) {
        self.version += 1;
        match user_id {
            None => {
                self.users.clear();
                if let Some(latest) = &mut self.latest {
                    clear_user_token(latest);
                }
            }
            Some(user) => {
                self.users.remove(user);
                if let Some(latest) = &mut self.latest {
                    if latest.user_id == user {
                        clear_user_token(latest);
                    }
                }
            }
        }
        self.drop_latest_if_empty();
    }

    /// [`InstallationStore::delete_bot`] on this entry.
    pub(crate) fn delete_bot(&mut self) {
        self.version += 1;
        if let Some(latest) = &mut self.latest {
            latest.clear_bot();
        }
        for user in self.users.values_mut() {
            user.clear_bot();
        }
        self.drop_latest_if_empty();
    }

    /// The latest installation goes when it holds no token any more.
    fn drop_latest_if_empty(&mut self) {
        if self
            .latest
            .as_ref()
            .is_some_and(|l| l.bot_token.is_none() && l.user_token.is_none())
        {
            self.latest = None;
        }
    }
}

fn copy_user_token(to: &mut Installation, from: &Installation) {
    to.user_token.clone_from(&from.user_token);
    to.user_refresh_token.clone_from(&from.user_refresh_token);
    to.user_token_expires_at = from.user_token_expires_at;
}

fn clear_user_token(i: &mut Installation) {
    i.user_token = None;
    i.user_refresh_token = None;
    i.user_token_expires_at = None;
}

/// One of the store operations, so the three shipped stores run the same code on an
/// [`Entry`] (in memory, in a file, in a SQLite row).
pub(crate) enum Op<'a> {
    Save(&'a Installation),
    SaveRotated(&'a Installation, u64),
    DeleteInstallation(Option<&'a str>),
    DeleteBot,
    DeleteAll,
}

/// What an [`Op`] returned.
pub(crate) enum Done {
    Saved(Box<Installation>),
    Rotated(bool),
    Deleted,
}

impl Op<'_> {
    /// Applies the operation to the entry (`None`: the workspace has none); returns the
    /// result, and whether the entry changed. The entry is `None` afterwards when it is empty.
    pub(crate) fn apply(&self, entry: &mut Option<Entry>) -> (Done, bool) {
        let done = match self {
            Op::Save(installation) => Done::Saved(Box::new(
                entry.get_or_insert_with(Entry::default).save(installation),
            )),
            Op::SaveRotated(rotated, read) => match entry {
                Some(e) => Done::Rotated(e.save_rotated(rotated, *read)),
                None => Done::Rotated(false),
            },
            Op::DeleteInstallation(user) => {
                if let Some(e) = entry {
                    e.delete_installation(*user);
                }
                Done::Deleted
            }
            Op::DeleteBot => {
                if let Some(e) = entry {
                    e.delete_bot();
                }
                Done::Deleted
            }
            Op::DeleteAll => {
                *entry = None;
                Done::Deleted
            }
        };
        let changed = !matches!(done, Done::Rotated(false));
        if entry.as_ref().is_some_and(Entry::is_empty) {
            *entry = None;
        }
        (done, changed)
    }
}

/// Implements [`InstallationStore`] for a type with
/// `fn op(&self, key: Key, op: Op) -> Result<Done, StoreError>` and
/// `fn entry(&self, key: &Key) -> Result<Option<Entry>, StoreError>`.
macro_rules! installation_store_via_ops {
    ($t:ty) => {
        impl $crate::app::oauth::InstallationStore for $t {
            fn save(
                &self,
                installation: &$crate::app::oauth::Installation,
            ) -> Result<$crate::app::oauth::Installation, $crate::app::oauth::StoreError> {
                match self.op(
                    installation.key(),
                    $crate::app::oauth::store::Op::Save(installation),
                )? {
                    $crate::app::oauth::store::Done::Saved(saved) => Ok(*saved),
                    _ => Err($crate::app::oauth::StoreError::new(
                        "the store did not save",
                    )),
                }
            }

            fn save_rotated(
                &self,
                rotated: &$crate::app::oauth::Installation,
                read_version: u64,
            ) -> Result<bool, $crate::app::oauth::StoreError> {
                let op = $crate::app::oauth::store::Op::SaveRotated(rotated, read_version);
                Ok(matches!(
                    self.op(rotated.key(), op)?,
                    $crate::app::oauth::store::Done::Rotated(true)
                ))
            }

            fn find_installation(
                &self,
                enterprise_id: Option<&str>,
                team_id: Option<&str>,
                user_id: Option<&str>,
                is_enterprise_install: bool,
            ) -> Result<Option<$crate::app::oauth::Installation>, $crate::app::oauth::StoreError>
            {
                let key =
                    $crate::app::oauth::store::key(enterprise_id, team_id, is_enterprise_install);
                Ok(self.entry(&key)?.and_then(|e| e.find(user_id)))
            }

            fn delete_installation(
                &self,
                enterprise_id: Option<&str>,
                team_id: Option<&str>,
                user_id: Option<&str>,
                is_enterprise_install: bool,
            ) -> Result<(), $crate::app::oauth::StoreError> {
                let key =
                    $crate::app::oauth::store::key(enterprise_id, team_id, is_enterprise_install);
                self.op(
                    key,
                    $crate::app::oauth::store::Op::DeleteInstallation(user_id),
                )
                .map(|_| ())
            }

            fn delete_bot(
                &self,
                enterprise_id: Option<&str>,
                team_id: Option<&str>,
                is_enterprise_install: bool,
            ) -> Result<(), $crate::app::oauth::StoreError> {
                let key =
                    $crate::app::oauth::store::key(enterprise_id, team_id, is_enterprise_install);
                self.op(key, $crate::app::oauth::store::Op::DeleteBot)
                    .map(|_| ())
            }

            fn delete_all(
                &self,
                enterprise_id: Option<&str>,
                team_id: Option<&str>,
                is_enterprise_install: bool,
            ) -> Result<(), $crate::app::oauth::StoreError> {
                let key =
                    $crate::app::oauth::store::key(enterprise_id, team_id, is_enterprise_install);
                self.op(key, $crate::app::oauth::store::Op::DeleteAll)
                    .map(|_| ())
            }
        }
    };
}
pub(crate) use installation_store_via_ops;
