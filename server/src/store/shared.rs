//! One store for every process of the user: [`SharedStore`] is the [`Store`] each language server
//! and command uses. sled lets one process open the database; that process is the *holder* and
//! serves the others over the store socket ([`serve`]); the others are *clients* and send it
//! their calls ([`protocol`]). Which one holds is decided by sled's lock alone: whoever opens the
//! database holds it, everyone else connects.
//!
//! No call waits on another, and none waits long on the holder:
//!
//! - The role lock is never held across a call to the holder or a search for one. A client keeps
//!   a few connections; each call takes one (or opens one) for itself, so the language server's
//!   loop never queues behind the writer thread's large save.
//! - A holder that has not answered a call for a moment ([`stall_after`]) is taken as not
//!   answering, whether it died or was stopped: the client becomes *between holders* and looks
//!   for one in the background. Meanwhile writes wait in memory (judgements are already safe in
//!   the journal, [`crate::store::journal`]) and reads fail at once, so a stalled holder can make
//!   one call of a window wait at most [`answer_within`], never more.
//! - The search runs on its own thread: the first process to open the database becomes the new
//!   holder, the others connect to it; while writes wait, it goes on looking every second, so that
//!   they reach a holder as soon as one answers again, without waiting for the next call.
//!
//! A client keeps every write that is safe to send twice until a flush of the holder acknowledged
//! it, and sends them all again to the next holder, so nothing acknowledged is lost and nothing
//! unacknowledged is lost either.
//!
//! [`serve`]: crate::store::serve

use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::core::activity::DayActivity;
use crate::core::calibration::CalibrationSession;
use crate::core::declared::Declaration;
use crate::core::engine::Dismissal;
use crate::store::calibration::{CalibrationChange, CalibrationError, CalibrationReply};
use crate::store::protocol::{self, Notice, PROTOCOL_VERSION, Reply, Request};
use crate::store::serve::{Hub, Listener, Served};
use crate::store::{FileKey, FileRecord, FileSummary, OpenFailure, Store, StoreError, records};

/// The socket's name in the store folder.
pub const SOCKET_NAME: &str = "store.sock";

/// How long [`SharedStore::connect`] and each search look for a holder before pausing.
const FIND_HOLDER_FOR: Duration = Duration::from_secs(5);
/// Between two tries to find a holder.
const RETRY_EVERY: Duration = Duration::from_millis(20);
/// While writes wait for a holder, the search looks again this often.
const SEARCH_AGAIN_AFTER: Duration = Duration::from_secs(1);
/// A call finding no holder starts a search at most this often...
const LOOK_AGAIN_AFTER: Duration = Duration::from_millis(200);
/// ...and a read waits this long for it (a holder that died is replaced within moments).
const READ_WAITS_FOR_SEARCH: Duration = Duration::from_millis(500);
/// A client with writes waiting for a flush asks for one after this long.
const FLUSH_PENDING_AFTER: Duration = Duration::from_secs(1);
/// A holder must answer hello this soon: it answers from a fresh thread, at once.
const HELLO_WITHIN: Duration = Duration::from_secs(3);
/// Connections a client keeps open for its next calls.
const IDLE_LINKS: usize = 4;

/// The longest a call waits for its answer before the holder is taken as gone: long for the
/// writer thread's saves and flushes (a huge record), short for everything else.
fn answer_within(request: &Request) -> Duration {
    match request {
        Request::SaveFile { .. } | Request::Flush | Request::AddActivity { .. } => {
            Duration::from_secs(30)
        }
        _ => Duration::from_secs(5),
    }
}

/// How long a call may wait before every other call stops waiting for the holder.
fn stall_after(request: &Request) -> Duration {
    match request {
        // The ones the holder flushes before answering: a busy disk is not a stalled holder.
        Request::SaveFile { .. } | Request::Flush | Request::AddActivity { .. } => {
            Duration::from_secs(10)
        }
        _ => Duration::from_secs(2),
    }
}

/// The store shared by every process of the user; see the module comment.
pub struct SharedStore {
    folder: PathBuf,
    socket: PathBuf,
    role: Mutex<Role>,
    /// Told whenever a search ends, found or not.
    searched: Condvar,
    hub: Arc<Hub>,
    /// Set by [`SharedStore::connect`]: the listening and searching threads reach the store
    /// through it.
    this: Weak<SharedStore>,
    /// What the user must be told once (a fresh store after a damaged one, a read-only store).
    notice: Mutex<Option<String>>,
    /// Numbers each client role, so that a call that outlived its role knows it.
    generations: AtomicU64,
    /// Numbers calls, to find one's place among those waiting.
    calls: AtomicU64,
}

enum Role {
    /// This process holds the database and serves the others.
    Holder {
        served: Arc<Served>,
        _listener: Listener,
        /// The journal's length up to which the holder folded it (or appended itself).
        journal_folded: Arc<Mutex<u64>>,
    },
    /// Another process holds it.
    Client(Client),
    /// No holder is reachable: writes wait here. `searching` while a search runs; `tried` is
    /// when the last one ended (None: search at the next call).
    Between {
        pending: Pending,
        searching: bool,
        tried: Option<Instant>,
    },
}

struct Client {
    /// Connections to the holder that no call uses now.
    idle: Vec<UnixStream>,
    pending: Pending,
    /// The calls waiting for the holder now: their number, when sent, how long they may wait
    /// before the holder counts as not answering.
    waiting: Vec<(u64, Instant, Duration)>,
    generation: u64,
    /// The connection the holder's notices come on; closed when this role ends, which ends its
    /// thread (a holder that was only slow would otherwise keep it, and tell every notice twice).
    listening: Option<UnixStream>,
}

impl Client {
    fn stalled(&self) -> Option<Duration> {
        self.waiting
            .iter()
            .map(|(_, sent, allowed)| (sent.elapsed(), *allowed))
            .find(|(waited, allowed)| waited >= allowed)
            .map(|(waited, _)| waited)
    }
}

/// Writes a client sent (or could not send yet) that no flush has acknowledged, oldest first.
#[derive(Default)]
struct Pending {
    writes: Vec<Kept>,
    next_sequence: u64,
}

struct Kept {
    sequence: u64,
    since: Instant,
    request: Request,
    /// The holder answered it: a flush sent after that covers it.
    answered: bool,
}

impl Pending {
    fn push(&mut self, request: Request) -> u64 {
        // A later save of the same file replaces an earlier one (they are whole records).
        if let Some(key) = request.replaced_file() {
            let key = key.clone();
            self.writes
                .retain(|earlier| earlier.request.replaced_file() != Some(&key));
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.writes.push(Kept {
            sequence,
            since: Instant::now(),
            request,
            answered: false,
        });
        sequence
    }

    fn answered(&mut self, sequence: u64) {
        if let Some(kept) = self
            .writes
            .iter_mut()
            .find(|kept| kept.sequence == sequence)
        {
            kept.answered = true;
        }
    }

    /// The writes a flush sent now covers.
    fn covered_by_a_flush(&self) -> Vec<u64> {
        self.writes
            .iter()
            .filter(|kept| kept.answered)
            .map(|kept| kept.sequence)
            .collect()
    }

    fn flushed(&mut self, covered: &[u64]) {
        self.writes.retain(|kept| !covered.contains(&kept.sequence));
    }

    fn oldest(&self) -> Option<Instant> {
        self.writes.iter().map(|kept| kept.since).min()
    }

    fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// `later` queued behind these.
    fn extend(&mut self, later: Pending) {
        for kept in later.writes {
            self.push(kept.request);
        }
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
        let found = loop {
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
        let (found, notice) = found;
        let store = Arc::new_cyclic(|this| SharedStore {
            folder: folder.to_path_buf(),
            socket,
            role: Mutex::new(Role::Between {
                pending: Pending::default(),
                searching: true,
                tried: None,
            }),
            searched: Condvar::new(),
            hub,
            this: this.clone(),
            notice: Mutex::new(notice),
            generations: AtomicU64::new(0),
            calls: AtomicU64::new(0),
        });
        let role = store.adopt(found);
        *lock(&store.role) = role;
        store.listen_if_client();
        Ok(store)
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
            Role::Client(_) => "another process holds the store".to_string(),
            Role::Between { .. } => "looking for the process that holds the store".to_string(),
        }
    }

    /// A role just found, made this store's: a client gets its generation.
    fn adopt(&self, found: Found) -> Role {
        match found {
            Found::Holder {
                served,
                listener,
                journal_folded,
            } => Role::Holder {
                served,
                _listener: listener,
                journal_folded,
            },
            Found::Client { link } => Role::Client(Client {
                idle: vec![link],
                pending: Pending::default(),
                waiting: Vec::new(),
                generation: self.generations.fetch_add(1, Ordering::SeqCst) + 1,
                listening: None,
            }),
        }
    }

    /// Starts the thread that hears the holder's notices (clients only).
    fn listen_if_client(&self) {
        let generation = match &*lock(&self.role) {
            Role::Client(client) => client.generation,
            _ => return,
        };
        let stream = match hello(&self.socket, true) {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!("cannot listen to the store's holder: {error}");
                return;
            }
        };
        match (&mut *lock(&self.role), stream.try_clone()) {
            (Role::Client(client), Ok(kept)) if client.generation == generation => {
                client.listening = Some(kept);
            }
            // The role changed meanwhile: this connection is not needed.
            _ => return,
        }
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
                                store.holder_lost(generation);
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

    /// The holder of client role `generation` closed our listening connection: replace it.
    fn holder_lost(&self, generation: u64) {
        let mut role = lock(&self.role);
        if matches!(&*role, Role::Client(client) if client.generation == generation)
            && lose_holder(&mut role, None)
        {
            tracing::info!("the process holding the store is gone; finding the next one");
            drop(role);
            self.search_in_background();
        }
    }

    /// Starts a search for a holder on its own thread, unless one runs or no search is needed.
    fn search_in_background(&self) {
        {
            let mut role = lock(&self.role);
            let Role::Between { searching, .. } = &mut *role else {
                return;
            };
            if *searching {
                return;
            }
            *searching = true;
        }
        let this = self.this.clone();
        let spawned = std::thread::Builder::new()
            .name("whetstone-store-search".to_string())
            .spawn(move || search(&this));
        if let Err(error) = spawned {
            tracing::warn!("cannot look for the store's holder: {error}");
            self.search_ended();
        }
    }

    /// Marks the search over without a holder; says whether writes still wait for one.
    fn search_ended(&self) -> bool {
        let mut role = lock(&self.role);
        let waiting = match &mut *role {
            Role::Between {
                pending,
                searching,
                tried,
            } => {
                *searching = false;
                *tried = Some(Instant::now());
                !pending.is_empty()
            }
            _ => false,
        };
        drop(role);
        self.searched.notify_all();
        waiting
    }

    /// Looks for a holder for `within`, without the role lock; true once one is this store's.
    fn look(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            match find_holder(&self.folder, &self.socket, &self.hub) {
                Ok((found, notice)) => {
                    if self.install(found) {
                        self.after_install(notice);
                        return true;
                    }
                }
                Err(Failure::Open(failure)) => {
                    tracing::warn!("cannot take over the store: {failure}");
                    return false;
                }
                Err(Failure::NoHolder(_)) => {}
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(RETRY_EVERY);
        }
    }

    /// Sends every waiting write to the role just found, then makes it this store's. Writes
    /// queued while the others were sent go too. False when the role found went away meanwhile
    /// (the writes wait again) or another thread installed one first.
    fn install(&self, found: Found) -> bool {
        let mut role = self.adopt(found);
        let mut sent = 0;
        loop {
            let mut waiting = {
                let mut current = lock(&self.role);
                let Role::Between { pending, .. } = &mut *current else {
                    return false;
                };
                if pending.is_empty() {
                    if let Role::Client(client) = &mut role {
                        client.pending = Pending::default();
                    }
                    *current = role;
                    drop(current);
                    self.searched.notify_all();
                    tracing::info!("the store is reachable again; {sent} waiting writes sent");
                    return true;
                }
                std::mem::take(pending)
            };
            match replay(&mut role, &waiting) {
                Ok(count) => sent += count,
                Err(error) => {
                    tracing::warn!("the new store holder went away during a replay: {error}");
                    let mut current = lock(&self.role);
                    if let Role::Between { pending, .. } = &mut *current {
                        waiting.extend(std::mem::take(pending));
                        *pending = waiting;
                    }
                    return false;
                }
            }
        }
    }

    /// Tells this process what changed while no holder was there.
    fn after_install(&self, notice: Option<String>) {
        self.listen_if_client();
        // Anything may have changed while no holder was there.
        self.hub.tell_local(Notice::CalibrationChanged);
        if let Some(message) = notice {
            self.hub.tell_local(Notice::Message { message });
        }
    }

    /// Sends `request` to the store and returns its reply; see the module comment for what
    /// happens when the holder is gone or does not answer.
    fn call(&self, request: Request) -> Result<Reply, StoreError> {
        let mut role = lock(&self.role);
        let client = match &mut *role {
            Role::Holder { served, .. } => {
                let served = served.clone();
                drop(role);
                return Ok(served.answer(request));
            }
            Role::Between { .. } => {
                drop(role);
                return self.call_between(request);
            }
            Role::Client(client) => client,
        };
        if let Some(waited) = client.stalled() {
            tracing::warn!(
                "the store's holder has not answered for {} s; going on without it",
                waited.as_secs()
            );
            lose_holder(&mut role, None);
            drop(role);
            self.search_in_background();
            return self.call_between(request);
        }
        let kept = request
            .is_idempotent_write()
            .then(|| client.pending.push(request.clone()));
        let covered = match request {
            Request::Flush => client.pending.covered_by_a_flush(),
            _ => Vec::new(),
        };
        let link = client.idle.pop();
        let number = self.calls.fetch_add(1, Ordering::SeqCst);
        client
            .waiting
            .push((number, Instant::now(), stall_after(&request)));
        let generation = client.generation;
        drop(role);

        let answer = self.exchange_on(link, &request);

        let mut role = lock(&self.role);
        let mut client = match &mut *role {
            Role::Client(client) if client.generation == generation => Some(client),
            _ => None,
        };
        if let Some(client) = client.as_mut()
            && let Some(place) = client.waiting.iter().position(|(n, ..)| *n == number)
        {
            client.waiting.swap_remove(place);
        }
        match answer {
            Ok((link, reply)) => {
                let mut flush_due = false;
                if let Some(client) = client {
                    if let Some(sequence) = kept {
                        client.pending.answered(sequence);
                    }
                    if reply == Reply::Done {
                        client.pending.flushed(&covered);
                    }
                    if client.idle.len() < IDLE_LINKS {
                        client.idle.push(link);
                    }
                    flush_due = !matches!(request, Request::Flush)
                        && client
                            .pending
                            .oldest()
                            .is_some_and(|oldest| oldest.elapsed() >= FLUSH_PENDING_AFTER);
                }
                drop(role);
                if flush_due && let Err(error) = self.call(Request::Flush) {
                    tracing::debug!("a flush of waiting writes failed: {error}");
                }
                Ok(reply)
            }
            Err(error) => {
                tracing::warn!("the store's holder did not answer: {error}");
                if client.is_some() {
                    // Sent without an answer: an additive write is sent again (it may count
                    // twice, never zero times); a kept one is already pending.
                    let resend = request.is_additive_write().then(|| request.clone());
                    lose_holder(&mut role, resend);
                }
                drop(role);
                self.search_in_background();
                self.after_loss(request, kept.is_some())
            }
        }
    }

    /// One exchange on `link` (or on a new connection), with the request's own time limit.
    fn exchange_on(
        &self,
        link: Option<UnixStream>,
        request: &Request,
    ) -> io::Result<(UnixStream, Reply)> {
        let mut link = match link {
            Some(link) => link,
            None => hello(&self.socket, false)?.0,
        };
        link.set_read_timeout(Some(answer_within(request)))?;
        link.set_write_timeout(Some(answer_within(request)))?;
        let reply = exchange(&mut link, request)?;
        Ok((link, reply))
    }

    /// A call while no holder is known: writes wait, a read waits a moment for a search.
    fn call_between(&self, request: Request) -> Result<Reply, StoreError> {
        let mut role = lock(&self.role);
        let Role::Between {
            pending,
            searching,
            tried,
        } = &mut *role
        else {
            drop(role);
            return self.call(request);
        };
        let look = !*searching && tried.is_none_or(|tried| tried.elapsed() >= LOOK_AGAIN_AFTER);
        if !look && !*searching || queues(&request) {
            let answer = queue_or_refuse(pending, request);
            drop(role);
            if look {
                self.search_in_background();
            }
            return answer;
        }
        drop(role);
        if look {
            self.search_in_background();
        }
        let role = lock(&self.role);
        let (mut role, _) = self
            .searched
            .wait_timeout_while(role, READ_WAITS_FOR_SEARCH, |role| {
                matches!(
                    role,
                    Role::Between {
                        searching: true,
                        ..
                    }
                )
            })
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &mut *role {
            Role::Between { pending, .. } => queue_or_refuse(pending, request),
            _ => {
                drop(role);
                self.call(request)
            }
        }
    }

    /// A call whose holder was lost while it waited.
    fn after_loss(&self, request: Request, already_pending: bool) -> Result<Reply, StoreError> {
        if already_pending || request.is_additive_write() {
            // Kept, and sent again to the next holder.
            return Ok(Reply::Done);
        }
        self.call_between(request)
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

impl Drop for SharedStore {
    fn drop(&mut self) {
        // Ends the notice thread, which would otherwise wait on the holder for good.
        if let Role::Client(client) = &*lock(&self.role)
            && let Some(listening) = &client.listening
        {
            let _ = listening.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// The searching thread: looks for a holder; while writes wait, goes on looking every
/// [`SEARCH_AGAIN_AFTER`] for as long as the store is in use.
fn search(this: &Weak<SharedStore>) {
    loop {
        let Some(store) = this.upgrade() else {
            return;
        };
        if store.look(FIND_HOLDER_FOR) {
            return;
        }
        if !store.search_ended() {
            return;
        }
        drop(store);
        std::thread::sleep(SEARCH_AGAIN_AFTER);
        let Some(store) = this.upgrade() else {
            return;
        };
        // Someone else may have started a search or found a holder meanwhile.
        {
            let mut role = lock(&store.role);
            match &mut *role {
                Role::Between {
                    searching: searching @ false,
                    pending,
                    ..
                } if !pending.is_empty() => *searching = true,
                _ => return,
            }
        }
    }
}

/// A client's holder is gone: its pending writes (and `resend`) wait for the next one. False when
/// `role` was not a client.
fn lose_holder(role: &mut Role, resend: Option<Request>) -> bool {
    let Role::Client(_) = role else {
        return false;
    };
    let between = Role::Between {
        pending: Pending::default(),
        searching: false,
        tried: None,
    };
    let Role::Client(client) = std::mem::replace(role, between) else {
        unreachable!("checked just above");
    };
    if let Some(listening) = &client.listening {
        let _ = listening.shutdown(std::net::Shutdown::Both);
    }
    let mut pending = client.pending;
    if let Some(request) = resend {
        pending.push(request);
    }
    // Kept writes were answered by a holder that is gone: they are sent again, answered or not.
    for kept in &mut pending.writes {
        kept.answered = false;
    }
    if let Role::Between {
        pending: waiting, ..
    } = role
    {
        *waiting = pending;
    }
    true
}

/// Whether a request waits in memory while no holder is there.
fn queues(request: &Request) -> bool {
    match request {
        // A calibration change is the user's answer to a command: it is not said to be done
        // before a holder did it.
        Request::ChangeCalibration {
            change: CalibrationChange::Progress { .. },
        } => true,
        Request::ChangeCalibration { .. } => false,
        request => request.is_idempotent_write() || request.is_additive_write(),
    }
}

/// Queues a write while no holder is there; everything else must wait for one.
fn queue_or_refuse(pending: &mut Pending, request: Request) -> Result<Reply, StoreError> {
    if queues(&request) {
        pending.push(request);
        Ok(Reply::Done)
    } else {
        Err(StoreError::Unavailable(
            "no process holds the store right now, or it does not answer; try again in a moment"
                .to_string(),
        ))
    }
}

/// Sends `waiting` writes to the role just found, in order, and makes them durable there.
fn replay(role: &mut Role, waiting: &Pending) -> io::Result<usize> {
    match role {
        Role::Holder { served, .. } => {
            for kept in &waiting.writes {
                if let Reply::Failed { message, .. } = served.answer(kept.request.clone()) {
                    tracing::warn!("a write sent again was refused: {message}");
                }
            }
            if let Err(error) = served.store.flush() {
                tracing::warn!("cannot flush the writes sent again: {error}");
            }
        }
        Role::Client(client) => {
            let link = client
                .idle
                .first_mut()
                .ok_or_else(|| io::Error::other("no connection to the new holder"))?;
            link.set_read_timeout(Some(Duration::from_secs(30)))?;
            for kept in &waiting.writes {
                if let Reply::Failed { message, .. } = exchange(link, &kept.request)? {
                    tracing::warn!("a write sent again was refused: {message}");
                }
            }
            if exchange(link, &Request::Flush)? != Reply::Done {
                // Not acknowledged: they stay with the client, to be sent again.
                return Err(io::Error::other("the new holder could not flush"));
            }
        }
        Role::Between { .. } => {}
    }
    Ok(waiting.writes.len())
}

/// What [`find_holder`] found.
enum Found {
    Holder {
        served: Arc<Served>,
        listener: Listener,
        journal_folded: Arc<Mutex<u64>>,
    },
    Client {
        link: UnixStream,
    },
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
) -> Result<(Found, Option<String>), Failure> {
    match super::open(folder) {
        Ok(opened) => {
            let read_only = opened.store.newer_schema().is_some();
            let served = Arc::new(Served {
                store: Arc::new(opened.store),
                hub: hub.clone(),
                calibration_lock: Mutex::new(()),
                // Every process that connects is told too: a read-only store, a repair.
                notice: opened.notice.clone(),
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
            let journal_folded = Arc::new(Mutex::new(
                super::journal::Journal::in_store(folder).log_bytes(),
            ));
            if !read_only {
                watch_journal(Arc::downgrade(&served), folder, journal_folded.clone());
            }
            tracing::info!("holding the store in {}", folder.display());
            Ok((
                Found::Holder {
                    served,
                    listener,
                    journal_folded,
                },
                opened.notice,
            ))
        }
        Err(OpenFailure::Locked { .. }) => match hello(socket, false) {
            Ok((link, notice)) => Ok((Found::Client { link }, notice)),
            Err(error) => Err(Failure::NoHolder(error.to_string())),
        },
        Err(failure) => Err(Failure::Open(failure)),
    }
}

/// While this process holds the store: folds the journal into it whenever the log changed (a
/// window that could not reach the holder wrote there, and may be gone since).
fn watch_journal(served: Weak<Served>, folder: &Path, folded_bytes: Arc<Mutex<u64>>) {
    let journal = super::journal::Journal::in_store(folder);
    let spawned = std::thread::Builder::new()
        .name("whetstone-store-journal".to_string())
        .spawn(move || {
            loop {
                std::thread::sleep(JOURNAL_LOOKED_AT_EVERY);
                let Some(served) = served.upgrade() else {
                    return;
                };
                // This process's own appends went to the database through its writer too.
                if journal.log_bytes() == *lock(&folded_bytes) {
                    continue;
                }
                match super::fold::fold(served.store.as_ref(), &journal) {
                    Ok(folded) => {
                        if folded.restored > 0 {
                            tracing::info!(
                                "brought {} judgements from the journal into the store",
                                folded.restored
                            );
                        }
                        // Declared by a process that could not reach this holder: every window
                        // hears of them now.
                        for (key, declaration) in folded.declared {
                            served.hub.publish(Notice::Declared {
                                key: (&key).into(),
                                declaration: records::declaration_to_record(&declaration),
                            });
                        }
                    }
                    Err(error) => tracing::warn!("cannot fold the journal into the store: {error}"),
                }
                // The fold's own checkpoint grew the log: that is folded too. (An append by
                // another process during the fold waits for the next one, or the next open.)
                *lock(&folded_bytes) = journal.log_bytes();
            }
        });
    if let Err(error) = spawned {
        tracing::warn!("cannot watch the store's journal: {error}");
    }
}

/// How often the holder looks at the journal's length.
const JOURNAL_LOOKED_AT_EVERY: Duration = Duration::from_secs(1);

/// Connects to the holder and says hello; returns the connection and the holder's notice.
fn hello(socket: &Path, listen: bool) -> io::Result<(UnixStream, Option<String>)> {
    let mut link = UnixStream::connect(socket)?;
    link.set_read_timeout(Some(HELLO_WITHIN))?;
    link.set_write_timeout(Some(HELLO_WITHIN))?;
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

    fn file_summaries(
        &self,
        folder: Option<&Path>,
    ) -> Result<Vec<(FileKey, FileSummary)>, StoreError> {
        if let Some(served) = self.held() {
            return served.store.file_summaries(folder);
        }
        let folder = folder.map(|folder| folder.to_string_lossy().into_owned());
        self.remote(Request::FileSummaries { folder }, |reply| match reply {
            Reply::FileSummaries { files } => files
                .into_iter()
                .map(|(key, head)| {
                    records::head_from_record(head)
                        .map(|summary| (FileKey::from(key), summary))
                        .map_err(|reason| bad_record("file record", reason))
                })
                .collect(),
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

    fn journal(&self, entries: &[super::journal::Entry]) -> Result<bool, StoreError> {
        let appended = super::journal::Journal::in_store(&self.folder)
            .append(entries)
            .map_err(|error| StoreError::Journal(error.to_string()))?;
        // The holder's own judgements reach its database through its writer: nothing to fold.
        if let Role::Holder { journal_folded, .. } = &*lock(&self.role) {
            let mut folded = lock(journal_folded);
            if *folded == appended.start {
                *folded = appended.end;
            }
        }
        Ok(true)
    }

    fn declarations(&self, key: &FileKey) -> Result<Vec<Declaration>, StoreError> {
        if let Some(served) = self.held() {
            return served.store.declarations(key);
        }
        self.remote(
            Request::Declarations { key: key.into() },
            |reply| match reply {
                Reply::Declarations { declarations } => declarations
                    .into_iter()
                    .map(records::declaration_from_record)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|reason| bad_record("declaration", reason)),
                other => Err(other.into_error()),
            },
        )
    }

    fn declare(&self, key: &FileKey, declaration: &Declaration) -> Result<bool, StoreError> {
        super::check_declaration(key, declaration)?;
        if let Some(served) = self.held() {
            return served.declare(key, declaration);
        }
        let request = Request::Declare {
            key: key.into(),
            declaration: records::declaration_to_record(declaration),
        };
        self.remote(request, |reply| match reply {
            Reply::Number { value } => Ok(value > 0),
            // Kept while no holder answers, and sent to the next one.
            Reply::Done => Ok(true),
            other => Err(other.into_error()),
        })
    }

    fn consume_declarations(&self, key: &FileKey, ids: &[u64]) -> Result<(), StoreError> {
        if let Some(served) = self.held() {
            return served.store.consume_declarations(key, ids);
        }
        self.remote_done(Request::ConsumeDeclarations {
            key: key.into(),
            ids: ids.to_vec(),
        })
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
        let outcome = protocol::calibration_outcome(reply);
        // The holder flushed it; the journal keeps a second copy against damage to the database.
        if let Ok(
            CalibrationReply::Started(session)
            | CalibrationReply::Stopped(session)
            | CalibrationReply::Rated(session),
        ) = &outcome
            && let Err(error) = self.journal(&[super::journal::Entry::session(session)])
        {
            tracing::warn!("cannot keep the calibration change in the journal: {error}");
        }
        outcome
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
        // Summaries cross the socket in their head form, filtered by the holder.
        assert_eq!(
            third
                .file_summaries(Some(Path::new("/w/b.rs")))
                .expect("summaries"),
            vec![(
                key("/w", "b.rs"),
                crate::store::FileSummary::of(record_with_chunk(5, 9))
            )]
        );
        assert_eq!(third.file_summaries(None).expect("summaries").len(), 2);
    }

    /// A failover that failed while another thread of the process found the holder again took
    /// the role lock twice (`after_failover_or_queue` held it into `call`): that process never
    /// answered again. Threads call while sled's lock is held by a process that does not serve,
    /// for longer than a failover looks (so that calls look again one by one), then the lock is
    /// freed; every call must return.
    #[test]
    fn calls_while_the_holder_comes_back_never_deadlock() {
        // Takes sled's lock without serving once the holder went, so that the client's looks for
        // a holder fail. The client starts looking the moment the holder goes and may take the
        // lock first; then the scene is set again in a fresh folder.
        let (_folder, client, silent) = (0..20)
            .find_map(|_| {
                let folder = tempfile::tempdir().expect("tempdir");
                let (holder, _) = connect(folder.path());
                let (client, _) = connect(folder.path());
                drop(holder);
                let database = folder.path().join(crate::store::DATABASE_FOLDER);
                let give_up = Instant::now() + Duration::from_secs(10);
                while !client.is_holder() && Instant::now() < give_up {
                    if let Ok(silent) = sled::open(&database) {
                        return Some((folder, client, silent));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                None
            })
            .expect("in 20 tries the client always took the store before the test could");
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
        let requests: Vec<Request> = pending
            .writes
            .iter()
            .map(|kept| kept.request.clone())
            .collect();
        assert_eq!(requests, vec![save(5), progress]);
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
