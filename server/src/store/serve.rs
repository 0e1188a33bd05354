//! The holder's side of the store socket: the process that holds sled's lock listens on
//! `<store folder>/store.sock` (mode 0600, in the 0700 store folder) and answers the other
//! processes' [`Request`]s with the same [`Store`] every caller in this process uses. A
//! connection from another user is closed unanswered. A peer that breaks the protocol is closed
//! too, so that it sees the end of its input: a first frame that is not a hello, a hello of
//! another protocol (answered with [`Reply::Failed`] first), a frame that does not decode (also
//! answered first) and a frame over the limit. A frame cut short ends its connection as well.
//!
//! The holder runs for as long as its editor, so nothing here grows with the connections it has
//! seen: each connection is forgotten, and its descriptor closed, when its thread ends.

use std::collections::HashMap;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::store::calibration::CalibrationChange;
use crate::store::protocol::{
    self, Notice, PROTOCOL_VERSION, Reply, Request, WireKey, calibration_reply,
};
use crate::store::records;
use crate::store::{FileKey, Store, StoreError};

/// The connections answered at once, and apart from them the listeners kept: every editor
/// window takes one of each. A newcomer past either limit makes room by closing the connection
/// that was idle longest (or the oldest listener) rather than being refused: refusing locked
/// every new window out while idle connections held every place, and a client whose connection
/// is closed finds the holder again at its next call.
const MAX_CONNECTIONS: usize = 256;
/// The most chunk ids one request may claim (a server claims 1,024 at a time). A claim of 2^64-1
/// ids used to push the counter to its end, where every later chunk got the same id.
const MAX_CHUNK_IDS_PER_CLAIM: u64 = 65_536;
/// A connection must say hello this soon.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Tells this process and every listening one about changes the others must see at once.
pub struct Hub {
    local: Box<dyn Fn(Notice) + Send + Sync>,
    listeners: Mutex<Vec<UnixStream>>,
}

impl Hub {
    pub fn new(local: Box<dyn Fn(Notice) + Send + Sync>) -> Hub {
        Hub {
            local,
            listeners: Mutex::new(Vec::new()),
        }
    }

    /// Tells this process only (after it reconnected, say).
    pub fn tell_local(&self, notice: Notice) {
        (self.local)(notice);
    }

    /// Tells this process and every listener; a listener that cannot be written to is dropped.
    pub fn publish(&self, notice: Notice) {
        (self.local)(notice.clone());
        let mut listeners = lock(&self.listeners);
        listeners.retain_mut(|stream| protocol::write_frame(stream, &notice).is_ok());
    }

    /// How many listeners are kept (closed ones included until they are noticed).
    pub fn listener_count(&self) -> usize {
        lock(&self.listeners).len()
    }

    /// Drops the listeners whose peer is gone, closing their descriptors. Nothing else is
    /// announced through listeners for days on end, so they are looked at whenever a connection
    /// comes in; skipped while a notice is being written, which must not hold up the accepting.
    fn forget_closed_listeners(&self) {
        if let Ok(mut listeners) = self.listeners.try_lock() {
            listeners.retain(still_open);
        }
    }

    /// A listener that does not read its notices is dropped after a second, so that it cannot
    /// hold up the change being announced; at [`MAX_CONNECTIONS`] listeners, the oldest is closed
    /// to make room (its process hears that and connects again).
    fn add_listener(&self, stream: UnixStream) {
        if stream
            .set_write_timeout(Some(Duration::from_secs(1)))
            .is_err()
        {
            return;
        }
        let mut listeners = lock(&self.listeners);
        listeners.retain(still_open);
        while listeners.len() >= MAX_CONNECTIONS {
            let oldest = listeners.remove(0);
            let _ = oldest.shutdown(Shutdown::Both);
            tracing::warn!(
                "{MAX_CONNECTIONS} processes listen to the store: closed the oldest listener to \
                 make room"
            );
        }
        listeners.push(stream);
    }

    /// Closes every listener, so that each notices at once that this holder is gone.
    fn close_listeners(&self) {
        for stream in lock(&self.listeners).drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// The store and what answering needs around it.
pub struct Served {
    pub store: Arc<dyn Store>,
    pub hub: Arc<Hub>,
    /// Held while a calibration change is applied: the rules read, decide and write.
    pub calibration_lock: Mutex<()>,
    /// Said to every process that connects (a read-only store's reason).
    pub notice: Option<String>,
}

impl Served {
    /// The answer to `request`, applied to the store. Additive writes are flushed before they
    /// are answered, so that an answered one is never sent again by a client.
    pub fn answer(&self, request: Request) -> Reply {
        let additive = request.is_additive_write();
        let reply = self.apply(request);
        if additive
            && matches!(reply, Reply::Done | Reply::Calibration { .. })
            && let Err(error) = self.store.flush()
        {
            return Reply::failed(&error);
        }
        reply
    }

    fn apply(&self, request: Request) -> Reply {
        let store = self.store.as_ref();
        let done = |result: Result<(), StoreError>| match result {
            Ok(()) => Reply::Done,
            Err(error) => Reply::failed(&error),
        };
        match request {
            Request::Hello { .. } => Reply::Failed {
                message: "hello was already said".to_string(),
                read_only: false,
            },
            Request::LoadFile { key } => match store.load_file(&FileKey::from(key)) {
                Ok(record) => Reply::File {
                    record: record.as_ref().map(records::to_record),
                },
                Err(error) => Reply::failed(&error),
            },
            Request::SaveFile { key, record } => {
                let key = FileKey::from(key);
                match records::from_record(record) {
                    Ok(record) => done(store.save_file(&key, &record)),
                    Err(reason) => Reply::failed(&StoreError::InvalidRecord {
                        target: format!("file {key}"),
                        reason,
                    }),
                }
            }
            Request::RemoveFile { key } => done(store.remove_file(&FileKey::from(key))),
            Request::Files => match store.files() {
                Ok(keys) => Reply::Files {
                    keys: keys.iter().map(WireKey::from).collect(),
                },
                Err(error) => Reply::failed(&error),
            },
            Request::FileSummaries { folder } => {
                let folder = folder.map(PathBuf::from);
                // The store moves each damaged record it meets aside and reports the first, then
                // lists the rest: read again here, so that the asking process, which cannot tell a
                // damaged record from any other failure, gets the files that can be read.
                let mut listed = store.file_summaries(folder.as_deref());
                for _ in 0..2 {
                    match &listed {
                        Err(error @ StoreError::Damaged { .. }) => {
                            tracing::warn!("listing the files: {error}");
                            listed = store.file_summaries(folder.as_deref());
                        }
                        _ => break,
                    }
                }
                match listed {
                    Ok(files) => Reply::FileSummaries {
                        files: files
                            .iter()
                            .map(|(key, summary)| {
                                (WireKey::from(key), records::summary_to_head(summary))
                            })
                            .collect(),
                    },
                    Err(error) => Reply::failed(&error),
                }
            }
            Request::RecordDismissal { key, dismissal } => {
                let key = FileKey::from(key);
                match records::dismissal_from_record(dismissal) {
                    Ok(dismissal) => done(store.record_dismissal(&key, &dismissal)),
                    Err(reason) => Reply::failed(&StoreError::InvalidRecord {
                        target: format!("a dismissal in file {key}"),
                        reason,
                    }),
                }
            }
            Request::Dismissals => match store.dismissals() {
                Ok(dismissals) => Reply::Dismissals {
                    dismissals: dismissals
                        .iter()
                        .map(|(key, dismissal)| {
                            (WireKey::from(key), records::dismissal_to_record(dismissal))
                        })
                        .collect(),
                },
                Err(error) => Reply::failed(&error),
            },
            Request::NextChunkId => number(store.next_chunk_id()),
            Request::ClaimChunkIds { count } if !(1..=MAX_CHUNK_IDS_PER_CLAIM).contains(&count) => {
                Reply::Failed {
                    message: format!(
                        "refusing to claim {count} chunk ids: a claim is of 1 to \
                         {MAX_CHUNK_IDS_PER_CLAIM} ids"
                    ),
                    read_only: false,
                }
            }
            Request::ClaimChunkIds { count } => number(store.claim_chunk_ids(count)),
            Request::CalibrationSessions => match store.calibration_sessions() {
                Ok(sessions) => Reply::Sessions {
                    sessions: sessions
                        .iter()
                        .map(records::calibration_session_to_record)
                        .collect(),
                },
                Err(error) => Reply::failed(&error),
            },
            Request::SaveCalibrationSession { session } => {
                match records::calibration_session_from_record(session) {
                    Ok(session) => done(store.save_calibration_session(&session)),
                    Err(reason) => Reply::failed(&StoreError::InvalidRecord {
                        target: "a calibration session".to_string(),
                        reason,
                    }),
                }
            }
            Request::ChangeCalibration { change } => self.change_calibration(&change),
            Request::AddActivity { days } => {
                let days: Result<Vec<_>, String> = days
                    .into_iter()
                    .map(records::day_activity_from_record)
                    .collect();
                match days {
                    Ok(days) => done(store.add_activity(&days)),
                    Err(reason) => Reply::failed(&StoreError::InvalidRecord {
                        target: "the activity ledger".to_string(),
                        reason,
                    }),
                }
            }
            Request::Activity { since_day } => match store.activity(since_day) {
                Ok(days) => Reply::Days {
                    days: days.iter().map(records::day_activity_to_record).collect(),
                },
                Err(error) => Reply::failed(&error),
            },
            Request::Setting { name } => match store.setting(&name) {
                Ok(value) => Reply::Setting { value },
                Err(error) => Reply::failed(&error),
            },
            Request::SetSetting { name, value } => done(store.set_setting(&name, &value)),
            Request::Declarations { key } => match store.declarations(&FileKey::from(key)) {
                Ok(declarations) => Reply::Declarations {
                    declarations: declarations
                        .iter()
                        .map(records::declaration_to_record)
                        .collect(),
                },
                Err(error) => Reply::failed(&error),
            },
            Request::Declare { key, declaration } => {
                let key = FileKey::from(key);
                match records::declaration_from_record(declaration) {
                    Ok(declaration) => match self.declare(&key, &declaration) {
                        Ok(added) => Reply::Number {
                            value: u64::from(added),
                        },
                        Err(error) => Reply::failed(&error),
                    },
                    Err(reason) => Reply::failed(&StoreError::InvalidRecord {
                        target: format!("a declaration in file {key}"),
                        reason,
                    }),
                }
            }
            Request::ConsumeDeclarations { key, ids } => {
                done(store.consume_declarations(&FileKey::from(key), &ids))
            }
            Request::Flush => done(store.flush()),
        }
    }

    /// Keeps a declaration and, when it is new, tells every window at once.
    pub fn declare(
        &self,
        key: &FileKey,
        declaration: &crate::core::declared::Declaration,
    ) -> Result<bool, StoreError> {
        let added = self.store.declare(key, declaration)?;
        if added {
            self.hub.publish(Notice::Declared {
                key: WireKey::from(key),
                declaration: records::declaration_to_record(declaration),
            });
        }
        Ok(added)
    }

    /// Applies a calibration change under the lock, and tells everyone when it matters.
    pub fn change_calibration(&self, change: &CalibrationChange) -> Reply {
        let outcome = {
            let _one_at_a_time = lock(&self.calibration_lock);
            self.store.change_calibration(change)
        };
        let announce = outcome
            .as_ref()
            .is_ok_and(|reply| change.is_announced(reply));
        let reply = calibration_reply(outcome);
        if announce {
            self.hub.publish(Notice::CalibrationChanged);
        }
        reply
    }
}

/// Whether the peer of a listener is still there. A listener sends nothing after its hello, so
/// anything to read (the end of input, or bytes it should not have sent) means it is gone or
/// misbehaving, and it is dropped: bytes waiting would otherwise make it look alive forever.
fn still_open(stream: &UnixStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut byte = 0u8;
    // SAFETY: a one-byte buffer, peeked without waiting; the stream's fd is open.
    let read = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    match read {
        0.. => false,
        _ => io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock,
    }
}

fn number(result: Result<u64, StoreError>) -> Reply {
    match result {
        Ok(value) => Reply::Number { value },
        Err(error) => Reply::failed(&error),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding it leaves plain data behind, still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The listening socket and its connections; [`Listener::stop`] ends them all.
pub struct Listener {
    path: PathBuf,
    stopped: Arc<AtomicBool>,
    connections: Arc<Mutex<Connections>>,
    threads: Arc<Mutex<Vec<std::thread::JoinHandle<()>>>>,
    served: Arc<Served>,
}

impl Listener {
    /// Listens on `path`, which only the lock holder may call. A stale socket left by a holder
    /// that died is replaced; anything else at that path is left alone and is an error.
    pub fn start(path: &Path, served: Arc<Served>) -> io::Result<Listener> {
        match std::fs::symlink_metadata(path) {
            Ok(metadata) if is_socket(&metadata) => std::fs::remove_file(path)?,
            Ok(metadata) => return Err(not_a_socket(path, &metadata)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        let listener = UnixListener::bind(path)?;
        set_owner_only(path)?;
        let stopped = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Connections::default()));
        let threads = Arc::new(Mutex::new(Vec::new()));
        let accepting = Accepting {
            stopped: stopped.clone(),
            connections: connections.clone(),
            threads: threads.clone(),
            served: served.clone(),
        };
        let accept_thread = std::thread::Builder::new()
            .name("whetstone-store-socket".to_string())
            .spawn(move || accepting.run(listener))?;
        lock(&threads).push(accept_thread);
        Ok(Listener {
            path: path.to_path_buf(),
            stopped,
            connections,
            threads,
            served,
        })
    }

    /// Stops listening, closes every connection, waits for their threads (so that the store is
    /// released when this returns) and removes the socket.
    pub fn stop(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wakes the accepting thread, which then sees `stopped`.
        let _ = UnixStream::connect(&self.path);
        let _ = std::fs::remove_file(&self.path);
        // The accepting thread first: no connection is added after it ended.
        let accept_thread = {
            let mut threads = lock(&self.threads);
            (!threads.is_empty()).then(|| threads.remove(0))
        };
        if let Some(thread) = accept_thread {
            let _ = thread.join();
        }
        lock(&self.connections).shut_down_all();
        self.served.hub.close_listeners();
        let threads: Vec<_> = lock(&self.threads).drain(..).collect();
        for thread in threads {
            let _ = thread.join();
        }
    }

    /// How many connections are being answered (listeners not included), for tests and the log.
    pub fn connection_count(&self) -> usize {
        lock(&self.connections).open.len()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The connections being answered, each with a clone of its stream so that [`Listener::stop`]
/// can shut it down from outside its thread. A connection's entry goes (and its clone is closed)
/// when its thread ends, so a connection that is over keeps no descriptor open in the holder.
#[derive(Default)]
struct Connections {
    open: HashMap<u64, OpenConnection>,
    /// Counts up at every connection and every request: a connection's number says when it was
    /// last active, and a new connection's number is its id.
    clock: u64,
}

struct OpenConnection {
    stream: UnixStream,
    last_active: u64,
}

impl Connections {
    /// Tracks `stream` (a clone of the one its thread answers on) and returns its id. At
    /// [`MAX_CONNECTIONS`], the connection that was idle longest is shut down first (its thread
    /// then ends, and forgets it).
    fn admit(&mut self, stream: UnixStream) -> u64 {
        while self.open.len() >= MAX_CONNECTIONS {
            let idlest = self
                .open
                .iter()
                .min_by_key(|(_, connection)| connection.last_active)
                .map(|(id, _)| *id);
            let Some(closed) = idlest.and_then(|id| self.open.remove(&id)) else {
                break;
            };
            let _ = closed.stream.shutdown(Shutdown::Both);
            tracing::warn!(
                "{MAX_CONNECTIONS} store connections are open: closed the one idle longest to \
                 make room"
            );
        }
        self.clock += 1;
        let id = self.clock;
        self.open.insert(
            id,
            OpenConnection {
                stream,
                last_active: id,
            },
        );
        id
    }

    fn touch(&mut self, id: u64) {
        self.clock += 1;
        if let Some(connection) = self.open.get_mut(&id) {
            connection.last_active = self.clock;
        }
    }

    fn shut_down_all(&self) {
        for connection in self.open.values() {
            let _ = connection.stream.shutdown(Shutdown::Both);
        }
    }
}

/// A connection's place in [`Connections`], held by its thread: dropping it (when the thread
/// ends, however it ends) forgets the connection and closes the clone kept there.
struct ConnectionSlot {
    id: u64,
    connections: Arc<Mutex<Connections>>,
}

impl ConnectionSlot {
    /// Marks the connection as active now.
    fn touch(&self) {
        lock(&self.connections).touch(self.id);
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        lock(&self.connections).open.remove(&self.id);
    }
}

struct Accepting {
    stopped: Arc<AtomicBool>,
    connections: Arc<Mutex<Connections>>,
    threads: Arc<Mutex<Vec<std::thread::JoinHandle<()>>>>,
    served: Arc<Served>,
}

impl Accepting {
    fn run(self, listener: UnixListener) {
        for stream in listener.incoming() {
            if self.stopped.load(Ordering::SeqCst) {
                return;
            }
            let stream = match stream {
                Ok(stream) => stream,
                Err(error) => {
                    tracing::warn!("the store socket could not accept a connection: {error}");
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            match peer_is_this_user(&stream) {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("refused a store connection from another user");
                    continue;
                }
                Err(error) => {
                    tracing::warn!("refused a store connection whose user is unknown: {error}");
                    continue;
                }
            }
            self.served.hub.forget_closed_listeners();
            // A connection that could not be shut down by `stop` is not answered at all.
            let clone = match stream.try_clone() {
                Ok(clone) => clone,
                Err(error) => {
                    tracing::warn!("refused a store connection that cannot be tracked: {error}");
                    continue;
                }
            };
            let slot = ConnectionSlot {
                id: lock(&self.connections).admit(clone),
                connections: self.connections.clone(),
            };
            let served = self.served.clone();
            let spawned = std::thread::Builder::new()
                .name("whetstone-store-peer".to_string())
                .spawn(move || answer_connection(stream, &served, &slot));
            // When the thread could not start, its closure (the stream and the slot) is dropped
            // here, which closes the connection and forgets it.
            match spawned {
                Ok(thread) => {
                    let mut threads = lock(&self.threads);
                    threads.retain(|thread| !thread.is_finished());
                    threads.push(thread);
                }
                Err(error) => tracing::warn!("cannot serve a store connection: {error}"),
            }
        }
    }
}

/// How a connection ended, when the peer did not simply close it between requests.
enum Ending {
    /// The peer broke the protocol: it is told nothing more, and the holder closes the
    /// connection (see [`close_gently`]).
    Misbehaved(String),
    /// Reading or writing failed: the peer went away mid-frame, or was silent past a timeout.
    Broken(io::Error),
}

impl From<io::Error> for Ending {
    fn from(error: io::Error) -> Ending {
        Ending::Broken(error)
    }
}

/// What a connection became after its hello.
enum Conversation {
    /// The peer closed it between requests.
    Over,
    /// The peer listens for notices: the stream goes to the [`Hub`].
    Listening,
}

/// Answers one connection in its own thread, and closes it when it ends.
fn answer_connection(mut stream: UnixStream, served: &Served, slot: &ConnectionSlot) {
    match converse(&mut stream, served, slot) {
        Ok(Conversation::Over) => {}
        Ok(Conversation::Listening) => served.hub.add_listener(stream),
        Err(Ending::Misbehaved(reason)) => {
            tracing::warn!("closed a store connection that {reason}");
            close_gently(&mut stream);
        }
        Err(Ending::Broken(error)) => tracing::debug!("a store connection ended: {error}"),
    }
}

/// One connection: hello, then requests answered in order until the peer closes it. A frame
/// that is not a request is answered with [`Reply::Failed`] and then ends the connection: a peer
/// that sends one is not speaking this protocol, and what it sends next cannot be trusted to be
/// framed where it seems to be.
fn converse(
    stream: &mut UnixStream,
    served: &Served,
    slot: &ConnectionSlot,
) -> Result<Conversation, Ending> {
    stream.set_read_timeout(Some(HELLO_TIMEOUT))?;
    let Some(body) = read_frame(stream)? else {
        return Ok(Conversation::Over);
    };
    let listen = match protocol::decode_request(&body) {
        Ok(Request::Hello {
            protocol: PROTOCOL_VERSION,
            listen,
            ..
        }) => listen,
        Ok(Request::Hello { protocol, .. }) => {
            let message = format!(
                "this store speaks protocol {PROTOCOL_VERSION}, not {protocol}: use the same \
                 whetstone in every editor"
            );
            protocol::write_frame(
                stream,
                &Reply::Failed {
                    message,
                    read_only: false,
                },
            )?;
            return Err(Ending::Misbehaved(format!(
                "speaks protocol {protocol}, not {PROTOCOL_VERSION}"
            )));
        }
        _ => return Err(Ending::Misbehaved("did not start with hello".to_string())),
    };
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    protocol::write_frame(
        stream,
        &Reply::Welcome {
            pid: std::process::id(),
            notice: served.notice.clone(),
        },
    )?;
    if listen {
        return Ok(Conversation::Listening);
    }
    while let Some(body) = read_frame(stream)? {
        slot.touch();
        let request = match protocol::decode_request(&body) {
            Ok(request) => request,
            Err(message) => {
                let reply = Reply::Failed {
                    message: message.clone(),
                    read_only: false,
                };
                protocol::write_frame(stream, &reply)?;
                return Err(Ending::Misbehaved(format!(
                    "sent something unreadable: {message}"
                )));
            }
        };
        protocol::write_frame(stream, &served.answer(request))?;
        slot.touch();
    }
    Ok(Conversation::Over)
}

/// [`protocol::read_frame`], with a frame over the limit taken as misbehaviour.
fn read_frame(stream: &mut UnixStream) -> Result<Option<Vec<u8>>, Ending> {
    protocol::read_frame(stream).map_err(|error| match error.kind() {
        io::ErrorKind::InvalidData => Ending::Misbehaved(format!("sent {error}")),
        _ => Ending::Broken(error),
    })
}

/// How long, and how much, a misbehaving peer's unread bytes are read and dropped at the end.
const DRAIN_FOR: Duration = Duration::from_millis(100);
const DRAIN_AT_MOST: usize = 1024 * 1024;

/// Closes a connection so that its peer reads everything it was sent and then the end of input.
/// Closing with the peer's bytes still unread would make its next read fail with "connection
/// reset" instead, so what it still sends is read and dropped first, for a moment only: it may
/// never stop sending.
fn close_gently(stream: &mut UnixStream) {
    use std::io::Read;
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = std::time::Instant::now() + DRAIN_FOR;
    let mut buffer = [0u8; 8 * 1024];
    let mut drained = 0;
    while drained < DRAIN_AT_MOST {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => drained += read,
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// The error for something other than a socket at the socket's path, which is left alone: it
/// says what is there and what to remove. The user reads it after "cannot serve the store on
/// <path>: ", as the reason the store is kept in memory only.
fn not_a_socket(path: &Path, metadata: &std::fs::Metadata) -> io::Error {
    let file_type = metadata.file_type();
    let (what, remove) = if file_type.is_symlink() {
        let target = std::fs::read_link(path)
            .map(|target| format!(" to {}", target.display()))
            .unwrap_or_default();
        (
            format!("a symbolic link{target}"),
            format!("remove the link {} (not what it points to)", path.display()),
        )
    } else if file_type.is_dir() {
        (
            "a folder".to_string(),
            format!(
                "move or remove the folder {} (look at what is in it first)",
                path.display()
            ),
        )
    } else if file_type.is_file() {
        (
            "a regular file".to_string(),
            format!("remove the file {}", path.display()),
        )
    } else {
        (
            "a named pipe or a device".to_string(),
            format!("remove {}", path.display()),
        )
    };
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{what} is there instead of the store's socket; whetstone did not put it there and \
             leaves it alone: {remove}, then try again"
        ),
    )
}

#[cfg(unix)]
fn is_socket(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    metadata.file_type().is_socket()
}

fn set_owner_only(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// Whether the process at the other end runs as this process's user.
#[cfg(target_os = "linux")]
fn peer_is_this_user(stream: &UnixStream) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    let mut credentials = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut length = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the buffer is a ucred and `length` says its size, as SO_PEERCRED asks.
    let status = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut credentials as *mut libc::ucred).cast(),
            &mut length,
        )
    };
    if status != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: geteuid cannot fail.
    Ok(credentials.uid == unsafe { libc::geteuid() })
}

#[cfg(all(unix, not(target_os = "linux")))]
fn peer_is_this_user(stream: &UnixStream) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    let mut uid: libc::uid_t = 0;
    let mut gid: libc::gid_t = 0;
    // SAFETY: both are plain out-parameters.
    let status = unsafe { libc::getpeereid(stream.as_raw_fd(), &mut uid, &mut gid) };
    if status != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: geteuid cannot fail.
    Ok(uid == unsafe { libc::geteuid() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use std::time::Instant;

    /// A holder's socket in a fresh folder, answering from memory.
    fn serving() -> (tempfile::TempDir, PathBuf, Listener) {
        let folder = tempfile::tempdir().expect("tempdir");
        let path = folder.path().join("store.sock");
        let served = Arc::new(Served {
            store: Arc::new(MemoryStore::new()),
            hub: Arc::new(Hub::new(Box::new(|_| {}))),
            calibration_lock: Mutex::new(()),
            notice: None,
        });
        let listener = Listener::start(&path, served).expect("listens");
        (folder, path, listener)
    }

    /// Connects and says hello; the holder's welcome has been read when this returns.
    fn say_hello(path: &Path, listen: bool) -> UnixStream {
        let mut stream = UnixStream::connect(path).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let hello = Request::Hello {
            protocol: PROTOCOL_VERSION,
            pid: 1,
            listen,
        };
        protocol::write_frame(&mut stream, &hello).expect("hello");
        let body = protocol::read_frame(&mut stream)
            .expect("reads")
            .expect("a welcome");
        assert!(matches!(
            protocol::decode_reply(&body),
            Ok(Reply::Welcome { .. })
        ));
        stream
    }

    fn ask(stream: &mut UnixStream, request: &Request) -> io::Result<Reply> {
        protocol::write_frame(stream, request)?;
        let body = protocol::read_frame(stream)?
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        protocol::decode_reply(&body).map_err(io::Error::other)
    }

    /// Waits (a few seconds at most) until `condition` holds.
    fn eventually(what: &str, condition: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !condition() {
            assert!(Instant::now() < deadline, "never happened: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Every accepted stream used to stay in a list pruned by `peer_addr()`, which a Unix socket
    /// answers long after its peer is gone: each connection kept a descriptor until the limit.
    #[test]
    fn a_connection_that_ended_keeps_no_descriptor() {
        let (_folder, path, listener) = serving();
        for _ in 0..300 {
            let mut stream = say_hello(&path, false);
            assert_eq!(
                ask(&mut stream, &Request::Files).ok(),
                Some(Reply::Files { keys: Vec::new() })
            );
        }
        let mut garbage = UnixStream::connect(&path).expect("connects");
        std::io::Write::write_all(&mut garbage, b"GET / HTTP/1.1\r\n\r\n").expect("writes");
        drop(garbage);
        eventually("every connection is forgotten", || {
            listener.connection_count() == 0
        });
        // More than the limit of connections have come and gone, and a new one is answered.
        let mut stream = say_hello(&path, false);
        assert_eq!(
            ask(&mut stream, &Request::NextChunkId).ok(),
            Some(Reply::Number { value: 1 })
        );
    }

    /// A listener that goes away sends nothing first, so it used to be noticed only when a notice
    /// failed to reach it or another listener came; one that sent bytes was never noticed at all.
    #[test]
    fn listeners_that_went_away_are_forgotten() {
        let (_folder, path, listener) = serving();
        let kept = say_hello(&path, true);
        for round in 0..20 {
            let mut gone = say_hello(&path, true);
            if round % 2 == 0 {
                std::io::Write::write_all(&mut gone, b"unasked").expect("writes");
            }
        }
        // The next connection to come in makes the holder look (the last listener may be handed
        // to the hub just after its welcome, so look again until it was).
        eventually("only the live listener is kept", || {
            drop(say_hello(&path, false));
            listener.served.hub.listener_count() == 1
        });
        drop(kept);
    }

    #[test]
    fn stop_ends_every_live_connection() {
        let (_folder, path, listener) = serving();
        let mut asking = say_hello(&path, false);
        let mut listening = say_hello(&path, true);
        listener.stop();
        for stream in [&mut asking, &mut listening] {
            assert!(matches!(protocol::read_frame(stream), Ok(None) | Err(_)));
        }
        assert_eq!(listener.connection_count(), 0);
        assert!(!path.exists());
    }

    /// The frames of `bodies`, each as the protocol frames it, in one piece.
    fn frames(bodies: &[&[u8]]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for body in bodies {
            bytes.extend_from_slice(&(body.len() as u32).to_be_bytes());
            bytes.extend_from_slice(body);
        }
        bytes
    }

    /// Everything the holder sends until it closes the connection; fails if it does not close
    /// it within a few seconds, or resets it instead of closing it.
    fn replies_until_closed(stream: &mut UnixStream) -> Vec<Reply> {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut replies = Vec::new();
        loop {
            match protocol::read_frame(stream) {
                Ok(Some(body)) => replies.push(protocol::decode_reply(&body).expect("a reply")),
                Ok(None) => return replies,
                Err(error) => {
                    panic!("the connection did not end cleanly: {error} after {replies:?}")
                }
            }
        }
    }

    const HELLO: &[u8] = br#"{"request":"hello","protocol":2,"pid":1,"listen":false}"#;

    /// An unreadable request used to get an error reply and the connection went on, so a peer
    /// sending garbage kept a thread and a descriptor for as long as it liked.
    #[test]
    fn an_unreadable_request_is_answered_then_the_connection_closed() {
        let (_folder, path, listener) = serving();
        let mut stream = UnixStream::connect(&path).expect("connects");
        let bytes = frames(&[
            HELLO,
            b"{\"request\":\"format_disk\"}",
            b"{\"request\":\"files\"}",
        ]);
        std::io::Write::write_all(&mut stream, &bytes).expect("writes");
        let replies = replies_until_closed(&mut stream);
        assert!(matches!(replies[0], Reply::Welcome { .. }), "{replies:?}");
        assert!(
            matches!(&replies[1], Reply::Failed { message, .. } if message.contains("not a store request")),
            "{replies:?}"
        );
        assert_eq!(
            replies.len(),
            2,
            "nothing is answered after it: {replies:?}"
        );
        eventually("the connection is forgotten", || {
            listener.connection_count() == 0
        });
    }

    #[test]
    fn a_frame_over_the_limit_closes_the_connection() {
        let (_folder, path, _listener) = serving();
        let mut stream = UnixStream::connect(&path).expect("connects");
        let mut bytes = frames(&[HELLO]);
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        bytes.extend_from_slice(b"{\"request\":");
        std::io::Write::write_all(&mut stream, &bytes).expect("writes");
        let replies = replies_until_closed(&mut stream);
        assert!(
            matches!(replies[..], [Reply::Welcome { .. }]),
            "{replies:?}"
        );
    }

    #[test]
    fn a_connection_that_does_not_start_with_hello_is_closed_unanswered() {
        let (_folder, path, _listener) = serving();
        let mut stream = UnixStream::connect(&path).expect("connects");
        let bytes = frames(&[b"{\"request\":\"files\"}", HELLO]);
        std::io::Write::write_all(&mut stream, &bytes).expect("writes");
        assert_eq!(replies_until_closed(&mut stream), Vec::new());
    }

    #[test]
    fn a_hello_of_another_protocol_is_answered_then_the_connection_closed() {
        let (_folder, path, _listener) = serving();
        let mut stream = UnixStream::connect(&path).expect("connects");
        let bytes = frames(&[
            br#"{"request":"hello","protocol":99,"pid":1,"listen":false}"#,
            b"{\"request\":\"files\"}",
        ]);
        std::io::Write::write_all(&mut stream, &bytes).expect("writes");
        let replies = replies_until_closed(&mut stream);
        assert!(
            matches!(&replies[..], [Reply::Failed { message, .. }] if message.contains("protocol 2, not 99")),
            "{replies:?}"
        );
    }

    /// At the limit a newcomer used to be refused, so idle connections locked every new window
    /// out: it ran in memory, told that only one process could use the store.
    #[test]
    fn at_the_limit_the_connection_idle_longest_makes_room() {
        let (_folder, path, listener) = serving();
        let mut idle: Vec<UnixStream> = (0..MAX_CONNECTIONS)
            .map(|_| say_hello(&path, false))
            .collect();
        // The first is the oldest, but active just now: the second is the one idle longest.
        assert!(ask(&mut idle[0], &Request::Files).is_ok());
        let mut newcomer = say_hello(&path, false);
        assert_eq!(
            ask(&mut newcomer, &Request::NextChunkId).ok(),
            Some(Reply::Number { value: 1 })
        );
        idle[1]
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        assert!(matches!(protocol::read_frame(&mut idle[1]), Ok(None)));
        assert!(ask(&mut idle[0], &Request::Files).is_ok());
        assert!(listener.connection_count() <= MAX_CONNECTIONS);
    }

    #[test]
    fn at_the_limit_the_oldest_listener_makes_room() {
        let (_folder, path, listener) = serving();
        let mut listening: Vec<UnixStream> = (0..MAX_CONNECTIONS)
            .map(|_| say_hello(&path, true))
            .collect();
        eventually("every listener is kept", || {
            listener.served.hub.listener_count() == MAX_CONNECTIONS
        });
        let _newcomer = say_hello(&path, true);
        listening[0]
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        assert!(matches!(protocol::read_frame(&mut listening[0]), Ok(None)));
        assert_eq!(listener.served.hub.listener_count(), MAX_CONNECTIONS);
    }

    /// The client's half of making room: its connection closed, its next call finds the holder
    /// again (a call that fails is taken for a lost holder), and a new window is not locked out.
    #[test]
    fn a_client_whose_idle_connection_made_room_is_answered_at_its_next_call() {
        use crate::store::shared::{SharedStore, socket_path};
        let folder = tempfile::tempdir().expect("tempdir");
        let holder = SharedStore::connect(folder.path(), |_| {}).expect("holds");
        let client = SharedStore::connect(folder.path(), |_| {}).expect("connects");
        assert!(holder.is_holder() && !client.is_holder());
        client.set_setting("kept", "yes").expect("set");
        client.flush().expect("flush");
        // The client's connection is now the one idle longest: every place after it is taken.
        let socket = socket_path(folder.path());
        let _idle: Vec<UnixStream> = (0..MAX_CONNECTIONS)
            .map(|_| say_hello(&socket, false))
            .collect();
        let window = SharedStore::connect(folder.path(), |_| {}).expect("a new window connects");
        assert!(!window.is_holder());
        assert_eq!(
            window.setting("kept").expect("read"),
            Some("yes".to_string())
        );
        assert_eq!(
            client.setting("kept").expect("read again"),
            Some("yes".to_string())
        );
        client.set_setting("later", "also").expect("write again");
        client.flush().expect("flush again");
        assert!(!client.is_holder());
        assert_eq!(
            holder.setting("later").expect("read"),
            Some("also".to_string())
        );
    }

    /// A count of 2^64-1 pushed the counter to its end, and every later chunk shared one id.
    #[test]
    fn a_claim_of_chunk_ids_out_of_bounds_is_refused() {
        let served = Served {
            store: Arc::new(MemoryStore::new()),
            hub: Arc::new(Hub::new(Box::new(|_| {}))),
            calibration_lock: Mutex::new(()),
            notice: None,
        };
        for count in [0, MAX_CHUNK_IDS_PER_CLAIM + 1, u64::MAX] {
            let reply = served.answer(Request::ClaimChunkIds { count });
            assert!(
                matches!(&reply, Reply::Failed { message, .. }
                    if message.contains(&format!("refusing to claim {count} chunk ids"))),
                "{reply:?}"
            );
        }
        assert_eq!(
            served.answer(Request::ClaimChunkIds {
                count: MAX_CHUNK_IDS_PER_CLAIM
            }),
            Reply::Number { value: 1 }
        );
        assert_eq!(
            served.answer(Request::ClaimChunkIds { count: 1 }),
            Reply::Number {
                value: MAX_CHUNK_IDS_PER_CLAIM + 1
            }
        );
    }

    /// Something planted at the socket's path was refused with "exists and is not a socket",
    /// which did not say what to do about it.
    #[test]
    fn something_else_at_the_socket_path_is_left_alone_and_named_with_what_to_remove() {
        let folder = tempfile::tempdir().expect("tempdir");
        let served = || {
            Arc::new(Served {
                store: Arc::new(MemoryStore::new()),
                hub: Arc::new(Hub::new(Box::new(|_| {}))),
                calibration_lock: Mutex::new(()),
                notice: None,
            })
        };
        let file = folder.path().join("file.sock");
        std::fs::write(&file, b"mine").expect("write");
        let link = folder.path().join("link.sock");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        let directory = folder.path().join("folder.sock");
        std::fs::create_dir(&directory).expect("mkdir");
        let told = |what: &str, remove: String| {
            format!(
                "{what} is there instead of the store's socket; whetstone did not put it there \
                 and leaves it alone: {remove}, then try again"
            )
        };
        for (path, expected) in [
            (
                &file,
                told(
                    "a regular file",
                    format!("remove the file {}", file.display()),
                ),
            ),
            (
                &link,
                told(
                    &format!("a symbolic link to {}", file.display()),
                    format!("remove the link {} (not what it points to)", link.display()),
                ),
            ),
            (
                &directory,
                told(
                    "a folder",
                    format!(
                        "move or remove the folder {} (look at what is in it first)",
                        directory.display()
                    ),
                ),
            ),
        ] {
            let Err(error) = Listener::start(path, served()) else {
                panic!("{} was taken for a socket", path.display());
            };
            assert_eq!(error.to_string(), expected);
        }
        assert_eq!(std::fs::read(&link).expect("still there"), b"mine");
        assert!(directory.is_dir());
    }

    #[test]
    fn the_user_is_told_what_to_remove_at_the_socket_path() {
        use crate::store::shared::{SharedStore, socket_path};
        let folder = tempfile::tempdir().expect("tempdir");
        let socket = socket_path(folder.path());
        std::fs::write(&socket, b"planted").expect("write");
        let Err(failure) = SharedStore::connect(folder.path(), |_| {}) else {
            panic!("served the store over a regular file");
        };
        let message = failure.user_message();
        assert!(
            message.contains(&format!(
                "cannot serve the store on {0}: a regular file is there instead of the store's \
                 socket; whetstone did not put it there and leaves it alone: remove the file {0}, \
                 then try again",
                socket.display()
            )),
            "{message}"
        );
        assert_eq!(std::fs::read(&socket).expect("left alone"), b"planted");
    }
}
