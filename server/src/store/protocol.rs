//! What processes sharing a store say to each other over its socket: every [`Store`] call as a
//! [`Request`], its answer as a [`Reply`], and the [`Notice`]s the holder sends to the processes
//! that listen. Each message is one frame: 4 bytes of length (big-endian) and that many bytes of
//! JSON. Records travel in their versioned store forms ([`records`]), so a process checks what it
//! is sent exactly as it checks what it reads from disk.
//!
//! Nothing here trusts the other side: a length over [`MAX_FRAME_BYTES`] ends the connection
//! before anything is allocated for it, and a frame that does not decode is answered with
//! [`Reply::Failed`] and ends the connection.
//!
//! [`Store`]: crate::store::Store

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use crate::store::calibration::{CalibrationChange, CalibrationError, CalibrationReply};
use crate::store::records::{
    self, CalibrationSessionV1, DayActivityV1, DeclarationV1, DismissalV1, FileHeadV3, FileRecordV1,
};
use crate::store::{FileKey, StoreError};

/// The version of this protocol; a process speaking another is refused at [`Request::Hello`].
/// Version 2 added [`Request::FileSummaries`].
pub const PROTOCOL_VERSION: u32 = 2;

/// The largest frame either side reads: a file record of a few hundred thousand lines fits many
/// times over.
pub const MAX_FRAME_BYTES: usize = 256 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// The first frame of every connection. `listen` makes it a connection for [`Notice`]s only.
    Hello {
        protocol: u32,
        pid: u32,
        listen: bool,
    },
    LoadFile {
        key: WireKey,
    },
    SaveFile {
        key: WireKey,
        record: FileRecordV1,
    },
    RemoveFile {
        key: WireKey,
    },
    Files,
    /// Files at or under `folder` (every file without one), without their line keys.
    FileSummaries {
        folder: Option<String>,
    },
    RecordDismissal {
        key: WireKey,
        dismissal: DismissalV1,
    },
    Dismissals,
    NextChunkId,
    ClaimChunkIds {
        count: u64,
    },
    CalibrationSessions,
    SaveCalibrationSession {
        session: CalibrationSessionV1,
    },
    ChangeCalibration {
        change: CalibrationChange,
    },
    AddActivity {
        days: Vec<DayActivityV1>,
    },
    Activity {
        since_day: u32,
    },
    Setting {
        name: String,
    },
    SetSetting {
        name: String,
        value: String,
    },
    Declarations {
        key: WireKey,
    },
    Declare {
        key: WireKey,
        declaration: DeclarationV1,
    },
    ConsumeDeclarations {
        key: WireKey,
        ids: Vec<u64>,
    },
    Flush,
}

impl Request {
    /// Whether sending it twice leaves the store as sending it once: such writes are kept by a
    /// client until a flush is acknowledged, and sent again to a new holder.
    pub fn is_idempotent_write(&self) -> bool {
        match self {
            Request::SaveFile { .. }
            | Request::RemoveFile { .. }
            | Request::RecordDismissal { .. }
            | Request::SaveCalibrationSession { .. }
            | Request::SetSetting { .. }
            | Request::Declare { .. }
            | Request::ConsumeDeclarations { .. } => true,
            Request::ChangeCalibration { change } => {
                !matches!(change, CalibrationChange::Progress { .. })
            }
            _ => false,
        }
    }

    /// Writes that add to what is stored: the holder makes them durable before it answers, so
    /// that one answered is never sent again.
    pub fn is_additive_write(&self) -> bool {
        matches!(
            self,
            Request::AddActivity { .. }
                | Request::ChangeCalibration {
                    change: CalibrationChange::Progress { .. }
                }
        )
    }

    /// The file a save or removal replaces: a later one makes an earlier one unneeded.
    pub fn replaced_file(&self) -> Option<&WireKey> {
        match self {
            Request::SaveFile { key, .. } | Request::RemoveFile { key } => Some(key),
            _ => None,
        }
    }
}

/// A [`FileKey`] on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WireKey {
    pub workspace: String,
    pub path: String,
}

impl From<&FileKey> for WireKey {
    fn from(key: &FileKey) -> WireKey {
        WireKey {
            workspace: key.workspace.clone(),
            path: key.path.clone(),
        }
    }
}

impl From<WireKey> for FileKey {
    fn from(key: WireKey) -> FileKey {
        FileKey {
            workspace: key.workspace,
            path: key.path,
        }
    }
}

// One at a time per connection, never kept in bulk: variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// The answer to [`Request::Hello`]. `notice` is the holder's message when the store was
    /// written by a newer whetstone (and is read-only).
    Welcome {
        pid: u32,
        notice: Option<String>,
    },
    Done,
    File {
        record: Option<FileRecordV1>,
    },
    Files {
        keys: Vec<WireKey>,
    },
    FileSummaries {
        files: Vec<(WireKey, FileHeadV3)>,
    },
    Dismissals {
        dismissals: Vec<(WireKey, DismissalV1)>,
    },
    Number {
        value: u64,
    },
    Sessions {
        sessions: Vec<CalibrationSessionV1>,
    },
    Calibration {
        outcome: WireCalibrationReply,
    },
    CalibrationRefused {
        refusal: WireCalibrationRefusal,
    },
    Days {
        days: Vec<DayActivityV1>,
    },
    Setting {
        value: Option<String>,
    },
    Declarations {
        declarations: Vec<DeclarationV1>,
    },
    /// What went wrong, in words; `read_only` when the store refuses every write.
    Failed {
        message: String,
        #[serde(default)]
        read_only: bool,
    },
}

impl Reply {
    pub fn failed(error: &StoreError) -> Reply {
        Reply::Failed {
            message: error.to_string(),
            read_only: matches!(error, StoreError::ReadOnly),
        }
    }

    /// The error a [`Reply::Failed`] stands for, or that of an answer of the wrong kind.
    pub fn into_error(self) -> StoreError {
        match self {
            Reply::Failed {
                read_only: true, ..
            } => StoreError::ReadOnly,
            Reply::Failed { message, .. } => StoreError::Remote(message),
            other => {
                StoreError::Unavailable(format!("unexpected answer from the store: {other:?}"))
            }
        }
    }
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WireCalibrationReply {
    Started {
        session: CalibrationSessionV1,
    },
    Stopped {
        session: CalibrationSessionV1,
    },
    Rated {
        session: CalibrationSessionV1,
    },
    Progressed,
    Status {
        running: Option<CalibrationSessionV1>,
        last_ended: Option<CalibrationSessionV1>,
        #[serde(default)]
        ended_now: Option<CalibrationSessionV1>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum WireCalibrationRefusal {
    AlreadyRunning { since_ms: u64 },
    NotRunning,
    AlreadyRated { started_ms: u64 },
}

impl WireCalibrationReply {
    pub fn of(reply: &CalibrationReply) -> WireCalibrationReply {
        let record = records::calibration_session_to_record;
        match reply {
            CalibrationReply::Started(session) => WireCalibrationReply::Started {
                session: record(session),
            },
            CalibrationReply::Stopped(session) => WireCalibrationReply::Stopped {
                session: record(session),
            },
            CalibrationReply::Rated(session) => WireCalibrationReply::Rated {
                session: record(session),
            },
            CalibrationReply::Progressed => WireCalibrationReply::Progressed,
            CalibrationReply::Status(status) => WireCalibrationReply::Status {
                running: status.running.as_ref().map(record),
                last_ended: status.last_ended.as_ref().map(record),
                ended_now: status.ended_now.as_ref().map(record),
            },
        }
    }

    pub fn decode(self) -> Result<CalibrationReply, StoreError> {
        use crate::store::calibration::CalibrationStatus;
        let session = |record: CalibrationSessionV1| {
            records::calibration_session_from_record(record).map_err(|reason| {
                StoreError::Unavailable(format!("the store sent an unreadable session: {reason}"))
            })
        };
        Ok(match self {
            WireCalibrationReply::Started { session: record } => {
                CalibrationReply::Started(session(record)?)
            }
            WireCalibrationReply::Stopped { session: record } => {
                CalibrationReply::Stopped(session(record)?)
            }
            WireCalibrationReply::Rated { session: record } => {
                CalibrationReply::Rated(session(record)?)
            }
            WireCalibrationReply::Progressed => CalibrationReply::Progressed,
            WireCalibrationReply::Status {
                running,
                last_ended,
                ended_now,
            } => CalibrationReply::Status(CalibrationStatus {
                running: running.map(session).transpose()?,
                last_ended: last_ended.map(session).transpose()?,
                ended_now: ended_now.map(session).transpose()?,
                waiting_to_end: false,
            }),
        })
    }
}

/// The reply to a calibration change, refusals included.
pub fn calibration_reply(outcome: Result<CalibrationReply, CalibrationError>) -> Reply {
    match outcome {
        Ok(reply) => Reply::Calibration {
            outcome: WireCalibrationReply::of(&reply),
        },
        Err(CalibrationError::AlreadyRunning { since_ms }) => Reply::CalibrationRefused {
            refusal: WireCalibrationRefusal::AlreadyRunning { since_ms },
        },
        Err(CalibrationError::NotRunning) => Reply::CalibrationRefused {
            refusal: WireCalibrationRefusal::NotRunning,
        },
        Err(CalibrationError::AlreadyRated { started_ms }) => Reply::CalibrationRefused {
            refusal: WireCalibrationRefusal::AlreadyRated { started_ms },
        },
        Err(CalibrationError::Store(error)) => Reply::failed(&error),
    }
}

/// What a calibration reply means on the side that asked.
pub fn calibration_outcome(reply: Reply) -> Result<CalibrationReply, CalibrationError> {
    match reply {
        Reply::Calibration { outcome } => Ok(outcome.decode()?),
        Reply::CalibrationRefused { refusal } => Err(match refusal {
            WireCalibrationRefusal::AlreadyRunning { since_ms } => {
                CalibrationError::AlreadyRunning { since_ms }
            }
            WireCalibrationRefusal::NotRunning => CalibrationError::NotRunning,
            WireCalibrationRefusal::AlreadyRated { started_ms } => {
                CalibrationError::AlreadyRated { started_ms }
            }
        }),
        other => Err(other.into_error().into()),
    }
}

/// What the holder tells the processes that listen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// A session started, stopped or was rated: read the sessions again.
    CalibrationChanged,
    /// Something the user must be told (the store was repaired), said to this process only.
    Message { message: String },
    /// An agent declared lines of a file: a window that has it open applies them at once.
    Declared {
        key: WireKey,
        declaration: DeclarationV1,
    },
}

/// Writes one frame.
pub fn write_frame(writer: &mut impl Write, message: &impl Serialize) -> io::Result<()> {
    let body = serde_json::to_vec(message).map_err(io::Error::other)?;
    if body.len() > MAX_FRAME_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a message of {} bytes is over the limit", body.len()),
        ));
    }
    let length = u32::try_from(body.len()).map_err(io::Error::other)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(&body);
    writer.write_all(&frame)?;
    writer.flush()
}

/// Reads one frame's body; None when the other side closed between frames. A length over
/// [`MAX_FRAME_BYTES`] is an error before anything is read or allocated for it; the buffer grows
/// only as bytes actually arrive.
pub fn read_frame(reader: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut length = [0u8; 4];
    let mut filled = 0;
    while filled < 4 {
        match reader.read(&mut length[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_FRAME_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {length} bytes is over the limit of {MAX_FRAME_BYTES}"),
        ));
    }
    let mut body = Vec::with_capacity(length.min(64 * 1024));
    reader.take(length as u64).read_to_end(&mut body)?;
    if body.len() < length {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(body))
}

/// A request from its frame's body.
pub fn decode_request(body: &[u8]) -> Result<Request, String> {
    serde_json::from_slice(body).map_err(|error| format!("not a store request: {error}"))
}

/// A reply from its frame's body.
pub fn decode_reply(body: &[u8]) -> Result<Reply, String> {
    serde_json::from_slice(body).map_err(|error| format!("not a store reply: {error}"))
}

/// Every frame in `bytes`, decoded as requests, until the bytes end or a frame cannot be read or
/// decoded (which is then the last): what the holder does with a connection's input, without the
/// socket. For the fuzz target.
pub fn decode_requests(mut bytes: &[u8]) -> Vec<Result<Request, String>> {
    let mut requests = Vec::new();
    loop {
        match read_frame(&mut bytes) {
            Ok(Some(body)) => {
                let request = decode_request(&body);
                let unreadable = request.is_err();
                requests.push(request);
                if unreadable {
                    return requests;
                }
            }
            Ok(None) => return requests,
            Err(error) => {
                requests.push(Err(error.to_string()));
                return requests;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut bytes = Vec::new();
        let request = Request::ClaimChunkIds { count: 64 };
        write_frame(&mut bytes, &request).unwrap();
        write_frame(&mut bytes, &Request::Flush).unwrap();
        let decoded = decode_requests(&bytes);
        assert_eq!(decoded, vec![Ok(request), Ok(Request::Flush)]);
    }

    #[test]
    fn decoding_stops_at_a_frame_that_is_not_a_request() {
        let mut bytes = Vec::new();
        write_frame(&mut bytes, &Request::Files).unwrap();
        write_frame(&mut bytes, &"format_disk").unwrap();
        write_frame(&mut bytes, &Request::Flush).unwrap();
        let decoded = decode_requests(&bytes);
        assert_eq!(decoded.len(), 2, "{decoded:?}");
        assert!(decoded[1].is_err());
    }

    #[test]
    fn a_huge_length_is_refused_before_anything_is_allocated() {
        let mut bytes = u32::MAX.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        let error = read_frame(&mut bytes.as_slice()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_short_frame_is_an_error_and_garbage_is_not_a_request() {
        let mut bytes = 100u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"{\"request\":");
        assert!(read_frame(&mut bytes.as_slice()).is_err());
        assert!(decode_request(b"{\"request\":\"drop_everything\"}").is_err());
        assert!(decode_request(&[0xff, 0xfe, 0x00]).is_err());
        assert!(decode_request(b"{\"request\":\"claim_chunk_ids\",\"count\":-1}").is_err());
    }
}
