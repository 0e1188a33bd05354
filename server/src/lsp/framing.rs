//! A guard in front of tower-lsp-server's reader. Its reader ends the whole input stream at the
//! first frame it cannot decode (a body that is not JSON, a header without a length), and the
//! server then stops reading: every later edit would be lost. This reads the frames first, logs
//! and drops the bad ones, and passes the good ones on unchanged.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// A header block longer than this is garbage, not headers.
const MAX_HEADER_BYTES: usize = 8 * 1024;

/// Copies well-formed frames from `input` to `output` until `input` ends.
pub async fn forward_valid_frames(
    input: impl tokio::io::AsyncRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) {
    let mut reader = BufReader::new(input);
    loop {
        let length = match read_headers(&mut reader).await {
            Ok(Some(Some(length))) => length,
            Ok(Some(None)) => {
                tracing::warn!("dropped a message whose headers have no valid Content-Length");
                continue;
            }
            Ok(None) => break,
            Err(error) => {
                tracing::warn!("cannot read the editor's messages: {error}");
                break;
            }
        };
        let mut body = vec![0u8; length];
        if let Err(error) = reader.read_exact(&mut body).await {
            tracing::warn!("the input ended inside a message of {length} bytes: {error}");
            break;
        }
        if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
            tracing::warn!("dropped a message whose body is not JSON ({length} bytes): {error}");
            continue;
        }
        let header = format!("Content-Length: {length}\r\n\r\n");
        let written = async {
            output.write_all(header.as_bytes()).await?;
            output.write_all(&body).await?;
            output.flush().await
        };
        if written.await.is_err() {
            // The server stopped reading (it exited): nothing more to pass on.
            break;
        }
    }
    let _ = output.shutdown().await;
}

/// Reads one header block. `None` at the end of the input; `Some(None)` for a block without a
/// usable `Content-Length`.
async fn read_headers(
    reader: &mut (impl AsyncBufReadExt + Unpin),
) -> std::io::Result<Option<Option<usize>>> {
    let mut length = None;
    let mut seen_bytes = 0usize;
    let mut saw_any_line = false;
    loop {
        let mut line = Vec::new();
        let read = reader.read_until(b'\n', &mut line).await?;
        if read == 0 {
            return Ok(None);
        }
        seen_bytes += read;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if !saw_any_line {
                // A stray blank line between messages.
                continue;
            }
            return Ok(Some(length));
        }
        saw_any_line = true;
        if seen_bytes > MAX_HEADER_BYTES {
            return Ok(Some(None));
        }
        if let Some((name, value)) = text.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn forwarded(input: &[u8]) -> String {
        let (mut reader, writer) = tokio::io::duplex(1 << 16);
        forward_valid_frames(input, writer).await;
        let mut out = String::new();
        reader.read_to_string(&mut out).await.expect("utf-8 output");
        out
    }

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    #[tokio::test]
    async fn good_frames_pass_and_bad_ones_are_dropped() {
        let good = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input = format!(
            "{}{}Content-Length: nine\r\n\r\n{}Content-Type: x\r\n\r\n{}",
            frame(good),
            frame(r#"{"oops": "#),
            frame(good),
            frame(good),
        );
        // Each good frame passes; the body that is not JSON, and the two header blocks without a
        // usable length, are dropped, and reading goes on at the next header block.
        assert_eq!(forwarded(input.as_bytes()).await, frame(good).repeat(3));
    }

    #[tokio::test]
    async fn invalid_utf8_and_a_cut_message_do_not_hang() {
        let mut input = b"Content-Length: 2\r\n\r\n\xff\xfe".to_vec();
        input.extend_from_slice(frame("{}").as_bytes());
        input.extend_from_slice(b"Content-Length: 100\r\n\r\n{}");
        assert_eq!(forwarded(&input).await, frame("{}"));
    }
}
