//! A holder of the store runs for as long as its editor, weeks at a time: thousands of
//! connections come and go (every `whetstone status`, every window, every stray peer), and none
//! may leave anything behind. Alone in its file, because it counts this process's descriptors.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use whetstone::store::protocol::{self, PROTOCOL_VERSION, Reply, Request};
use whetstone::store::shared::socket_path;
use whetstone::store::{SharedStore, Store};

/// The descriptors this process has open.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .count()
}

fn connect(socket: &Path) -> UnixStream {
    let stream = UnixStream::connect(socket).expect("the holder accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

fn ask(stream: &mut UnixStream, request: &Request) -> Reply {
    protocol::write_frame(stream, request).expect("write");
    let body = protocol::read_frame(stream)
        .expect("read")
        .expect("an answer");
    protocol::decode_reply(&body).expect("a reply")
}

fn say_hello(socket: &Path, listen: bool) -> UnixStream {
    let mut stream = connect(socket);
    let hello = Request::Hello {
        protocol: PROTOCOL_VERSION,
        pid: std::process::id(),
        listen,
    };
    assert!(matches!(ask(&mut stream, &hello), Reply::Welcome { .. }));
    stream
}

/// Descriptors were kept for every connection ever accepted, so after about 500 runs of
/// `whetstone status` the holder could open nothing more.
#[test]
fn five_thousand_connections_leave_the_holder_as_it_was() {
    let folder = tempfile::tempdir().expect("tempdir");
    let holder = SharedStore::connect(folder.path(), |_| {}).expect("holds the store");
    assert!(holder.is_holder());
    holder.set_setting("kept", "yes").expect("set");
    holder.flush().expect("flush");
    let socket = socket_path(folder.path());
    // One of each first, so that whatever is opened once and kept is counted in the start.
    drop(say_hello(&socket, false));
    drop(say_hello(&socket, true));
    std::thread::sleep(Duration::from_millis(100));
    let at_start = open_descriptors();

    let started = Instant::now();
    for round in 0..5_000 {
        match round % 5 {
            0 => drop(say_hello(&socket, false)),
            1 => {
                let mut stream = say_hello(&socket, false);
                assert_eq!(
                    ask(
                        &mut stream,
                        &Request::Setting {
                            name: "kept".to_string()
                        }
                    ),
                    Reply::Setting {
                        value: Some("yes".to_string())
                    }
                );
            }
            // Not a frame: "GET " read as a length is over the limit.
            2 => {
                let mut stream = connect(&socket);
                let _ = stream.write_all(b"GET / HTTP/1.1\r\n\r\n");
            }
            // A frame, but not a request.
            3 => {
                let mut stream = say_hello(&socket, false);
                let _ = protocol::write_frame(&mut stream, &"format the disk");
            }
            _ => drop(say_hello(&socket, true)),
        }
    }
    let took = started.elapsed();

    // The holder still answers, and a new process becomes its client.
    let client = SharedStore::connect(folder.path(), |_| {}).expect("a client connects");
    assert!(!client.is_holder());
    assert_eq!(
        client.setting("kept").expect("read"),
        Some("yes".to_string())
    );
    drop(client);

    // Each connection's thread closes it when it ends, a moment after its peer went.
    let deadline = Instant::now() + Duration::from_secs(10);
    let slack = 8;
    loop {
        let now = open_descriptors();
        if now <= at_start + slack {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{now} descriptors open after 5,000 connections, {at_start} before"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        took < Duration::from_secs(30),
        "5,000 connections took {took:?}"
    );
    assert_eq!(
        holder.setting("kept").expect("the holder's own read"),
        Some("yes".to_string())
    );
}
