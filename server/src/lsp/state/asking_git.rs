//! What git has committed, asked off the loop. A checkout, a stash or a pull arrives as a large
//! change whose text git already holds; the engine must know that text to leave it unflagged.
//! `git show` is a process that may take seconds, so the loop never runs it: an event that needs
//! the answer (a large change, the open of a file whose stored map may have to be laid over new
//! text) is parked, with every later event of the same document behind it, while a blocking
//! thread asks git. The answer comes back as [`Event::GitAnswered`]; the parked events then run in
//! their order, the first with the answer in [`CommittedSlot`], where the engine reads it. Events
//! of other documents go on meanwhile.
//!
//! Invariant: the events of one document are applied in the order they arrived; the slot holds
//! an answer only while the event it was asked for is applied.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tower_lsp_server::ls_types::TextDocumentContentChangeEvent;

use super::{Event, State};
use crate::core::CommittedText;
use crate::core::text::{non_blank_lines, non_whitespace_chars};
use crate::lsp::commands;
use crate::lsp::uri::file_path;

/// A document and what git committed for it (None: untracked, no repository, or git failed).
type Answer = (String, Option<String>);

/// The committed text of one document, there while the event that needed it is applied.
#[derive(Clone, Default)]
pub(super) struct CommittedSlot(Arc<Mutex<Option<Answer>>>);

impl CommittedSlot {
    pub fn fill(&self, uri: String, text: Option<String>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((uri, text));
    }

    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

impl CommittedText for CommittedSlot {
    fn committed_text(&self, uri: &str) -> Option<String> {
        match &*self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((held, text)) if held == uri => text.clone(),
            _ => None,
        }
    }
}

/// Documents waiting for git, and the answer being applied.
#[derive(Default)]
pub(super) struct AskingGit {
    pub slot: CommittedSlot,
    /// Each waiting document's events, oldest first; the first is the one git was asked for.
    parked: HashMap<String, VecDeque<Event>>,
    /// Git's answer for a document, until the event it was asked for takes it.
    answer: Option<Answer>,
    /// Documents an editor hinted the next change of, and when: a hinted change is judged at
    /// any size.
    hinted: HashMap<String, Instant>,
}

impl AskingGit {
    pub fn is_parked(&self, uri: &str) -> bool {
        self.parked.contains_key(uri)
    }

    /// Holds the events of `uri` back until [`State::release`] (a read off the loop is coming).
    pub fn park(&mut self, uri: &str) {
        self.parked.entry(uri.to_string()).or_default();
    }
}

impl State {
    /// Runs `event` now, or parks it behind an answer from git.
    pub(super) async fn route(&mut self, event: Event) {
        // Nearly every event, every keystroke among them: nothing waits and it cannot need git.
        if self.git.parked.is_empty() && !self.may_need_git(&event) {
            return self.dispatch(event).await;
        }
        let Some(uri) = self.document_of(&event) else {
            return self.dispatch(event).await;
        };
        if let Some(waiting) = self.git.parked.get_mut(&uri) {
            waiting.push_back(event);
            return;
        }
        if !self.needs_committed_text(&uri, &event) {
            return self.dispatch(event).await;
        }
        match self.git.answer.take() {
            Some((answered, text)) if answered == uri => {
                self.git.slot.fill(uri, text);
                self.dispatch(event).await;
                self.git.slot.clear();
            }
            other => {
                self.git.answer = other;
                self.ask_git(&uri);
                self.git.parked.insert(uri, VecDeque::from([event]));
            }
        }
    }

    /// Git answered for `uri`: its parked events run, in order.
    pub(super) async fn committed_answered(&mut self, uri: String, text: Option<String>) {
        self.git.answer = Some((uri.clone(), text));
        self.release(&uri).await;
        self.git.answer = None;
    }

    /// Runs the events parked for `uri`, in order.
    pub(super) async fn release(&mut self, uri: &str) {
        let waiting = self.git.parked.remove(uri).unwrap_or_default();
        for event in waiting {
            // An event behind the first may need git again: it and those after it park anew.
            Box::pin(self.route(event)).await;
        }
    }

    /// Applies every parked event without git's answer (it is taken as "nothing committed"), so
    /// that nothing the editor sent is lost when the server stops.
    pub(super) async fn run_parked_unanswered(&mut self) {
        let parked: Vec<(String, VecDeque<Event>)> = self.git.parked.drain().collect();
        for (uri, waiting) in parked {
            tracing::info!(
                "{uri}: stopping before git answered; {} events applied without it",
                waiting.len()
            );
            for event in waiting {
                Box::pin(self.dispatch(event)).await;
            }
        }
    }

    /// The one document an event reads or changes, if any.
    fn document_of(&self, event: &Event) -> Option<String> {
        let uri = match event {
            Event::Opened(params) => params.text_document.uri.as_str(),
            Event::Changed(params) => params.text_document.uri.as_str(),
            Event::Saved(params) => params.text_document.uri.as_str(),
            Event::Closed(params) => params.text_document.uri.as_str(),
            Event::EditOrigin(params) => params.uri.as_str(),
            Event::CodeLens { uri, .. } => uri.as_str(),
            Event::CodeAction { params, .. } => params.text_document.uri.as_str(),
            Event::Hover { params, .. } => params
                .text_document_position_params
                .text_document
                .uri
                .as_str(),
            Event::ExecuteCommand { params, .. } => {
                return commands::parse(&params.command, &params.arguments)
                    .ok()?
                    .uri()
                    .map(str::to_string);
            }
            _ => return None,
        };
        Some(uri.to_string())
    }

    /// A quick look, with no URI parsed: false when `event` surely needs no answer from git.
    fn may_need_git(&self, event: &Event) -> bool {
        match event {
            Event::Opened(_) | Event::EditOrigin(_) => true,
            Event::Changed(params) => {
                self.git
                    .hinted
                    .contains_key(params.text_document.uri.as_str())
                    || self.passes_bar(&params.content_changes)
            }
            _ => false,
        }
    }

    /// Whether the changes insert enough to pass the size bar: what the engine inserts is at most
    /// what they carry.
    fn passes_bar(&self, changes: &[TextDocumentContentChangeEvent]) -> bool {
        let (mut lines, mut chars) = (0, 0);
        for change in changes {
            lines += non_blank_lines(&change.text);
            chars += non_whitespace_chars(&change.text);
        }
        self.settings.detection.passes_bar(lines, chars)
    }

    /// Whether applying `event` may ask the engine what git committed for `uri`.
    fn needs_committed_text(&mut self, uri: &str, event: &Event) -> bool {
        if file_path(uri).is_none() || self.explaining.is_document(uri) {
            return false;
        }
        match event {
            Event::EditOrigin(_) => {
                self.git.hinted.insert(uri.to_string(), Instant::now());
                false
            }
            // A stored map is laid over the opened text when it changed since: lines git holds
            // are not new.
            Event::Opened(_) => {
                self.load_from_store(uri);
                self.engine.line_map(uri).is_some()
            }
            // The engine asks git only about an insertion that passes the size bar, or a hinted
            // one.
            Event::Changed(params) => {
                let lifetime = Duration::from_millis(self.settings.detection.hint_lifetime_ms);
                let hinted = self
                    .git
                    .hinted
                    .remove(uri)
                    .is_some_and(|at| at.elapsed() <= lifetime);
                let inserts = params
                    .content_changes
                    .iter()
                    .any(|change| non_whitespace_chars(&change.text) > 0);
                self.engine.is_open(uri)
                    && (self.passes_bar(&params.content_changes) || (hinted && inserts))
            }
            _ => false,
        }
    }

    /// Asks git on a blocking thread; the answer comes back as [`Event::GitAnswered`].
    fn ask_git(&self, uri: &str) {
        let sender = self.sender.clone();
        let uri = uri.to_string();
        tokio::task::spawn_blocking(move || {
            let text = file_path(&uri).and_then(|path| crate::git::committed_text_of(&path));
            let _ = sender.send(Event::GitAnswered { uri, text });
        });
    }
}
