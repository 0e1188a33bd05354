//! One store for every process of the user: [`SharedStore`] is the [`Store`] each language server
//! and command uses. sled lets one process open the database; that process is the *holder* and
//! serves the others over the store socket ([`serve`]); the others are *clients* and send it
//! their calls ([`protocol`]). Which one holds is decided by sled's lock alone: whoever opens the
//! database holds it, everyone else connects.
//!
//! When the holder exits or dies, its clients notice (their listening connection closes, or a
//! call fails) and each tries again: the first to open the database becomes the new holder, the
//! others connect to it. A client keeps every write that is safe to send twice until a flush of
//! the holder acknowledged it, and sends them all again to the new holder, so nothing acknowledged
//! is lost and nothing unacknowledged is lost either. A client with no holder at all (between
//! two, for a moment) queues its writes and sends them when it is connected again; reads fail
//! until then.
//!
//! [`serve`]: crate::store::serve

use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::core::activity::DayActivity;
use crate::core::calibration::CalibrationSession;
use crate::core::engine::Dismissal;
use crate::store::calibration::{CalibrationChange, CalibrationError, CalibrationReply};
use crate::store::protocol::{self, Notice, PROTOCOL_VERSION, Reply, Request};
use crate::store::serve::{Hub, Listener, Served};
use crate::store::{FileKey, FileRecord, OpenFailure, Store, StoreError, records};

/// The socket's name in the store folder.
pub const SOCKET_NAME: &str = "store.sock";

/// How long [`SharedStore::connect`] and a failover look for a holder before giving up.
const FIND_HOLDER_FOR: Duration = Duration::from_secs(5);
/// Between two tries to find a holder.
const RETRY_EVERY: Duration = Duration::from_millis(20);
/// A client with writes waiting for a flush asks for one after this long.
const FLUSH_PENDING_AFTER: Duration = Duration::from_secs(1);
/// A holder that takes longer than this to answer is taken for gone.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// The store shared by every process of the user; see the module comment.
pub struct SharedStore {
    folder: PathBuf,
    socket: PathBuf,
    role: Mutex<Role>,
    hub: Arc<Hub>,
    /// Set by [`SharedStore::connect`]: the listening thread reconnects through it.
    this: Weak<SharedStore>,
    /// What the user must be told once (a fresh store after a damaged one, a read-only store).
    notice: Mutex<Option<String>>,
}

enum Role {
    /// This process holds the database and serves the others.
    Holder {
        served: Arc<Served>,
        _listener: Listener,
    },
    /// Another process holds it; calls go over `link`.
    Client { link: UnixStream, pending: Pending },
    /// No holder could be reached: writes wait here. `tried` is the last look for one (None: look
    /// at the next call).
    Between {
        pending: Pending,
        tried: Option<Instant>,
    },
    /// Only while a role is being replaced.
    Replacing,
}

/// Writes a client sent (or could not send yet) that no flush has acknowledged.
#[derive(Default)]
struct Pending {
    writes: Vec<Request>,
    oldest: Option<Instant>,
}

impl Pending {
    fn push(&mut self, request: Request) {
        // A later save of the same file replaces an earlier one (they are whole records).
        if let Some(key) = request.replaced_file() {
            let key = key.clone();
            self.writes
                .retain(|earlier| earlier.replaced_file() != Some(&key));
        }
        self.writes.push(request);
        self.oldest.get_or_insert_with(Instant::now);
    }

    fn acknowledged(&mut self) {
        self.writes.clear();
        self.oldest = None;
    }
}

impl SharedStore {
    /// The store in `folder`, held by this process or reached through the one that holds it.
    /// `on_notice` hears what other processes changed (and a reconnection, after which anything
    /// may have changed); it must not call back into the store.
    pub fn connect(
        folder: &Path,
        on_notice: impl Fn(Notice) + Send + Sync + 'static,
    ) -> Result<Arc<SharedStore>, OpenFailure> {
        super::prepare_folder(folder)?;
        let socket = socket_path(folder);
        let hub = Arc::new(Hub::new(Box::new(on_notice)));
        let deadline = Instant::now() + FIND_HOLDER_FOR;
        let role = loop {
            match find_holder(folder, &socket, &hub) {
                Ok(found) => break found,
                Err(Failure::Open(failure)) => return Err(failure),
                Err(Failure::NoHolder(reason)) if Instant::now() >= deadline => {
                    tracing::warn!("no process serves the locked store: {reason}");
                    return Err(OpenFailure::Locked {
                        path: folder.to_path_buf(),
                    });
                }
                Err(Failure::NoHolder(_)) => std::thread::sleep(RETRY_EVERY),
            }
        };
        let (role, notice) = role;
        Ok(Arc::new_cyclic(|this| SharedStore {
            folder: folder.to_path_buf(),
            socket,
            role: Mutex::new(role),
            hub,
            this: this.clone(),
            notice: Mutex::new(notice),
        }))
        .inspect(|store| store.listen_if_client())
    }

    /// What the user must be told once, if anything.
    pub fn take_notice(&self) -> Option<String> {
        lock(&self.notice).take()
    }

    /// Whether this process holds the database (for tests and the log).
    pub fn is_holder(&self) -> bool {
        matches!(*lock(&self.role), Role::Holder { .. })
    }

    /// Who holds the store, in words for the log.
    pub fn describe(&self) -> String {
        match &*lock(&self.role) {
            Role::Holder { .. } => "this process holds the store".to_string(),
            Role::Client { .. } => "another process holds the store".to_string(),
            Role::Between { .. } | Role::Replacing => {
                "looking for the process that holds the store".to_string()
            }
        }
    }

    /// Starts the thread that hears the holder's notices (clients only).
    fn listen_if_client(&self) {
        if !matches!(*lock(&self.role), Role::Client { .. }) {
            return;
        }
        let stream = match hello(&self.socket, true) {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!("cannot listen to the store's holder: {error}");
                return;
            }
        };
        let this = self.this.clone();
        let hub = self.hub.clone();
        let spawned = std::thread::Builder::new()
            .name("whetstone-store-notices".to_string())
            .spawn(move || {
                let mut stream = stream;
                loop {
                    match protocol::read_frame(&mut stream) {
                        Ok(Some(body)) => match serde_json::from_slice::<Notice>(&body) {
                            Ok(notice) => hub.tell_local(notice),
                            Err(error) => tracing::warn!("an unreadable store notice: {error}"),
                        },
                        // The holder is gone: find the next one now, not at the next call.
                        Ok(None) | Err(_) => {
                            if let Some(store) = this.upgrade() {
                                store.holder_lost();
                            }
                            return;
                        }
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::warn!("cannot listen to the store's holder: {error}");
        }
    }

    /// The holder closed our listening connection: replace it.
    fn holder_lost(&self) {
        let mut role = lock(&self.role);
        if lose_holder(&mut role, None) {
            tracing::info!("the process holding the store is gone; finding the next one");
            drop(role);
            self.failover(FIND_HOLDER_FOR);
        }
    }

    /// Tries to leave [`Role::Between`] for `within`: becomes the holder or connects to it, and
    /// sends every pending write. Returns the replies to the pending writes, in order, when it
    /// succeeded.
    fn failover(&self, within: Duration) -> Option<Vec<Reply>> {
        let mut role = lock(&self.role);
        let replies = self.failover_locked(&mut role, within);
        let became_client = replies.is_some() && matches!(*role, Role::Client { .. });
        drop(role);
        if replies.is_some() {
            if became_client {
                self.listen_if_client();
            }
            // Anything may have changed while no holder was there.
            self.hub.tell_local(Notice::CalibrationChanged);
        }
        replies
    }

    fn failover_locked(
        &self,
        role: &mut MutexGuard<'_, Role>,
        within: Duration,
    ) -> Option<Vec<Reply>> {
        let Role::Between { .. } = &**role else {
            return Some(Vec::new());
        };
        let deadline = Instant::now() + within;
        loop {
            match find_holder(&self.folder, &self.socket, &self.hub) {
                Ok((found, notice)) => {
                    if notice.is_some() {
                        *lock(&self.notice) = notice;
                    }
                    let Role::Between { mut pending, .. } =
                        std::mem::replace(&mut **role, Role::Replacing)
                    else {
                        unreachable!("checked above");
                    };
                    let mut found = found;
                    match replay(&mut found, &mut pending) {
                        Ok(replies) => {
                            tracing::info!(
                                "the store is reachable again; {} waiting writes sent",
                                replies.len()
                            );
                            if let Role::Client { pending: kept, .. } = &mut found {
                                *kept = pending;
                            }
                            **role = found;
                            return Some(replies);
                        }
                        Err(error) => {
                            tracing::warn!(
                                "the new store holder went away during a replay: {error}"
                            );
                            **role = Role::Between {
                                pending,
                                tried: Some(Instant::now()),
                            };
                        }
                    }
                }
                Err(Failure::Open(failure)) => {
                    tracing::warn!("cannot take over the store: {failure}");
                    if let Role::Between { tried, .. } = &mut **role {
                        *tried = Some(Instant::now());
                    }
                    return None;
                }
                Err(Failure::NoHolder(_)) => {}
            }
            if Instant::now() >= deadline {
                if let Role::Between { tried, .. } = &mut **role {
                    *tried = Some(Instant::now());
                }
                return None;
            }
            std::thread::sleep(RETRY_EVERY);
        }
    }

    /// Sends `request` to the store and returns its reply; see the module comment for what
    /// happens when the holder is gone.
    fn call(&self, request: Request) -> Result<Reply, StoreError> {
        let mut role = lock(&self.role);
        match &mut *role {
            Role::Holder { served, .. } => {
                let served = served.clone();
                drop(role);
                Ok(served.answer(request))
            }
            Role::Client { link, pending } => {
                let keep = request.is_idempotent_write();
                if keep {
                    pending.push(request.clone());
                }
                match exchange(link, &request) {
                    Ok(reply) => {
                        let flushed = matches!(request, Request::Flush) && reply == Reply::Done;
                        let flush_due = pending
                            .oldest
                            .is_some_and(|oldest| oldest.elapsed() >= FLUSH_PENDING_AFTER);
                        if flushed
                            || (flush_due
                                && matches!(exchange(link, &Request::Flush), Ok(Reply::Done)))
                        {
                            pending.acknowledged();
                        }
                        Ok(reply)
                    }
                    Err(error) => {
                        tracing::warn!("the store's holder did not answer: {error}");
                        // Sent without an answer: an additive write is sent again (it may count
                        // twice, never zero times); a kept one is already pending.
                        let resend = request.is_additive_write().then(|| request.clone());
                        lose_holder(&mut role, resend);
                        drop(role);
                        self.after_failover(request, keep)
                    }
                }
            }
            Role::Between { pending, tried } => {
                if tried.is_some_and(|tried| tried.elapsed() < RETRY_EVERY * 10) {
                    return queue_or_refuse(pending, request);
                }
                drop(role);
                self.after_failover_or_queue(request)
            }
            Role::Replacing => unreachable!("never left in place"),
        }
    }

    /// A call whose request went into `pending` (or not) before the holder was lost.
    fn after_failover(&self, request: Request, already_pending: bool) -> Result<Reply, StoreError> {
        let sent_again = already_pending || request.is_additive_write();
        match self.failover(FIND_HOLDER_FOR) {
            // The request was among those sent again: its reply is the last.
            Some(mut replies) if sent_again => Ok(replies.pop().unwrap_or(Reply::Done)),
            Some(_) => self.call(request),
            None if sent_again => Ok(Reply::Done),
            None => Err(StoreError::Unavailable(
                "no process holds the store right now".to_string(),
            )),
        }
    }

    fn after_failover_or_queue(&self, request: Request) -> Result<Reply, StoreError> {
        if self.failover(Duration::ZERO).is_some() {
            return self.call(request);
        }
        // The role lock is released before calling again: `call` takes it itself, and another
        // thread may have found a holder meanwhile (holding it here deadlocked for good).
        let request = {
            let mut role = lock(&self.role);
            match &mut *role {
                Role::Between { pending, .. } => return queue_or_refuse(pending, request),
                _ => request,
            }
        };
        self.call(request)
    }

    /// The store this process holds, for calls that need not go through a request.
    fn held(&self) -> Option<Arc<Served>> {
        match &*lock(&self.role) {
            Role::Holder { served, .. } => Some(served.clone()),
            _ => None,
        }
    }

    /// Sends `request` and reads its reply with `decode`, whose last arm turns any other reply
    /// (a failure included) into its error with [`Reply::into_error`].
    fn remote<T>(
        &self,
        request: Request,
        decode: impl FnOnce(Reply) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        decode(self.call(request)?)
    }

    fn remote_done(&self, request: Request) -> Result<(), StoreError> {
        self.remote(request, |reply| match reply {
            Reply::Done => Ok(()),
            other => Err(other.into_error()),
        })
    }
}

/// A client's holder is gone: its pending writes (and `resend`) wait for the next one. False when
/// `role` was not a client.
fn lose_holder(role: &mut Role, resend: Option<Request>) -> bool {
    let Role::Client { .. } = role else {
        return false;
    };
    let Role::Client { mut pending, .. } = std::mem::replace(role, Role::Replacing) else {
        unreachable!("checked just above");
    };
    if let Some(request) = resend {
        pending.push(request);
    }
    *role = Role::Between {
        pending,
        tried: None,
    };
    true
}

/// Queues a write while no holder is there; everything else must wait for one.
fn queue_or_refuse(pending: &mut Pending, request: Request) -> Result<Reply, StoreError> {
    let queued = match &request {
        // A calibration change is the user's answer to a command: it is not said to be done
        // before a holder did it.
        Request::ChangeCalibration {
            change: CalibrationChange::Progress { .. },
        } => true,
        Request::ChangeCalibration { .. } => false,
        request => request.is_idempotent_write() || request.is_additive_write(),
    };
    if queued {
        pending.push(request);
        Ok(Reply::Done)
    } else {
        Err(StoreError::Unavailable(
            "no process holds the store right now; try again in a moment".to_string(),
        ))
    }
}

/// Sends every pending write to the role just found, in order.
fn replay(role: &mut Role, pending: &mut Pending) -> io::Result<Vec<Reply>> {
    let mut replies = Vec::with_capacity(pending.writes.len());
    match role {
        Role::Holder { served, .. } => {
            for request in &pending.writes {
                replies.push(served.answer(request.clone()));
            }
            if let Err(error) = served.store.flush() {
                tracing::warn!("cannot flush the writes sent again: {error}");
            }
            pending.acknowledged();
        }
        Role::Client { link, .. } => {
            for request in &pending.writes {
                replies.push(exchange(link, request)?);
            }
            if exchange(link, &Request::Flush)? == Reply::Done {
                pending.acknowledged();
            }
        }
        Role::Between { .. } | Role::Replacing => {}
    }
    for reply in &replies {
        if let Reply::Failed { message, .. } = reply {
            tracing::warn!("a write sent again was refused: {message}");
        }
    }
    Ok(replies)
}

enum Failure {
    /// The database cannot be opened for a reason other than another process holding it.
    Open(OpenFailure),
    /// Another process holds it and does not answer (yet).
    NoHolder(String),
}

/// Opens the database (and serves it), or else connects to the process that holds it.
fn find_holder(
    folder: &Path,
    socket: &Path,
    hub: &Arc<Hub>,
) -> Result<(Role, Option<String>), Failure> {
    match super::open(folder) {
        Ok(opened) => {
            let read_only = opened.store.newer_schema().is_some();
            let served = Arc::new(Served {
                store: Arc::new(opened.store),
                hub: hub.clone(),
                calibration_lock: Mutex::new(()),
                notice: opened.notice.clone().filter(|_| read_only),
            });
            let listener = Listener::start(socket, served.clone()).map_err(|error| {
                Failure::Open(OpenFailure::Io {
                    path: folder.to_path_buf(),
                    source: io::Error::new(
                        error.kind(),
                        format!("cannot serve the store on {}: {error}", socket.display()),
                    ),
                })
            })?;
            tracing::info!("holding the store in {}", folder.display());
            Ok((
                Role::Holder {
                    served,
                    _listener: listener,
                },
                opened.notice,
            ))
        }
        Err(OpenFailure::Locked { .. }) => match hello(socket, false) {
            Ok((link, notice)) => Ok((
                Role::Client {
                    link,
                    pending: Pending::default(),
                },
                notice,
            )),
            Err(error) => Err(Failure::NoHolder(error.to_string())),
        },
        Err(failure) => Err(Failure::Open(failure)),
    }
}

/// Connects to the holder and says hello; returns the connection and the holder's notice.
fn hello(socket: &Path, listen: bool) -> io::Result<(UnixStream, Option<String>)> {
    let mut link = UnixStream::connect(socket)?;
    link.set_read_timeout(Some(ANSWER_WITHIN))?;
    link.set_write_timeout(Some(ANSWER_WITHIN))?;
    let reply = exchange(
        &mut link,
        &Request::Hello {
            protocol: PROTOCOL_VERSION,
            pid: std::process::id(),
            listen,
        },
    )?;
    match reply {
        Reply::Welcome { notice, .. } => {
            if listen {
                // Notices come whenever they come.
                link.set_read_timeout(None)?;
            }
            Ok((link, notice))
        }
        Reply::Failed { message, .. } => Err(io::Error::other(message)),
        other => Err(io::Error::other(format!(
            "unexpected hello answer {other:?}"
        ))),
    }
}

/// One request and its reply.
fn exchange(link: &mut UnixStream, request: &Request) -> io::Result<Reply> {
    protocol::write_frame(link, request)?;
    let body = protocol::read_frame(link)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "the holder closed"))?;
    protocol::decode_reply(&body).map_err(io::Error::other)
}

/// `<folder>/store.sock`, or, when that path is too long for a Unix socket (about 100 bytes), a
/// name in the user's runtime folder derived from the store folder.
pub fn socket_path(folder: &Path) -> PathBuf {
    let path = folder.join(SOCKET_NAME);
    if path.as_os_str().len() < 100 {
        return path;
    }
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|runtime| runtime.is_absolute())
        .unwrap_or_else(std::env::temp_dir);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in folder.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    runtime.join(format!("whetstone-{hash:016x}.sock"))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn bad_record(what: &str, reason: String) -> StoreError {
    StoreError::Unavailable(format!(
        "the store's holder sent an unreadable {what}: {reason}"
    ))
}

impl Store for SharedStore {
    fn load_file(&self, key: &FileKey) -> Result<Option<FileRecord>, StoreError> {
        if let Some(served) = self.held() {
            return served.store.load_file(key);
        }
        self.remote(Request::LoadFile { key: key.into() }, |reply| match reply {
            Reply::File { record } => record
                .map(records::from_record)
                .transpose()
                .map_err(|reason| bad_record("file record", reason)),
            other => Err(other.into_error()),
        })
    }

    fn save_file(&self, key: &FileKey, record: &FileRecord) -> Result<(), StoreError> {
        if let Some(served) = self.held() {
            return served.store.save_file(key, record);
        }
        self.remote_done(Request::SaveFile {
            key: key.into(),
            record: records::to_record(record),
        })
    }

    fn remove_file(&self, key: &FileKey) -> Result<(), StoreError> {
        if let Some(served) = self.held() {
            return served.store.remove_file(key);
        }
        self.remote_done(Request::RemoveFile { key: key.into() })
    }

    fn files(&self) -> Result<Vec<FileKey>, StoreError> {
        if let Some(served) = self.held() {
            return served.store.files();
        }
        self.remote(Request::Files, |reply| match reply {
            Reply::Files { keys } => Ok(keys.into_iter().map(FileKey::from).collect()),
            other => Err(other.into_error()),
        })
    }

    fn record_dismissal(&self, key: &FileKey, dismissal: &Dismissal) -> Result<(), StoreError> {
        if let Some(served) = self.held() {
            return served.store.record_dismissal(key, dismissal);
        }
        self.remote_done(Request::RecordDismissal {
            key: key.into(),
            dismissal: records::dismissal_to_record(dismissal),
        })
    }

    fn dismissals(&self) -> Result<Vec<(FileKey, Dismissal)>, StoreError> {
        if let Some(served) = self.held() {
            return served.store.dismissals();
        }
        self.remote(Request::Dismissals, |reply| match reply {
            Reply::Dismissals { dismissals } => dismissals
                .into_iter()
                .map(|(key, dismissal)| {
                    records::dismissal_from_record(dismissal)
                        .map(|dismissal| (FileKey::from(key), dismissal))
                        .map_err(|reason| bad_record("dismissal", reason))
                })
                .collect(),
            other => Err(other.into_error()),
        })
    }

    fn next_chunk_id(&self) -> Result<u64, StoreError> {
        if let Some(served) = self.held() {
            return served.store.next_chunk_id();
        }
        self.remote(Request::NextChunkId, number)
    }

    fn calibration_sessions(&self) -> Result<Vec<CalibrationSession>, StoreError> {
        if let Some(served) = self.held() {
            return served.store.calibration_sessions();
        }
        self.remote(Request::CalibrationSessions, |reply| match reply {
            Reply::Sessions { sessions } => sessions
                .into_iter()
                .map(|session| {
                    records::calibration_session_from_record(session)
                        .map_err(|reason| bad_record("calibration session", reason))
                })
                .collect(),
            other => Err(other.into_error()),
        })
    }

    fn save_calibration_session(&self, session: &CalibrationSession) -> Result<(), StoreError> {
        if let Some(served) = self.held() {
            return served.store.save_calibration_session(session);
        }
        self.remote_done(Request::SaveCalibrationSession {
            session: records::calibration_session_to_record(session),
        })
    }

    fn add_activity(&self, days: &[DayActivity]) -> Result<(), StoreError> {
        if let Some(served) = self.held() {
            return served.store.add_activity(days);
        }
        self.remote_done(Request::AddActivity {
            days: days.iter().map(records::day_activity_to_record).collect(),
        })
    }

    fn activity(&self, since_day: u32) -> Result<Vec<DayActivity>, StoreError> {
        if let Some(served) = self.held() {
            return served.store.activity(since_day);
        }
        self.remote(Request::Activity { since_day }, |reply| match reply {
            Reply::Days { days } => days
                .into_iter()
                .map(|day| {
                    records::day_activity_from_record(day)
                        .map_err(|reason| bad_record("day of activity", reason))
                })
                .collect(),
            other => Err(other.into_error()),
        })
    }

    fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        if let Some(served) = self.held() {
            return served.store.setting(name);
        }
        self.remote(
            Request::Setting {
                name: name.to_string(),
            },
            |reply| match reply {
                Reply::Setting { value } => Ok(value),
                other => Err(other.into_error()),
            },
        )
    }

    fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        if let Some(served) = self.held() {
            return served.store.set_setting(name, value);
        }
        self.remote_done(Request::SetSetting {
            name: name.to_string(),
            value: value.to_string(),
        })
    }

    fn flush(&self) -> Result<(), StoreError> {
        if let Some(served) = self.held() {
            return served.store.flush();
        }
        self.remote_done(Request::Flush)
    }

    fn location(&self) -> Option<&Path> {
        Some(&self.folder)
    }

    fn claim_chunk_ids(&self, count: u64) -> Result<u64, StoreError> {
        if let Some(served) = self.held() {
            return served.store.claim_chunk_ids(count);
        }
        self.remote(Request::ClaimChunkIds { count }, number)
    }

    fn change_calibration(
        &self,
        change: &CalibrationChange,
    ) -> Result<CalibrationReply, CalibrationError> {
        let reply = match self.held() {
            Some(served) => served.change_calibration(change),
            None => self.call(Request::ChangeCalibration {
                change: change.clone(),
            })?,
        };
        protocol::calibration_outcome(reply)
    }
}

fn number(reply: Reply) -> Result<u64, StoreError> {
    match reply {
        Reply::Number { value } => Ok(value),
        other => Err(other.into_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::calibration::CalibrationChange;
    use crate::store::tests::{key, record_with_chunk};
    use std::sync::mpsc;

    fn connect(folder: &Path) -> (Arc<SharedStore>, mpsc::Receiver<Notice>) {
        let (sender, notices) = mpsc::channel();
        let store = SharedStore::connect(folder, move |notice| {
            let _ = sender.send(notice);
        })
        .expect("connects");
        (store, notices)
    }

    #[test]
    fn the_second_process_is_a_client_of_the_first() {
        let folder = tempfile::tempdir().expect("tempdir");
        let (holder, holder_notices) = connect(folder.path());
        let (client, client_notices) = connect(folder.path());
        assert!(holder.is_holder());
        assert!(!client.is_holder());

        client
            .save_file(&key("/w", "a.rs"), &record_with_chunk(4, 7))
            .expect("save through the holder");
        client.flush().expect("flush");
        assert_eq!(
            holder.load_file(&key("/w", "a.rs")).expect("load"),
            Some(record_with_chunk(4, 7))
        );
        // Both claim chunk ids from one counter.
        let first = holder.claim_chunk_ids(10).expect("claim");
        let second = client.claim_chunk_ids(10).expect("claim");
        assert!(second >= first + 10, "{first} then {second}");

        // A session started by the client is announced to the holder's process and the client's.
        let started = client
            .change_calibration(&CalibrationChange::Start {
                label: Some("x".to_string()),
                minutes: None,
                at_ms: 1_000,
            })
            .expect("start");
        assert!(matches!(started, CalibrationReply::Started(_)));
        let wait = Duration::from_secs(5);
        assert_eq!(
            holder_notices.recv_timeout(wait),
            Ok(Notice::CalibrationChanged)
        );
        assert_eq!(
            client_notices.recv_timeout(wait),
            Ok(Notice::CalibrationChanged)
        );
        // A second start, from the holder, is refused: one session runs.
        let again = holder.change_calibration(&CalibrationChange::Start {
            label: None,
            minutes: None,
            at_ms: 2_000,
        });
        assert!(matches!(
            again,
            Err(CalibrationError::AlreadyRunning { since_ms: 1_000 })
        ));
    }

    #[test]
    fn a_client_takes_over_when_the_holder_goes() {
        let folder = tempfile::tempdir().expect("tempdir");
        let (holder, _) = connect(folder.path());
        let (client, client_notices) = connect(folder.path());
        client
            .save_file(&key("/w", "a.rs"), &record_with_chunk(4, 7))
            .expect("save");
        drop(holder);
        // The client hears that the holder went, takes the store over and says so.
        assert_eq!(
            client_notices.recv_timeout(Duration::from_secs(10)),
            Ok(Notice::CalibrationChanged)
        );
        client
            .save_file(&key("/w", "b.rs"), &record_with_chunk(5, 9))
            .expect("save after the takeover");
        assert!(client.is_holder());
        assert_eq!(
            client.load_file(&key("/w", "a.rs")).expect("load"),
            Some(record_with_chunk(4, 7))
        );
        assert_eq!(
            client.load_file(&key("/w", "b.rs")).expect("load"),
            Some(record_with_chunk(5, 9))
        );
        // A third process now reaches the new holder.
        let (third, _) = connect(folder.path());
        assert!(!third.is_holder());
        assert_eq!(
            third.files().expect("files"),
            vec![key("/w", "a.rs"), key("/w", "b.rs")]
        );
    }

    /// A failover that failed while another thread of the process found the holder again took
    /// the role lock twice (`after_failover_or_queue` held it into `call`): that process never
    /// answered again. Threads call while sled's lock is held by a process that does not serve,
    /// for longer than a failover looks (so that calls look again one by one), then the lock is
    /// freed; every call must return.
    #[test]
    fn calls_while_the_holder_comes_back_never_deadlock() {
        let folder = tempfile::tempdir().expect("tempdir");
        let (holder, _) = connect(folder.path());
        let (client, _) = connect(folder.path());
        drop(holder);
        // Takes sled's lock without serving, so that the client's looks for a holder fail.
        let silent = loop {
            match sled::open(folder.path().join(crate::store::DATABASE_FOLDER)) {
                Ok(database) => break database,
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        let until = Instant::now() + FIND_HOLDER_FOR + Duration::from_secs(3);
        let (finished, finishing) = mpsc::channel();
        for thread in 0..6u64 {
            let client = client.clone();
            let finished = finished.clone();
            std::thread::spawn(move || {
                let mut call = 0;
                while Instant::now() < until {
                    call += 1;
                    let file = key("/w", &format!("t{thread}-{}.rs", call % 5));
                    let _ = client.save_file(&file, &record_with_chunk(2, 1 + thread));
                    let _ = client.files();
                    std::thread::sleep(Duration::from_millis(40 + 45 * thread));
                }
                let _ = finished.send(thread);
            });
        }
        std::thread::sleep(FIND_HOLDER_FOR + Duration::from_millis(500));
        drop(silent);
        for _ in 0..6 {
            assert!(
                finishing.recv_timeout(Duration::from_secs(60)).is_ok(),
                "a call never returned: the client deadlocked"
            );
        }
        client.flush().expect("a holder again");
    }

    #[test]
    fn between_holders_writes_wait_and_reads_are_refused() {
        let mut pending = Pending::default();
        let save = |lines: usize| Request::SaveFile {
            key: (&key("/w", "a.rs")).into(),
            record: records::to_record(&record_with_chunk(lines, 7)),
        };
        assert_eq!(
            queue_or_refuse(&mut pending, save(4)).ok(),
            Some(Reply::Done)
        );
        assert_eq!(
            queue_or_refuse(&mut pending, save(5)).ok(),
            Some(Reply::Done)
        );
        let progress = Request::ChangeCalibration {
            change: CalibrationChange::Progress {
                started_ms: 1,
                edits: Vec::new(),
                breaches: Vec::new(),
            },
        };
        assert_eq!(
            queue_or_refuse(&mut pending, progress.clone()).ok(),
            Some(Reply::Done)
        );
        // A later save of the same file replaces the earlier one; progress adds up, so it stays.
        assert_eq!(pending.writes, vec![save(5), progress]);
        for refused in [
            Request::Files,
            Request::Flush,
            Request::ClaimChunkIds { count: 8 },
            Request::ChangeCalibration {
                change: CalibrationChange::Start {
                    label: None,
                    minutes: None,
                    at_ms: 1,
                },
            },
        ] {
            assert!(
                matches!(
                    queue_or_refuse(&mut pending, refused.clone()),
                    Err(StoreError::Unavailable(_))
                ),
                "{refused:?}"
            );
        }
        assert_eq!(pending.writes.len(), 2);
    }

    #[test]
    fn a_long_store_path_gets_a_short_socket() {
        let long = PathBuf::from("/tmp").join("x".repeat(150));
        let socket = socket_path(&long);
        assert!(socket.as_os_str().len() < 108, "{}", socket.display());
        assert_eq!(
            socket,
            socket_path(&long),
            "the same folder, the same socket"
        );
        assert_eq!(
            socket_path(Path::new("/home/me/.local/share/whetstone")),
            Path::new("/home/me/.local/share/whetstone/store.sock")
        );
    }
}
