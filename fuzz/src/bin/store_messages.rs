//! Fuzz target `store_messages`: arbitrary bytes as what a peer sends the store's holder over its
//! socket (`store::protocol`). Every frame is decoded as the holder decodes it; every request that
//! decodes is answered by the holder's own dispatch (`store::serve::Served`) over an in-memory
//! store; every reply must encode and decode to itself; and the store must still answer a plain
//! read afterwards. A length over the limit, and a frame that is not a request, must end the
//! reading (the holder closes the connection there).

#![no_main]

use std::sync::{Arc, Mutex};

use libfuzzer_sys::fuzz_target;
use whetstone::store::protocol::{self, MAX_FRAME_BYTES, Reply, Request};
use whetstone::store::serve::{Hub, Served};
use whetstone::store::{MemoryStore, Store};

fuzz_target!(|bytes: &[u8]| {
    let served = Served {
        store: Arc::new(MemoryStore::new()),
        hub: Arc::new(Hub::new(Box::new(|_| {}))),
        calibration_lock: Mutex::new(()),
        notice: None,
    };
    let decoded = protocol::decode_requests(bytes);
    for (index, request) in decoded.iter().enumerate() {
        let Ok(request) = request else {
            // An unreadable frame, or one that is not a request, ends the reading.
            assert_eq!(
                index + 1,
                decoded.len(),
                "reading went on after a broken frame"
            );
            continue;
        };
        if matches!(request, Request::Hello { .. }) {
            continue;
        }
        let reply = served.answer(request.clone());
        let mut frame = Vec::new();
        protocol::write_frame(&mut frame, &reply).expect("a reply encodes");
        let body = protocol::read_frame(&mut frame.as_slice())
            .expect("a reply frame reads")
            .expect("one frame");
        assert!(body.len() <= MAX_FRAME_BYTES);
        let again = protocol::decode_reply(&body).expect("a reply decodes");
        // Floats are not in replies, so a round trip is exact.
        assert_eq!(again, reply, "the reply to {request:?} changed on the wire");
    }
    assert!(matches!(
        served.answer(Request::Files),
        Reply::Files { .. }
    ));
    assert!(served.store.files().is_ok());
});
