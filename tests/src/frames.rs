//! `Content-Length` framing of JSON-RPC messages, as the language server protocol sends them.

use std::io::{self, BufRead};

use serde_json::Value;

/// One JSON-RPC message framed for the wire: `Content-Length` header, blank line, body.
pub fn encode_frame(message: &Value) -> Vec<u8> {
    frame(message.to_string().as_bytes())
}

/// Any bytes framed as a message body (for tests of bodies that are not JSON).
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    frame
}

/// Reads one framed message body. `Ok(None)` at a clean end of input (before any header);
/// an error for a broken header or a stream that ends inside a frame.
pub fn read_frame(reader: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut content_length: Option<usize> = None;
    let mut header_line = String::new();
    let mut read_any_header = false;
    loop {
        header_line.clear();
        if reader.read_line(&mut header_line)? == 0 {
            if read_any_header {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "output ended inside a frame header",
                ));
            }
            return Ok(None);
        }
        read_any_header = true;
        let line = header_line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("header line without a colon: {line:?}"),
            ));
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            let length = value.trim().parse().map_err(|error| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad Content-Length {value:?}: {error}"),
                )
            })?;
            content_length = Some(length);
        }
    }
    let Some(length) = content_length else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame header without Content-Length",
        ));
    };
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn frames_round_trip_and_extra_headers_are_ignored() {
        let message = json!({"jsonrpc": "2.0", "method": "x", "params": {"text": "é\n"}});
        let mut wire = b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n".to_vec();
        wire.extend(encode_frame(&message));
        wire.extend(encode_frame(&json!(1)));
        let mut reader = io::Cursor::new(wire);
        let first = read_frame(&mut reader)
            .expect("a good frame")
            .expect("not the end");
        assert_eq!(
            serde_json::from_slice::<Value>(&first).expect("JSON"),
            message
        );
        let second = read_frame(&mut reader)
            .expect("a good frame")
            .expect("not the end");
        assert_eq!(second, b"1");
        assert!(read_frame(&mut reader).expect("clean end").is_none());
    }

    #[test]
    fn a_frame_cut_short_is_an_error_not_a_hang() {
        let mut reader = io::Cursor::new(b"Content-Length: 10\r\n\r\n{}".to_vec());
        assert!(read_frame(&mut reader).is_err());
        let mut reader = io::Cursor::new(b"Content-Length: 10\r\n".to_vec());
        assert!(read_frame(&mut reader).is_err());
    }
}
