//! Random sequences of valid and invalid messages on the store socket: whatever a peer sends, the
//! holder answers or closes that connection, keeps serving everyone else, and what was stored
//! before is still there. Runs in one process: the holder is a `SharedStore` in this test, the
//! peers are raw socket connections.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};
use whetstone::store::protocol::{self, Reply};
use whetstone::store::shared::socket_path;
use whetstone::store::{FileKey, SharedStore, Store};

/// One thing a peer may send.
#[derive(Debug, Clone)]
enum Sent {
    /// A well-formed request.
    Request(Value),
    /// A frame whose body is these bytes.
    Body(Vec<u8>),
    /// Bytes with no framing at all.
    Raw(Vec<u8>),
    /// A length prefix larger than the limit.
    HugeLength,
}

fn key_value() -> impl Strategy<Value = Value> {
    ("[a-z/]{0,12}", "[a-z./]{0,16}")
        .prop_map(|(workspace, path)| json!({"workspace": workspace, "path": path}))
}

fn request() -> impl Strategy<Value = Value> {
    prop_oneof![
        key_value().prop_map(|key| json!({"request": "load_file", "key": key})),
        key_value().prop_map(|key| json!({"request": "remove_file", "key": key})),
        Just(json!({"request": "files"})),
        Just(json!({"request": "dismissals"})),
        Just(json!({"request": "next_chunk_id"})),
        (0u64..5_000).prop_map(|count| json!({"request": "claim_chunk_ids", "count": count})),
        Just(json!({"request": "calibration_sessions"})),
        (0u32..40_000).prop_map(|day| json!({"request": "activity", "since_day": day})),
        "[a-z_]{1,10}".prop_map(|name| json!({"request": "setting", "name": name})),
        ("[a-z_]{1,10}", ".{0,20}").prop_map(
            |(name, value)| json!({"request": "set_setting", "name": name, "value": value})
        ),
        Just(json!({"request": "flush"})),
        (0u64..10_000).prop_map(|at| json!({"request": "change_calibration",
            "change": {"change": "look", "at_ms": at}})),
        // Records that do not hold together: the holder must refuse them.
        (key_value(), 0u64..20, 0u64..20).prop_map(|(key, keys, lines)| json!({
            "request": "save_file", "key": key,
            "record": {"version": 1, "line_keys": vec![7u64; keys as usize],
                       "runs": [{"origin": "typed", "chunk": null, "lines": lines}],
                       "chunks": []}})),
        (key_value(), any::<u8>()).prop_map(|(key, version)| json!({
            "request": "save_file", "key": key,
            "record": {"version": version, "line_keys": [], "runs": [], "chunks": []}})),
        (0u8..=255).prop_map(|feel| json!({"request": "change_calibration",
            "change": {"change": "rate", "started_ms": 1, "feel": feel}})),
        Just(json!({"request": "hello", "protocol": 1, "pid": 1, "listen": false})),
    ]
}

fn sent() -> impl Strategy<Value = Sent> {
    prop_oneof![
        6 => request().prop_map(Sent::Request),
        2 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Sent::Body),
        1 => "\\PC{0,40}".prop_map(|text| Sent::Body(text.into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 1..16).prop_map(Sent::Raw),
        1 => Just(Sent::HugeLength),
    ]
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(body);
    bytes
}

/// Says hello (or not), sends everything, and reads whatever comes back until the holder closes
/// the connection or goes quiet.
fn converse(socket: &Path, hello_first: bool, messages: &[Sent]) {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        panic!("the holder no longer accepts connections");
    };
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut bytes = Vec::new();
    if hello_first {
        let hello = format!(
            r#"{{"request":"hello","protocol":{},"pid":1,"listen":false}}"#,
            whetstone::store::protocol::PROTOCOL_VERSION
        );
        bytes.extend(frame(hello.as_bytes()));
    }
    for message in messages {
        match message {
            Sent::Request(value) => bytes.extend(frame(value.to_string().as_bytes())),
            Sent::Body(body) => bytes.extend(frame(body)),
            Sent::Raw(raw) => bytes.extend_from_slice(raw),
            Sent::HugeLength => bytes.extend_from_slice(&u32::MAX.to_be_bytes()),
        }
    }
    // The holder may close early (a bad frame ends a connection): that is fine.
    let _ = stream.write_all(&bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answers = Vec::new();
    let _ = stream.read_to_end(&mut answers);
    // Whatever came back is a sequence of well-formed replies.
    let mut rest = answers.as_slice();
    while let Ok(Some(body)) = protocol::read_frame(&mut rest) {
        protocol::decode_reply(&body).expect("every reply decodes");
    }
}

fn holder(folder: &Path) -> Arc<SharedStore> {
    SharedStore::connect(folder, |_| {}).expect("holds the store")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_holder_survives_any_sequence(
        conversations in prop::collection::vec(
            (any::<bool>(), prop::collection::vec(sent(), 0..12)),
            1..5,
        )
    ) {
        let folder = tempfile::tempdir().expect("tempdir");
        let store = holder(folder.path());
        let known = FileKey { workspace: "/w".to_string(), path: "kept.rs".to_string() };
        store.set_setting("kept", "yes").expect("set");
        store.flush().expect("flush");
        let socket = socket_path(folder.path());
        for (hello_first, messages) in &conversations {
            converse(&socket, *hello_first, messages);
        }
        // Still serving: a well-behaved client connects and reads what was there.
        let client = SharedStore::connect(folder.path(), |_| {}).expect("a client connects");
        prop_assert!(!client.is_holder());
        prop_assert_eq!(client.setting("kept").expect("setting"), Some("yes".to_string()));
        prop_assert_eq!(client.load_file(&known).expect("load"), None);
        // Nothing outside the store folder was touched: the folder holds only the store's own.
        for entry in std::fs::read_dir(folder.path()).expect("list") {
            let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
            prop_assert!(
                ["db", "store.sock"].contains(&name.as_str()),
                "unexpected {} in the store folder", name
            );
        }
        drop(client);
        drop(store);
    }
}

#[test]
fn a_reply_to_garbage_says_what_was_wrong() {
    let folder = tempfile::tempdir().expect("tempdir");
    let _store = holder(folder.path());
    let mut stream = UnixStream::connect(socket_path(folder.path())).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let hello = format!(
        r#"{{"request":"hello","protocol":{},"pid":1,"listen":false}}"#,
        whetstone::store::protocol::PROTOCOL_VERSION
    );
    let mut bytes = frame(hello.as_bytes());
    bytes.extend(frame(b"{\"request\":\"format_disk\"}"));
    bytes.extend(frame(b"{\"request\":\"files\"}"));
    stream.write_all(&bytes).expect("write");
    let mut replies = Vec::new();
    while let Some(body) = protocol::read_frame(&mut stream).expect("read to a clean end") {
        replies.push(protocol::decode_reply(&body).expect("decodes"));
    }
    assert!(matches!(replies[0], Reply::Welcome { .. }), "{replies:?}");
    assert!(
        matches!(&replies[1], Reply::Failed { message, .. } if message.contains("not a store request")),
        "{replies:?}"
    );
    // Then the holder closes the connection: the request after the garbage is not answered.
    assert_eq!(replies.len(), 2, "{replies:?}");
    // Another connection is answered as before.
    let client = SharedStore::connect(folder.path(), |_| {}).expect("a client connects");
    assert_eq!(client.files().expect("files"), Vec::new());
}
