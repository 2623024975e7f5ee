//! [`MemoryStore`] and [`JsonFileStore`]: installations and OAuth states in this process's
//! memory, or in one JSON file.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::installation::unix_now;
use super::store::{
    installation_store_via_ops, new_state, Done, Entry, Key, OAuthStateStore, Op, StoreError,
    DEFAULT_STATE_EXPIRY,
};

/// What the memory and file stores hold.
#[derive(Default, Serialize, Deserialize)]
struct Data {
    /// Workspaces by `"enterprise_id/team_id"`.
    #[serde(default)]
    workspaces: BTreeMap<String, Entry>,
    /// OAuth states and when they were issued (Unix seconds).
    #[serde(default)]
    states: HashMap<String, u64>,
}

fn map_key(key: &Key) -> String {
    format!("{}/{}", key.0, key.1)
}

impl Data {
    fn op(&mut self, key: &Key, op: &Op<'_>) -> (Done, bool) {
        let k = map_key(key);
        let mut entry = self.workspaces.remove(&k);
        let (done, changed) = op.apply(&mut entry);
        if let Some(entry) = entry {
            self.workspaces.insert(k, entry);
        }
        (done, changed)
    }

    fn issue(&mut self, expiry: u64) -> String {
        let now = unix_now();
        self.states
            .retain(|_, issued| now.saturating_sub(*issued) < expiry);
        let state = new_state();
        self.states.insert(state.clone(), now);
        state
    }

    fn consume(&mut self, state: &str, expiry: u64) -> bool {
        self.states
            .remove(state)
            .is_some_and(|issued| unix_now().saturating_sub(issued) < expiry)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data is valid after any panic: every change is made whole before it is stored.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Installations and OAuth states in memory: for tests, and for a single process that may
/// forget them on restart. Implements [`InstallationStore`](super::InstallationStore) and
/// [`OAuthStateStore`]. Cheap to share behind an `Arc`.
pub struct MemoryStore {
    data: Mutex<Data>,
    state_expiry: u64,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("workspaces", &lock(&self.data).workspaces.len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// An empty store; states expire after 600 s.
    pub fn new() -> MemoryStore {
        MemoryStore {
            data: Mutex::new(Data::default()),
            state_expiry: DEFAULT_STATE_EXPIRY,
        }
    }

    /// How long an issued OAuth state stays valid, in seconds. Defaults to 600.
    #[must_use]
    pub fn state_expiry(mut self, seconds: u64) -> Self {
        self.state_expiry = seconds;
        self
    }

    fn op(&self, key: Key, op: Op<'_>) -> Result<Done, StoreError> {
        Ok(lock(&self.data).op(&key, &op).0)
    }

    fn entry(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        Ok(lock(&self.data).workspaces.get(&map_key(key)).cloned())
    }
}

installation_store_via_ops!(MemoryStore);

impl OAuthStateStore for MemoryStore {
    fn issue(&self) -> Result<String, StoreError> {
        Ok(lock(&self.data).issue(self.state_expiry))
    }

    fn consume(&self, state: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.data).consume(state, self.state_expiry))
    }
}

/// Installations and OAuth states in one JSON file, rewritten whole (to a temporary file,
/// then renamed over it) at each change: for one process with few workspaces. Several
/// processes must not share the file: use `SqliteStore` (feature `sqlite`) for that.
/// Implements [`InstallationStore`](super::InstallationStore) and [`OAuthStateStore`].
///
/// The file holds tokens: it is created readable by its owner only (mode `0600` on Unix).
pub struct JsonFileStore {
    path: PathBuf,
    lock: Mutex<()>,
    state_expiry: u64,
}

impl std::fmt::Debug for JsonFileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonFileStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl JsonFileStore {
    /// A store in the file at `path` (created at the first change; its folder must exist).
    /// States expire after 600 s.
    pub fn new(path: impl AsRef<Path>) -> JsonFileStore {
        JsonFileStore {
            path: path.as_ref().to_path_buf(),
            lock: Mutex::new(()),
            state_expiry: DEFAULT_STATE_EXPIRY,
        }
    }

    /// How long an issued OAuth state stays valid, in seconds. Defaults to 600.
    #[must_use]
    pub fn state_expiry(mut self, seconds: u64) -> Self {
        self.state_expiry = seconds;
        self
    }

    fn read(&self) -> Result<Data, StoreError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                StoreError::with_source(format!("{} is not a store file", self.path.display()), e)
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Data::default()),
            Err(e) => Err(StoreError::with_source(
                format!("cannot read {}", self.path.display()),
                e,
            )),
        }
    }

    fn write(&self, data: &Data) -> Result<(), StoreError> {
        let fail = |e: std::io::Error| {
            StoreError::with_source(format!("cannot write {}", self.path.display()), e)
        };
        let bytes = serde_json::to_vec_pretty(data)
            .map_err(|e| StoreError::with_source("cannot encode the store", e))?;
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(fail)?;
        file.write_all(&bytes).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        std::fs::rename(&tmp, &self.path).map_err(fail)
    }

    /// Reads the file, runs `f`, writes the file back if `f` says it changed.
    fn change<T>(&self, f: impl FnOnce(&mut Data) -> (T, bool)) -> Result<T, StoreError> {
        let _guard = lock(&self.lock);
        let mut data = self.read()?;
        let (out, changed) = f(&mut data);
        if changed {
            self.write(&data)?;
        }
        Ok(out)
    }

    fn op(&self, key: Key, op: Op<'_>) -> Result<Done, StoreError> {
        self.change(|data| data.op(&key, &op))
    }

    fn entry(&self, key: &Key) -> Result<Option<Entry>, StoreError> {
        let _guard = lock(&self.lock);
        Ok(self.read()?.workspaces.remove(&map_key(key)))
    }
}

installation_store_via_ops!(JsonFileStore);

impl OAuthStateStore for JsonFileStore {
    fn issue(&self) -> Result<String, StoreError> {
        let expiry = self.state_expiry;
        self.change(|data| (data.issue(expiry), true))
    }

    fn consume(&self, state: &str) -> Result<bool, StoreError> {
        let expiry = self.state_expiry;
        self.change(|data| {
            let found = data.consume(state, expiry);
            (found, found)
        })
    }
}
