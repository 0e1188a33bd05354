//! Calibration sessions, one home for the command line and the editors: what each can do to the
//! user's sessions ([`sessions`]) and what the user is told about them ([`words`]).
//!
//! The rules themselves (at most one session runs, a change sent twice is done once) are applied
//! where the data is, under the store's lock: [`crate::store::calibration`]. Reading where the
//! sessions stand never writes: a session whose planned minutes ran out reads as ended, and only
//! a window's timer records that end ([`sessions::end_time_up`]).

pub mod sessions;
pub mod words;

pub use sessions::StopOutcome;
