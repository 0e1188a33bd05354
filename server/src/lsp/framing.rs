//! A guard in front of tower-lsp-server's reader. Its reader ends the whole input stream at the
//! first frame it cannot decode (a header without a length, a body that is not UTF-8, not JSON, or
//! JSON that is not a JSON-RPC message), and the server then stops reading: every later edit would
//! be lost. The guard decodes the frames first, logs and drops the bad ones, finds the next frame
//! after garbage, and passes the good ones on, re-framed with only a `Content-Length` header.
//!
//! The decoder ([`FrameDecoder`]) is synchronous and pure, so that it can be tested and fuzzed
//! without a runtime; [`forward_valid_frames`] drives it from the editor's stdin.
//!
//! Memory is bounded whatever the input says: a body is read only up to [`MAX_MESSAGE_BYTES`] and
//! never allocated ahead from its `Content-Length`, and a header block longer than
//! [`MAX_HEADER_BYTES`] is garbage. A message above the limit is dropped by skipping to the next
//! header block rather than by counting its bytes: a JSON body cannot hold a header block (raw line
//! breaks are not allowed inside JSON strings), and an absurd length such as 99999999999999 would
//! otherwise swallow the rest of the session.

use std::fmt;

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tower_lsp_server::jsonrpc;

/// The largest message passed on: 64 MiB. VS Code stops syncing documents above 50 MB to
/// extensions, and a 50 MB document fits in one message with room for JSON escapes.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// A header block longer than this is garbage, not headers.
pub const MAX_HEADER_BYTES: usize = 8 << 10;

/// A `Content-Length` line is never longer than this (the name, a colon, spaces and 20 digits).
const MAX_LENGTH_LINE_BYTES: usize = 128;

/// The header that starts every frame, which the decoder looks for to find its footing again.
const CONTENT_LENGTH: &[u8] = b"content-length";

/// What the decoder made of some input, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A good message's body: UTF-8 text holding one JSON-RPC request, notification or response,
    /// exactly as tower-lsp-server's reader will accept it.
    Message(Vec<u8>),
    /// Input that was dropped, and why (for a warning).
    Dropped(Problem),
}

/// Why input was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A header block without a `Content-Length`.
    MissingLength,
    /// A `Content-Length` that is not a whole number (as sent, shortened), or two that differ.
    BadLength(String),
    /// A message larger than the limit.
    TooLarge { length: u64, limit: usize },
    /// A body that is not UTF-8.
    NotUtf8 { length: usize },
    /// A body that is not JSON.
    NotJson { length: usize, error: String },
    /// JSON that is not a JSON-RPC message (no `"jsonrpc": "2.0"`, an id that is an object, a
    /// batch, a number out of range, ...).
    NotJsonRpc { length: usize },
    /// Bytes outside any message: text between frames, a header block without its blank line,
    /// the body of a message that was dropped for its header.
    Garbage { bytes: usize },
    /// The input ended inside a message.
    Truncated { length: usize, received: usize },
    /// A new message started inside a message's body: its length was larger than its body.
    CutShort { length: usize, received: usize },
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::MissingLength => {
                write!(
                    formatter,
                    "dropped a message whose headers have no Content-Length"
                )
            }
            Problem::BadLength(value) => write!(
                formatter,
                "dropped a message whose Content-Length is not a length: {value:?}"
            ),
            Problem::TooLarge { length, limit } => write!(
                formatter,
                "dropped a message of {length} bytes: whetstone reads messages of at most {limit} bytes"
            ),
            Problem::NotUtf8 { length } => write!(
                formatter,
                "dropped a message whose body is not UTF-8 ({length} bytes)"
            ),
            Problem::NotJson { length, error } => write!(
                formatter,
                "dropped a message whose body is not JSON ({length} bytes): {error}"
            ),
            Problem::NotJsonRpc { length } => write!(
                formatter,
                "dropped a message that is not JSON-RPC ({length} bytes): expected an object with \
                 \"jsonrpc\": \"2.0\", a string method or a result or error, and an id that is a \
                 whole number, a string or null"
            ),
            Problem::Garbage { bytes } => write!(
                formatter,
                "skipped {bytes} bytes that were not part of any message"
            ),
            Problem::CutShort { length, received } => write!(
                formatter,
                "dropped a message announced as {length} bytes: the next message started after {received}"
            ),
            Problem::Truncated { length, received } => write!(
                formatter,
                "the input ended inside a message of {length} bytes, after {received}"
            ),
        }
    }
}

/// Exactly the shapes tower-lsp-server's reader decodes a body into (its own `Message` is
/// private): a response, else a request or notification.
#[derive(Deserialize)]
#[serde(untagged)]
#[allow(dead_code, clippy::large_enum_variant)]
enum Incoming {
    Response(jsonrpc::Response),
    Request(jsonrpc::Request),
}

/// Whether `text` is a plain request or notification that tower-lsp-server's reader accepts,
/// checked without building anything: an object with `"jsonrpc": "2.0"`, a string method, an id
/// that is a whole number, a string or null, and every other value strict JSON (numbers in
/// range, no lone surrogate, nesting within serde_json's limit), each key once. False means
/// "not sure": the exact check ([`is_json_rpc`]) decides. This keeps the typing path from
/// parsing every message twice into values.
pub fn is_plain_message(text: &str) -> bool {
    serde_json::from_str::<PlainMessage>(text).is_ok()
}

/// Whether tower-lsp-server's reader accepts `text` as a message: the exact check.
pub fn is_json_rpc(text: &str) -> bool {
    serde_json::from_str::<Incoming>(text).is_ok()
}

/// See [`is_plain_message`]; deserializing it is the check.
struct PlainMessage;

impl<'de> Deserialize<'de> for PlainMessage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PlainMessageVisitor)
    }
}

struct PlainMessageVisitor;

impl<'de> serde::de::Visitor<'de> for PlainMessageVisitor {
    type Value = PlainMessage;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON-RPC request or notification")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<PlainMessage, A::Error> {
        use serde::de::Error;
        let mut seen: Vec<&'de str> = Vec::with_capacity(4);
        let mut version = false;
        let mut method = false;
        while let Some(key) = map.next_key::<&'de str>()? {
            if seen.contains(&key) {
                return Err(A::Error::custom("a key twice"));
            }
            seen.push(key);
            match key {
                "jsonrpc" => version = map.next_value::<&'de str>()? == "2.0",
                "method" => {
                    map.next_value::<&'de str>()?;
                    method = true;
                }
                "id" => {
                    map.next_value::<PlainId>()?;
                }
                _ => {
                    map.next_value::<StrictJson>()?;
                }
            }
        }
        if version && method {
            Ok(PlainMessage)
        } else {
            Err(A::Error::custom("not a plain request or notification"))
        }
    }
}

/// An id as tower-lsp-server reads one: a whole number that fits an i64, a string, or null.
struct PlainId;

impl<'de> Deserialize<'de> for PlainId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = PlainId;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a whole number, a string or null")
            }
            fn visit_i64<E>(self, _: i64) -> Result<PlainId, E> {
                Ok(PlainId)
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<PlainId, E> {
                i64::try_from(value)
                    .map(|_| PlainId)
                    .map_err(|_| E::custom("an id beyond i64"))
            }
            fn visit_str<E>(self, _: &str) -> Result<PlainId, E> {
                Ok(PlainId)
            }
            fn visit_unit<E>(self) -> Result<PlainId, E> {
                Ok(PlainId)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Any JSON value, read as strictly as into a `serde_json::Value` (through `deserialize_any`,
/// which checks numbers, escapes and depth), without keeping any of it.
struct StrictJson;

impl<'de> Deserialize<'de> for StrictJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = StrictJson;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("JSON")
            }
            fn visit_bool<E>(self, _: bool) -> Result<StrictJson, E> {
                Ok(StrictJson)
            }
            fn visit_i64<E>(self, _: i64) -> Result<StrictJson, E> {
                Ok(StrictJson)
            }
            fn visit_u64<E>(self, _: u64) -> Result<StrictJson, E> {
                Ok(StrictJson)
            }
            fn visit_f64<E>(self, _: f64) -> Result<StrictJson, E> {
                Ok(StrictJson)
            }
            fn visit_str<E>(self, _: &str) -> Result<StrictJson, E> {
                Ok(StrictJson)
            }
            fn visit_unit<E>(self) -> Result<StrictJson, E> {
                Ok(StrictJson)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<StrictJson, A::Error> {
                while seq.next_element::<StrictJson>()?.is_some() {}
                Ok(StrictJson)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<StrictJson, A::Error> {
                while map.next_entry::<StrictKey, StrictJson>()?.is_some() {}
                Ok(StrictJson)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// An object's key, read as a string strictly (escapes checked).
struct StrictKey;

impl<'de> Deserialize<'de> for StrictKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = StrictKey;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a key")
            }
            fn visit_str<E>(self, _: &str) -> Result<StrictKey, E> {
                Ok(StrictKey)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// Turns a byte stream into good message bodies and reports of what was dropped.
#[derive(Debug)]
pub struct FrameDecoder {
    max_message_bytes: usize,
    /// Bytes received; those from `start` on are not decoded yet. A cursor rather than draining
    /// each message off the front, which moved the whole read (64 KiB) once per message.
    buffer: Vec<u8>,
    start: usize,
    /// `Some(length)` once a header block announced a body of that length.
    body_length: Option<usize>,
    /// Garbage skipped since the last report.
    garbage: usize,
    /// How far the body being received was searched for a header line.
    body_scanned: usize,
    /// Set after garbage: the next `Content-Length` is looked for before anything is parsed, so
    /// that what is dropped does not depend on how the input arrived.
    resyncing: bool,
}

impl Default for FrameDecoder {
    fn default() -> FrameDecoder {
        FrameDecoder::new(MAX_MESSAGE_BYTES)
    }
}

impl FrameDecoder {
    /// A decoder that drops messages above `max_message_bytes` (at least 1).
    pub fn new(max_message_bytes: usize) -> FrameDecoder {
        FrameDecoder {
            max_message_bytes: max_message_bytes.max(1),
            buffer: Vec::new(),
            start: 0,
            body_length: None,
            garbage: 0,
            body_scanned: 0,
            resyncing: false,
        }
    }

    /// Feeds more input; returns what it completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Decoded> {
        self.buffer.extend_from_slice(bytes);
        let mut decoded = Vec::new();
        while self.step(&mut decoded) {}
        // Only what is not decoded yet stays: at most a message, or a header block, in progress.
        self.buffer.drain(..self.start);
        self.start = 0;
        decoded
    }

    /// The input ended: reports what was left over.
    pub fn finish(mut self) -> Vec<Decoded> {
        let mut decoded = Vec::new();
        while self.step(&mut decoded) {}
        match self.body_length {
            Some(length) => decoded.push(Decoded::Dropped(Problem::Truncated {
                length,
                received: self.pending().len(),
            })),
            None => {
                let leftover = self
                    .pending()
                    .iter()
                    .filter(|byte| !byte.is_ascii_whitespace())
                    .count();
                if leftover > 0 || self.resyncing {
                    self.garbage += self.pending().len();
                }
            }
        }
        self.report_garbage(&mut decoded);
        decoded
    }

    /// Bytes held between calls: never much more than one message.
    pub fn buffered_bytes(&self) -> usize {
        self.buffer.len()
    }

    /// The bytes not decoded yet.
    fn pending(&self) -> &[u8] {
        &self.buffer[self.start..]
    }

    /// Decodes one thing if it can; false when it needs more input.
    fn step(&mut self, decoded: &mut Vec<Decoded>) -> bool {
        match self.body_length {
            Some(length) => self.step_body(length, decoded),
            None => self.step_headers(decoded),
        }
    }

    fn step_body(&mut self, length: usize, decoded: &mut Vec<Decoded>) -> bool {
        if self.pending().len() < length {
            // A length larger than its body would hold back the next messages until enough bytes
            // arrive. A header line inside the body proves it is not JSON (a raw line break
            // cannot sit inside a JSON string, nor `Content-Length` outside one): it ends there.
            let Some(start) = self.header_line_in_partial_body() else {
                return false;
            };
            self.body_length = None;
            self.body_scanned = 0;
            decoded.push(Decoded::Dropped(Problem::CutShort {
                length,
                received: start,
            }));
            self.start += start;
            return true;
        }
        self.body_length = None;
        self.body_scanned = 0;
        let body_start = self.start;
        let body = self.pending()[..length].to_vec();
        self.start += length;
        let problem = match std::str::from_utf8(&body) {
            Err(_) => Problem::NotUtf8 { length },
            Ok(text) if is_plain_message(text) => {
                decoded.push(Decoded::Message(body));
                return true;
            }
            Ok(text) => match serde_json::from_str::<Incoming>(text) {
                Ok(_) => {
                    decoded.push(Decoded::Message(body));
                    return true;
                }
                // The untagged enum reports anything as "no variant matched": a second look
                // tells bad JSON from JSON of the wrong shape, only on this rare path.
                Err(_) => match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                    Ok(_) => Problem::NotJsonRpc { length },
                    Err(error) => Problem::NotJson {
                        length,
                        error: error.to_string(),
                    },
                },
            },
        };
        decoded.push(Decoded::Dropped(problem));
        // A length larger than the body it stands for swallows the next frame's header: look
        // for it inside, and decode from there (what `header_line_in_partial_body` finds when
        // the body arrives in pieces).
        if let LengthLine::At(start) = find_length_line(&body, 0) {
            self.garbage += start;
            self.start = body_start + start;
        }
        true
    }

    fn step_headers(&mut self, decoded: &mut Vec<Decoded>) -> bool {
        if self.resyncing {
            return self.resync();
        }
        let mut line_start = 0;
        let mut length: Result<Option<u64>, Problem> = Ok(None);
        loop {
            let pending = self.pending();
            let searched_end = pending.len().min(MAX_HEADER_BYTES);
            let Some(newline) = pending[line_start..searched_end]
                .iter()
                .position(|&byte| byte == b'\n')
            else {
                if pending.len() >= MAX_HEADER_BYTES {
                    self.skip_garbage();
                    return true;
                }
                return false;
            };
            let line_end = line_start + newline + 1;
            let line = trim_line_break(&pending[line_start..line_end]);
            if line.trim_ascii().is_empty() {
                if line_start == 0 {
                    // A stray line break between messages.
                    self.start += line_end;
                    return true;
                }
                self.start += line_end;
                self.report_garbage(decoded);
                match length {
                    Ok(Some(length)) => match usize::try_from(length) {
                        Ok(length) if length <= self.max_message_bytes => {
                            self.body_length = Some(length);
                        }
                        _ => decoded.push(Decoded::Dropped(Problem::TooLarge {
                            length,
                            limit: self.max_message_bytes,
                        })),
                    },
                    Ok(None) => decoded.push(Decoded::Dropped(Problem::MissingLength)),
                    Err(problem) => decoded.push(Decoded::Dropped(problem)),
                }
                return true;
            }
            let Some((name, value)) = header_line(line) else {
                self.skip_garbage();
                return true;
            };
            if name.eq_ignore_ascii_case(CONTENT_LENGTH) {
                length = match (length, parse_length(value)) {
                    (Err(problem), _) | (_, Err(problem)) => Err(problem),
                    (Ok(Some(earlier)), Ok(this)) if earlier != this => {
                        Err(Problem::BadLength(format!("{earlier} and then {this}")))
                    }
                    (_, Ok(this)) => Ok(Some(this)),
                };
            }
            line_start = line_end;
        }
    }

    /// Where a complete `Content-Length` header line starts in the body received so far. Each
    /// byte is looked at about once however the body arrives.
    fn header_line_in_partial_body(&mut self) -> Option<usize> {
        match find_length_line(self.pending(), self.body_scanned) {
            LengthLine::At(start) => Some(start),
            LengthLine::Incomplete(start) => {
                // Looked at again when more arrives.
                self.body_scanned = start;
                None
            }
            LengthLine::Nowhere => {
                self.body_scanned = self
                    .pending()
                    .len()
                    .saturating_sub(CONTENT_LENGTH.len() - 1)
                    .max(self.body_scanned);
                None
            }
        }
    }

    /// The bytes from the start of the buffer are not a header block: the first is dropped, and
    /// the rest up to the next `Content-Length` as it arrives.
    fn skip_garbage(&mut self) {
        self.garbage += 1;
        self.start += 1;
        self.resyncing = true;
    }

    /// Drops bytes up to the next `Content-Length`, keeping a tail that may be the start of one;
    /// true once it is found.
    fn resync(&mut self) -> bool {
        match find_content_length(self.pending(), 0) {
            Some(start) => {
                self.garbage += start;
                self.start += start;
                self.resyncing = false;
                true
            }
            None => {
                let skip = self
                    .pending()
                    .len()
                    .saturating_sub(CONTENT_LENGTH.len() - 1);
                self.garbage += skip;
                self.start += skip;
                false
            }
        }
    }

    fn report_garbage(&mut self, decoded: &mut Vec<Decoded>) {
        if self.garbage > 0 {
            decoded.push(Decoded::Dropped(Problem::Garbage {
                bytes: std::mem::take(&mut self.garbage),
            }));
        }
    }
}

/// Decodes a whole input at once.
pub fn decode_all(input: &[u8], max_message_bytes: usize) -> Vec<Decoded> {
    let mut decoder = FrameDecoder::new(max_message_bytes);
    let mut decoded = decoder.push(input);
    decoded.extend(decoder.finish());
    decoded
}

/// A body framed for tower-lsp-server's reader.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    framed.extend_from_slice(body);
    framed
}

/// Copies good frames from `input` to `output` until `input` ends, logging what it drops.
pub async fn forward_valid_frames(
    mut input: impl AsyncRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) {
    let mut decoder = FrameDecoder::default();
    let mut chunk = vec![0u8; 64 * 1024];
    'reading: loop {
        let read = match input.read(&mut chunk).await {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) => {
                tracing::warn!("cannot read the editor's messages: {error}");
                break;
            }
        };
        for decoded in decoder.push(&chunk[..read]) {
            if !pass_on(decoded, &mut output).await {
                break 'reading;
            }
        }
    }
    for decoded in decoder.finish() {
        pass_on(decoded, &mut output).await;
    }
    let _ = output.shutdown().await;
}

/// Writes a message on or logs a drop; false once the server stopped reading (it exited).
async fn pass_on(decoded: Decoded, output: &mut (impl AsyncWrite + Unpin)) -> bool {
    match decoded {
        Decoded::Message(body) => {
            let header = format!("Content-Length: {}\r\n\r\n", body.len());
            let written = async {
                output.write_all(header.as_bytes()).await?;
                output.write_all(&body).await?;
                output.flush().await
            };
            written.await.is_ok()
        }
        Decoded::Dropped(problem) => {
            tracing::warn!("{problem}");
            true
        }
    }
}

/// Where `Content-Length` (any case) starts in `bytes`, looking from `from` on.
fn find_content_length(bytes: &[u8], from: usize) -> Option<usize> {
    let last_start = bytes.len().checked_sub(CONTENT_LENGTH.len())?;
    (from..=last_start).find(|&start| {
        bytes[start].eq_ignore_ascii_case(&CONTENT_LENGTH[0])
            && bytes[start..start + CONTENT_LENGTH.len()].eq_ignore_ascii_case(CONTENT_LENGTH)
    })
}

/// Where a `Content-Length: <digits>` line ending in a line break starts.
enum LengthLine {
    At(usize),
    /// One may start here; its end has not arrived yet.
    Incomplete(usize),
    Nowhere,
}

/// The first `Content-Length` header line with a whole-number value in `bytes`, from `from` on.
/// Inside a JSON body there is none: a raw line break cannot stand in a JSON string, nor
/// `Content-Length` outside one.
fn find_length_line(bytes: &[u8], mut from: usize) -> LengthLine {
    while let Some(start) = find_content_length(bytes, from) {
        let line_end = bytes.len().min(start + MAX_LENGTH_LINE_BYTES);
        match bytes[start..line_end]
            .iter()
            .position(|&byte| byte == b'\n')
        {
            Some(newline) => {
                let line = trim_line_break(&bytes[start..start + newline + 1]);
                if header_line(line).is_some_and(|(_, value)| parse_length(value).is_ok()) {
                    return LengthLine::At(start);
                }
            }
            None if line_end < start + MAX_LENGTH_LINE_BYTES => {
                return LengthLine::Incomplete(start);
            }
            None => {}
        }
        from = start + 1;
    }
    LengthLine::Nowhere
}

fn trim_line_break(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `Name: value` with a name made of HTTP token characters; None for anything else.
fn header_line(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&byte| byte == b':')?;
    let name = line[..colon].trim_ascii();
    let is_token = |byte: &u8| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(byte);
    (!name.is_empty() && name.iter().all(is_token)).then(|| (name, line[colon + 1..].trim_ascii()))
}

fn parse_length(value: &[u8]) -> Result<u64, Problem> {
    let bad = || {
        let shown: String = String::from_utf8_lossy(value).chars().take(40).collect();
        Problem::BadLength(shown)
    };
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(|digits| digits.parse::<u64>().ok())
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;

    fn framed(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    /// What comes out: each message as its body, each drop as `!` and its reason.
    fn check(input: &[u8], expect: expect_test::Expect) {
        check_with_limit(input, MAX_MESSAGE_BYTES, expect);
    }

    fn check_with_limit(input: &[u8], limit: usize, expect: expect_test::Expect) {
        let shown: Vec<String> = decode_all(input, limit)
            .into_iter()
            .map(|decoded| match decoded {
                Decoded::Message(body) => String::from_utf8(body).expect("messages are UTF-8"),
                Decoded::Dropped(problem) => format!("! {problem}"),
            })
            .collect();
        expect.assert_eq(&shown.join("\n"));
    }

    async fn forwarded(input: &[u8]) -> String {
        let (mut reader, writer) = tokio::io::duplex(1 << 16);
        forward_valid_frames(input, writer).await;
        let mut out = String::new();
        reader.read_to_string(&mut out).await.expect("utf-8 output");
        out
    }

    #[tokio::test]
    async fn good_frames_pass_and_bad_ones_are_dropped() {
        let input = format!(
            "{}{}Content-Length: nine\r\n\r\n{}Content-Type: x\r\n\r\n{}",
            framed(GOOD),
            framed(r#"{"oops": "#),
            framed(GOOD),
            framed(GOOD),
        );
        // Each good frame passes; the body that is not JSON, and the two header blocks without a
        // usable length, are dropped, and reading goes on at the next header block.
        assert_eq!(forwarded(input.as_bytes()).await, framed(GOOD).repeat(3));
    }

    #[tokio::test]
    async fn invalid_utf8_and_a_cut_message_do_not_hang() {
        let mut input = b"Content-Length: 2\r\n\r\n\xff\xfe".to_vec();
        input.extend_from_slice(framed(GOOD).as_bytes());
        input.extend_from_slice(b"Content-Length: 100\r\n\r\n{}");
        assert_eq!(forwarded(&input).await, framed(GOOD));
    }

    #[test]
    fn lengths_that_are_not_lengths_are_dropped() {
        let input = [
            "Content-Length: -5\r\n\r\n",
            "Content-Length: 1e3\r\n\r\n",
            "Content-Length:\r\n\r\n",
            "Content-Length: 99999999999999999999999\r\n\r\n",
            "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "X-Other: 1\r\n\r\n",
            &framed(GOOD),
        ]
        .concat();
        check(
            input.as_bytes(),
            expect_test::expect![[r#"
                ! dropped a message whose Content-Length is not a length: "-5"
                ! dropped a message whose Content-Length is not a length: "1e3"
                ! dropped a message whose Content-Length is not a length: ""
                ! dropped a message whose Content-Length is not a length: "99999999999999999999999"
                ! dropped a message whose Content-Length is not a length: "5 and then 6"
                ! dropped a message whose headers have no Content-Length
                {"jsonrpc":"2.0","method":"initialized","params":{}}"#]],
        );
    }

    /// Regression: the length was trusted to allocate the body (`vec![0u8; length]`), so a
    /// header claiming 99999999999999 bytes aborted the server on allocation failure, and a
    /// claim it could afford swallowed every later message.
    #[test]
    fn an_absurd_length_neither_allocates_nor_swallows_the_session() {
        let input = format!(
            "Content-Length: 99999999999999\r\n\r\n{GOOD}{}",
            framed(GOOD)
        );
        let mut decoder = FrameDecoder::default();
        let decoded = decoder.push(input.as_bytes());
        assert!(decoder.buffered_bytes() < 100, "{decoded:?}");
        check(
            input.as_bytes(),
            expect_test::expect![[r#"
                ! dropped a message of 99999999999999 bytes: whetstone reads messages of at most 67108864 bytes
                ! skipped 52 bytes that were not part of any message
                {"jsonrpc":"2.0","method":"initialized","params":{}}"#]],
        );
    }

    #[test]
    fn a_message_over_the_limit_is_skipped_to_the_next_frame() {
        let big = format!(
            r#"{{"jsonrpc":"2.0","method":"x","params":"{}"}}"#,
            "a".repeat(5_000)
        );
        let input = format!("{}{}", framed(&big), framed(GOOD));
        let mut decoder = FrameDecoder::new(1_000);
        let mut decoded = Vec::new();
        for piece in input.as_bytes().chunks(700) {
            decoded.extend(decoder.push(piece));
            assert!(decoder.buffered_bytes() <= MAX_HEADER_BYTES + 700);
        }
        decoded.extend(decoder.finish());
        assert_eq!(
            decoded,
            vec![
                Decoded::Dropped(Problem::TooLarge {
                    length: big.len() as u64,
                    limit: 1_000
                }),
                Decoded::Dropped(Problem::Garbage { bytes: big.len() }),
                Decoded::Message(GOOD.as_bytes().to_vec()),
            ]
        );
    }

    /// Regression: only "is it JSON" was checked, so a body tower-lsp-server cannot decode as
    /// JSON-RPC (an id that is an object, no version, a batch, a string that is not UTF-8)
    /// passed the guard and ended the server's input all the same.
    #[test]
    fn json_that_is_not_json_rpc_is_dropped() {
        let bodies: [&[u8]; 11] = [
            br#"{"jsonrpc":"2.0","jsonrpc":"2.0","method":"initialized"}"#,
            br#"{"jsonrpc":"2.0","method":"x","params":{"a":"\ud800"}}"#,
            br#"{"jsonrpc":"2.0","method":"x","extra":1e400}"#,
            br#"{"jsonrpc":"2.0","id":{"a":1},"method":"shutdown"}"#,
            br#"{"id":1,"method":"shutdown"}"#,
            br#"{"jsonrpc":"1.0","method":"initialized"}"#,
            br#"[{"jsonrpc":"2.0","method":"initialized"}]"#,
            br#"{"jsonrpc":"2.0","method":7}"#,
            br#"{"jsonrpc":"2.0","id":1.5,"method":"shutdown"}"#,
            b"{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":\"\xff\"}",
            br#"{"jsonrpc":"2.0","method":"x","params":[1e999]}"#,
        ];
        let mut input = Vec::new();
        for body in bodies {
            input.extend(frame(body));
        }
        input.extend(framed(GOOD).as_bytes());
        let decoded = decode_all(&input, MAX_MESSAGE_BYTES);
        assert_eq!(decoded.len(), bodies.len() + 1, "{decoded:#?}");
        assert!(
            decoded[..bodies.len()]
                .iter()
                .all(|item| matches!(item, Decoded::Dropped(_))),
            "{decoded:#?}"
        );
        assert_eq!(decoded[bodies.len()], Decoded::Message(GOOD.into()));
    }

    /// The quick check never says yes where the exact one says no.
    #[test]
    fn the_quick_check_is_never_laxer_than_the_exact_one() {
        let bodies = [
            r#"{"jsonrpc":"2.0","method":"x","params":[1,"a",null,{"b":[true]}]}"#,
            r#"{"jsonrpc":"2.0","id":-4,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":"s","method":"x","result":null}"#,
            r#"{"jsonrpc":"2.0","method":"x","params":"\ud83e\udd80"}"#,
            r#"{"jsonrpc":"2.0","method":"x","params":"\ud800"}"#,
            r#"{"jsonrpc":"2.0","method":"x","params":[1e400]}"#,
            r#"{"jsonrpc":"2.0","method":"x","method":"y"}"#,
            r#"{"json\u0072pc":"2.0","method":"x"}"#,
            r#"{"jsonrpc":"2.0","method":"x","params":{"a":1,"a":2}}"#,
        ];
        for body in bodies {
            assert!(!is_plain_message(body) || is_json_rpc(body), "{body}");
        }
        assert!(is_plain_message(bodies[0]) && is_plain_message(bodies[9]));
    }

    #[test]
    fn responses_and_requests_pass() {
        let bodies = [
            r#"{"jsonrpc":"2.0","id":3,"result":null}"#,
            r#"{"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"no"}}"#,
            r#"{"jsonrpc":"2.0","id":4,"method":"shutdown"}"#,
            r#"{"jsonrpc":"2.0","method":"whetstone/unknown","params":[1,"a",null]}"#,
        ];
        let input: String = bodies.iter().map(|body| framed(body)).collect();
        let decoded = decode_all(input.as_bytes(), MAX_MESSAGE_BYTES);
        let expected: Vec<Decoded> = bodies
            .iter()
            .map(|body| Decoded::Message(body.as_bytes().to_vec()))
            .collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn a_header_block_without_its_blank_line_costs_only_that_message() {
        // The first frame's body follows its header directly; the decoder finds its footing at
        // the next frame's header.
        let input = format!("Content-Length: {}\r\n{GOOD}{}", GOOD.len(), framed(GOOD));
        check(
            input.as_bytes(),
            expect_test::expect![[r#"
                ! skipped 72 bytes that were not part of any message
                {"jsonrpc":"2.0","method":"initialized","params":{}}"#]],
        );
    }

    #[test]
    fn a_length_longer_than_its_body_finds_the_next_frame_inside() {
        let input = format!(
            "Content-Length: 80\r\n\r\n{{}}{}{}",
            framed(GOOD),
            framed(GOOD)
        );
        check(
            input.as_bytes(),
            expect_test::expect![[r#"
                ! dropped a message whose body is not JSON (80 bytes): trailing characters at line 1 column 3
                ! skipped 2 bytes that were not part of any message
                {"jsonrpc":"2.0","method":"initialized","params":{}}
                {"jsonrpc":"2.0","method":"initialized","params":{}}"#]],
        );
    }

    /// Regression: a length larger than its body held back every later message until that many
    /// bytes had arrived, so a client waiting for an answer waited forever.
    #[test]
    fn a_length_longer_than_its_body_does_not_hold_the_next_message_back() {
        let mut decoder = FrameDecoder::default();
        let mut decoded = decoder.push(b"Content-Length: 5000\r\n\r\n{}");
        decoded.extend(decoder.push(framed(GOOD).as_bytes()));
        assert_eq!(
            decoded,
            vec![
                Decoded::Dropped(Problem::CutShort {
                    length: 5000,
                    received: 2
                }),
                Decoded::Message(GOOD.into())
            ]
        );
        // A header split over two reads, and text that only looks like a header, are waited on.
        let mut decoder = FrameDecoder::default();
        let mut decoded =
            decoder.push(b"Content-Length: 5000\r\n\r\n{\"a\":\"Content-Length: 5\"\n,");
        decoded.extend(decoder.push(b"\"b\": 1}Content-Len"));
        assert_eq!(decoded, vec![]);
        decoded.extend(decoder.push(b"gth: 52\r\n\r\n"));
        decoded.extend(decoder.push(GOOD.as_bytes()));
        assert_eq!(decoded.len(), 2, "{decoded:?}");
        assert_eq!(decoded[1], Decoded::Message(GOOD.into()));
    }

    /// Regression (found by the lsp_frames fuzz target): after garbage, a decoder fed a byte at
    /// a time resumed at the next line and read a junk header line that ran into the next
    /// frame's header as a header, losing that frame; fed all at once it skipped to the frame.
    #[test]
    fn messages_do_not_depend_on_how_the_input_is_read() {
        let input = format!(
            "\u{b7}H\r{{\n.0Content-Lengt:2 h5\r!<{}{}",
            framed(GOOD),
            framed(GOOD)
        );
        let messages = |piece: usize| {
            let mut decoder = FrameDecoder::default();
            let mut decoded = Vec::new();
            for bytes in input.as_bytes().chunks(piece) {
                decoded.extend(decoder.push(bytes));
            }
            decoded.extend(decoder.finish());
            decoded
                .into_iter()
                .filter(|item| matches!(item, Decoded::Message(_)))
                .count()
        };
        assert_eq!(messages(input.len()), 2);
        assert_eq!(messages(1), 2);
        assert_eq!(messages(7), 2);
    }

    #[test]
    fn garbage_between_frames_and_at_the_end_is_reported_once() {
        let junk = "x".repeat(3 * MAX_HEADER_BYTES);
        let input = format!(
            "\r\n\n{}{junk}{}\r\nnot a header",
            framed(GOOD),
            framed(GOOD)
        );
        check(
            input.as_bytes(),
            expect_test::expect![[r#"
                {"jsonrpc":"2.0","method":"initialized","params":{}}
                ! skipped 24576 bytes that were not part of any message
                {"jsonrpc":"2.0","method":"initialized","params":{}}
                ! skipped 12 bytes that were not part of any message"#]],
        );
    }

    #[test]
    fn input_ending_inside_a_message_is_reported() {
        check(
            b"Content-Length: 10\r\n\r\n{}",
            expect_test::expect!["! the input ended inside a message of 10 bytes, after 2"],
        );
        check(
            b"Content-Len",
            expect_test::expect![[r#"! skipped 11 bytes that were not part of any message"#]],
        );
        check(b"\r\n \n", expect_test::expect![""]);
    }

    #[test]
    fn header_names_and_values_are_read_leniently() {
        let input = format!(
            "content-length:{}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-16\r\n\r\n{GOOD}",
            GOOD.len()
        );
        check(
            input.as_bytes(),
            expect_test::expect![[r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#]],
        );
        check_with_limit(
            framed(GOOD).as_bytes(),
            GOOD.len(),
            expect_test::expect![[r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#]],
        );
    }
}
