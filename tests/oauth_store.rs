//! The shipped stores (memory, JSON file, SQLite) keep installations and OAuth states the same
//! way: latest installation per workspace, per-user installations, the bot, deletes by
//! workspace and user, org-wide installs, versions; states single-use; files survive a
//! reopen; SQLite refuses a newer schema.

mod oauth_support;

use slack_rtm::app::oauth::{
    Installation, InstallationStore, JsonFileStore, MemoryStore, OAuthStateStore, SqliteStore,
};

use oauth_support::temp_dir;

fn inst(e: Option<&str>, t: Option<&str>, user: &str, bot: &str) -> Installation {
    let mut i = Installation::new(e, t, user);
    i.bot_token = Some(bot.to_owned());
    i.user_token = Some(format!("xoxp-{user}"));
    i
}

fn check_installations(store: &dyn InstallationStore) {
    let t = Some("T1");
    assert!(store
        .find_installation(None, t, None, false)
        .unwrap()
        .is_none());
    let first = store.save(&inst(None, t, "U1", "xoxb-1")).unwrap();
    assert_eq!(first.version, 1);
    let second = store.save(&inst(None, t, "U2", "xoxb-2")).unwrap();
    assert_eq!(second.version, 2);
    // The latest installation is the last installer's; each user keeps theirs, with the
    // workspace's (latest) bot.
    let latest = store
        .find_installation(None, t, None, false)
        .unwrap()
        .unwrap();
    assert_eq!((latest.user_id.as_str(), latest.version), ("U2", 2));
    let u1 = store
        .find_installation(None, t, Some("U1"), false)
        .unwrap()
        .unwrap();
    assert_eq!(u1.user_token.as_deref(), Some("xoxp-U1"));
    assert_eq!(u1.bot_token.as_deref(), Some("xoxb-2"));
    assert!(store
        .find_installation(None, t, Some("U9"), false)
        .unwrap()
        .is_none());
    assert_eq!(
        store.find_bot(None, t, false).unwrap().unwrap().bot_token,
        "xoxb-2"
    );
    // Other workspaces are apart.
    assert!(store
        .find_installation(None, Some("T2"), None, false)
        .unwrap()
        .is_none());
    // A rotation saves against the version read.
    let mut rotated = latest.clone();
    rotated.bot_token = Some("xoxb-3".into());
    assert!(!store.save_rotated(&rotated, 1).unwrap(), "stale version");
    assert_eq!(
        store.find_bot(None, t, false).unwrap().unwrap().bot_token,
        "xoxb-2",
        "a stale rotation writes nothing"
    );
    assert!(store.save_rotated(&rotated, 2).unwrap());
    assert_eq!(
        store.find_bot(None, t, false).unwrap().unwrap().bot_token,
        "xoxb-3"
    );
    let after = store
        .find_installation(None, t, None, false)
        .unwrap()
        .unwrap();
    assert_eq!(after.version, 3, "a rotation increases the version");
    // Deleting a user's installation keeps the bot.
    store
        .delete_installation(None, t, Some("U1"), false)
        .unwrap();
    assert!(store
        .find_installation(None, t, Some("U1"), false)
        .unwrap()
        .is_none());
    assert!(store.find_bot(None, t, false).unwrap().is_some());
    // Deleting the bot keeps the users' tokens.
    store.delete_bot(None, t, false).unwrap();
    assert!(store.find_bot(None, t, false).unwrap().is_none());
    let u2 = store
        .find_installation(None, t, Some("U2"), false)
        .unwrap()
        .unwrap();
    assert_eq!(u2.user_token.as_deref(), Some("xoxp-U2"));
    assert_eq!(u2.bot_token, None);
    store.delete_all(None, t, false).unwrap();
    assert!(store
        .find_installation(None, t, Some("U2"), false)
        .unwrap()
        .is_none());
    assert!(store
        .find_installation(None, t, None, false)
        .unwrap()
        .is_none());
    // Org-wide installs are found by organization, whatever the team.
    let mut org = inst(Some("E1"), None, "U1", "xoxb-org");
    org.is_enterprise_install = true;
    store.save(&org).unwrap();
    let found = store
        .find_installation(Some("E1"), Some("T7"), None, true)
        .unwrap()
        .unwrap();
    assert_eq!(found.bot_token.as_deref(), Some("xoxb-org"));
    assert!(store
        .find_installation(Some("E1"), Some("T7"), None, false)
        .unwrap()
        .is_none());
    // A workspace of an organization (not org-wide) is its own.
    store
        .save(&inst(Some("E1"), Some("T8"), "U1", "xoxb-t8"))
        .unwrap();
    let t8 = store
        .find_installation(Some("E1"), Some("T8"), None, false)
        .unwrap()
        .unwrap();
    assert_eq!(t8.bot_token.as_deref(), Some("xoxb-t8"));
    store.delete_installation(None, t, None, false).unwrap(); // nothing there: fine
}

fn check_states(store: &dyn OAuthStateStore) {
    let a = store.issue().unwrap();
    let b = store.issue().unwrap();
    assert_ne!(a, b);
    assert!(store.consume(&a).unwrap());
    assert!(!store.consume(&a).unwrap(), "single use");
    assert!(!store.consume("never-issued").unwrap());
    assert!(store.consume(&b).unwrap());
}

#[test]
fn memory_store() {
    let store = MemoryStore::new();
    check_installations(&store);
    check_states(&store);
    let expired = MemoryStore::new().state_expiry(0);
    let s = expired.issue().unwrap();
    assert!(!expired.consume(&s).unwrap(), "expired");
}

#[test]
fn json_file_store_survives_a_reopen() {
    let dir = temp_dir("oauth-json");
    let path = dir.join("installations.json");
    check_installations(&JsonFileStore::new(&path));
    check_states(&JsonFileStore::new(&path));
    let store = JsonFileStore::new(&path);
    store.save(&inst(None, Some("T5"), "U1", "xoxb-5")).unwrap();
    let state = store.issue().unwrap();
    drop(store);
    let reopened = JsonFileStore::new(&path);
    assert_eq!(
        reopened
            .find_bot(None, Some("T5"), false)
            .unwrap()
            .unwrap()
            .bot_token,
        "xoxb-5"
    );
    assert!(reopened.consume(&state).unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "tokens readable by the owner only: {mode:o}"
        );
    }
    // A file that is not a store is an error, not a panic.
    std::fs::write(&path, b"not json").unwrap();
    let err = JsonFileStore::new(&path)
        .find_bot(None, Some("T5"), false)
        .unwrap_err();
    assert!(err.to_string().contains("not a store file"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sqlite_store_is_shared_by_connections_and_versioned() {
    let dir = temp_dir("oauth-sqlite");
    let path = dir.join("installations.sqlite");
    check_installations(&SqliteStore::open(&path).unwrap());
    check_states(&SqliteStore::open(&path).unwrap());
    // Two connections (two processes) see each other's writes; a state issued by one is
    // consumed once by the other.
    let a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap();
    a.save(&inst(None, Some("T5"), "U1", "xoxb-5")).unwrap();
    assert_eq!(
        b.find_bot(None, Some("T5"), false)
            .unwrap()
            .unwrap()
            .bot_token,
        "xoxb-5"
    );
    let state = a.issue().unwrap();
    assert!(b.consume(&state).unwrap());
    assert!(!a.consume(&state).unwrap());
    // Several threads writing through two connections: every save lands, versions in order.
    std::thread::scope(|s| {
        for (n, store) in [&a, &b, &a, &b].into_iter().enumerate() {
            s.spawn(move || {
                for k in 0..10 {
                    store
                        .save(&inst(None, Some("T6"), &format!("U{n}-{k}"), "xoxb-6"))
                        .unwrap();
                }
            });
        }
    });
    let latest = a
        .find_installation(None, Some("T6"), None, false)
        .unwrap()
        .unwrap();
    assert_eq!(latest.version, 40, "40 saves, none lost");
    // A file that is not a database is an error.
    let junk = dir.join("junk.sqlite");
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    assert!(SqliteStore::open(&junk).is_err());
    let _ = std::fs::remove_dir_all(dir);
}
