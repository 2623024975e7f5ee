//! `cargo doc` in the workspace documents the library alone: the binary `slack-rtm` would write
//! its page over the library's `slack_rtm/index.html` (cargo warned of the collision).

#[test]
fn the_binary_is_not_documented_over_the_library() {
    let manifest = include_str!("../Cargo.toml");
    let bin = manifest
        .split("[[bin]]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a [[bin]] section");
    assert!(bin.contains("name = \"slack-rtm\""), "{bin}");
    assert!(bin.contains("doc = false"), "{bin}");
}
