//! What git has committed for a file (`git show HEAD:<path>`), so that a checkout, a stash or a
//! branch switch is not mistaken for new code. Without git, or outside a repository, nothing is
//! committed and detection works as before.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A `git show` that takes longer than this is given up on (a huge repository, a hung hook).
/// It runs off the server's loop: only the events of the document it was asked for wait.
const GIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The file's content at HEAD, if it is in a git repository and tracked there.
pub fn committed_text_of(path: &Path) -> Option<String> {
    let directory = path.parent()?;
    let name = path.file_name()?.to_str()?;
    let mut child = Command::new("git")
        .arg("-C")
        .arg(directory)
        .arg("show")
        .arg(format!("HEAD:./{name}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    // Read on a thread so that a hung git cannot hold the server past the timeout.
    // Never a panic: a document's events wait for this answer, so every path returns one.
    let reader = std::thread::Builder::new()
        .name("whetstone-git-show".to_string())
        .spawn(move || {
            let mut bytes = Vec::new();
            stdout.read_to_end(&mut bytes).ok().map(|_| bytes)
        });
    let reader = match reader {
        Ok(reader) => reader,
        Err(error) => {
            tracing::warn!("cannot read git's answer ({error}); treating it as not committed");
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
    };
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let bytes = reader.join().ok()??;
                return status
                    .success()
                    .then(|| String::from_utf8(bytes).ok())
                    .flatten();
            }
            Ok(None) if started.elapsed() < GIT_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(5))
            }
            _ => {
                tracing::warn!(
                    "git show for {} took over {GIT_TIMEOUT:?}; treating it as not committed",
                    path.display()
                );
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}
