//! Explanation documents: a markdown file per chunk holding the three prompts of the Explanation
//! Requirement and where the chunk is — never its code, so the user answers from memory. Saving the
//! document records the answers as the chunk's explanation.

use std::path::{Path, PathBuf};

use crate::core::ChunkId;
use crate::core::text::line_range;

/// The first line ties a document to its chunk; the user is asked to keep it.
const MARKER: &str = "<!-- whetstone explanation · chunk ";

const PROMPTS: [&str; 3] = [
    "What does it do?",
    "Why this way, and what did it trade off?",
    "What would break if it changed?",
];

/// Where the chunk is, for the document's heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPlace {
    pub uri: String,
    pub chunk: ChunkId,
    /// The file's path as the user knows it (workspace-relative when possible).
    pub display_path: String,
    pub start_line: usize,
    pub end_line: usize,
    pub origin: String,
    pub items: Vec<String>,
}

/// The document's text.
pub fn render(place: &ChunkPlace) -> String {
    let lines = line_range(place.start_line, place.end_line);
    let what = if place.items.is_empty() {
        format!("{lines} of {}", place.display_path)
    } else {
        format!("`{}`", place.items.join("`, `"))
    };
    let count = place.end_line.saturating_sub(place.start_line);
    let mut text = format!(
        "{MARKER}{} · {} · keep this line: it ties your answers to the chunk -->\n\
         # Explain {what}\n\n\
         `{}`, {lines} ({count} {} {}). Answer from memory: without looking at the code or \
         asking an AI. Then save this file; whetstone records your answers as the explanation.\n",
        place.chunk.0,
        place.uri,
        place.display_path,
        if count == 1 { "line" } else { "lines" },
        place.origin,
    );
    for prompt in PROMPTS {
        text.push_str(&format!("\n## {prompt}\n\n\n"));
    }
    text
}

/// The chunk a document belongs to and the user's answers, joined; None when the marker line is
/// missing. Answers are empty when nothing was written under the prompts yet.
pub fn parse(text: &str) -> Option<(String, ChunkId, String)> {
    let marker_line = text.lines().find(|line| line.starts_with(MARKER))?;
    let rest = &marker_line[MARKER.len()..];
    let mut fields = rest.split(" · ");
    let chunk = fields.next()?.trim().parse().ok().map(ChunkId)?;
    let uri = fields.next()?.trim().to_string();
    let mut answers: Vec<String> = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            if let Some(section) = current.take() {
                answers.extend(answer(section));
            }
            current = Some((heading.trim().to_string(), Vec::new()));
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some(section) = current {
        answers.extend(answer(section));
    }
    Some((uri, chunk, answers.join("\n\n")))
}

fn answer((heading, lines): (String, Vec<&str>)) -> Option<String> {
    let body = lines.join("\n").trim().to_string();
    (!body.is_empty()).then(|| format!("{heading} {body}"))
}

/// The file name of a chunk's document.
pub fn file_name(chunk: ChunkId) -> String {
    format!("chunk-{}.md", chunk.0)
}

/// Whether `name` is a name [`file_name`] gives (and not a path that leaves the folder).
pub fn is_file_name(name: &str) -> bool {
    name.strip_prefix("chunk-")
        .and_then(|rest| rest.strip_suffix(".md"))
        .is_some_and(|digits| {
            !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
        })
}

/// What [`prepare`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepared {
    /// There was no document: a fresh one was written.
    Written,
    /// The document was there (or open in the editor) and is left exactly as it is.
    Reused,
    /// The document is there, but its first line no longer ties it to this chunk: saving it
    /// records nothing until the user deletes it (then Explain writes a fresh one).
    ReusedUntied,
}

/// The chunk's document in `folder` (created owner-only), written only when there is none.
///
/// A document that exists is never written again, answered or not: the user may have it open,
/// and an editor that does not reload a file changed under it (Helix) then refuses to save over
/// it; and it may hold the user's words. Nor is one written while the editor has it open
/// (`open_in_editor`), even if the file was deleted: the editor's text is the user's. Only a
/// document that is neither on disk nor open is written, from the chunk as it is now; a reused
/// one keeps the lines its heading named when it was written (its first line ties it to the
/// chunk by id, which edits do not change).
pub fn prepare(
    folder: &Path,
    place: &ChunkPlace,
    open_in_editor: bool,
) -> std::io::Result<(PathBuf, Prepared)> {
    create_private_folder(folder)?;
    let path = folder.join(file_name(place.chunk));
    if open_in_editor {
        return Ok((path, Prepared::Reused));
    }
    match std::fs::symlink_metadata(&path) {
        Ok(_) => {
            let tied = std::fs::read_to_string(&path)
                .ok()
                .and_then(|existing| parse(&existing))
                .is_some_and(|(_, chunk, _)| chunk == place.chunk);
            let prepared = if tied {
                Prepared::Reused
            } else {
                Prepared::ReusedUntied
            };
            Ok((path, prepared))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::write(&path, render(place))?;
            Ok((path, Prepared::Written))
        }
        Err(error) => Err(error),
    }
}

fn create_private_folder(folder: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> ChunkPlace {
        ChunkPlace {
            uri: "file:///w/src/http.rs".to_string(),
            chunk: ChunkId(12),
            display_path: "src/http.rs".to_string(),
            start_line: 42,
            end_line: 82,
            origin: "pasted".to_string(),
            items: vec!["fn parse_header".to_string()],
        }
    }

    #[test]
    fn a_fresh_document_has_prompts_and_no_answers() {
        let text = render(&place());
        expect_test::expect![[r#"
            <!-- whetstone explanation · chunk 12 · file:///w/src/http.rs · keep this line: it ties your answers to the chunk -->
            # Explain `fn parse_header`

            `src/http.rs`, lines 43–82 (40 lines pasted). Answer from memory: without looking at the code or asking an AI. Then save this file; whetstone records your answers as the explanation.

            ## What does it do?



            ## Why this way, and what did it trade off?



            ## What would break if it changed?


        "#]]
        .assert_eq(&text);
        assert_eq!(
            parse(&text),
            Some((
                "file:///w/src/http.rs".to_string(),
                ChunkId(12),
                String::new()
            ))
        );
    }

    #[test]
    fn answers_are_read_under_their_prompts() {
        let text = render(&place())
            .replace(
                "## What does it do?\n\n",
                "## What does it do?\n\nIt splits the header line.\n",
            )
            .replace(
                "changed?\n\n",
                "changed?\n\nKeep-alive clients, because they send blank lines.\n",
            );
        let (_, _, answers) = parse(&text).unwrap();
        assert_eq!(
            answers,
            "What does it do? It splits the header line.\n\n\
             What would break if it changed? Keep-alive clients, because they send blank lines."
        );
        assert_eq!(parse("# no marker\n## What does it do?\nx"), None);
    }

    #[test]
    fn only_the_names_it_gives_are_document_names() {
        assert!(is_file_name(&file_name(ChunkId(12))));
        for name in [
            "chunk-.md",
            "chunk-1.md.rs",
            "../chunk-1.md",
            "x/chunk-1.md",
            "chunk-1x.md",
        ] {
            assert!(!is_file_name(name), "{name}");
        }
    }

    #[test]
    fn written_answers_are_never_overwritten() {
        let folder = tempfile::tempdir().unwrap();
        let (path, prepared) = prepare(folder.path(), &place(), false).unwrap();
        assert_eq!(prepared, Prepared::Written);
        let answered = std::fs::read_to_string(&path)
            .unwrap()
            .replace("## What does it do?\n\n", "## What does it do?\n\nMine.\n");
        std::fs::write(&path, &answered).unwrap();
        assert_eq!(
            prepare(folder.path(), &place(), false).unwrap(),
            (path.clone(), Prepared::Reused)
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), answered);
    }

    /// Choosing Explain twice rewrote the unanswered document; Helix, which had it open, then
    /// refused `:w` ("file modified by an external process").
    #[test]
    fn an_unanswered_document_is_not_written_again() {
        let folder = tempfile::tempdir().unwrap();
        let (path, _) = prepare(folder.path(), &place(), false).unwrap();
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        let mut moved = place();
        moved.start_line = 50;
        moved.end_line = 90;
        assert_eq!(
            prepare(folder.path(), &moved, false).unwrap(),
            (path.clone(), Prepared::Reused)
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), render(&place()));
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            before
        );
    }

    #[test]
    fn a_deleted_document_is_written_anew_unless_the_editor_has_it_open() {
        let folder = tempfile::tempdir().unwrap();
        let (path, _) = prepare(folder.path(), &place(), false).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            prepare(folder.path(), &place(), true).unwrap(),
            (path.clone(), Prepared::Reused)
        );
        assert!(!path.exists(), "the editor's unsaved text is the user's");
        assert_eq!(
            prepare(folder.path(), &place(), false).unwrap(),
            (path.clone(), Prepared::Written)
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), render(&place()));
    }

    #[test]
    fn a_document_that_lost_its_first_line_is_kept_and_said_so() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join(file_name(ChunkId(12)));
        std::fs::write(&path, "## What does it do?\n\nMy words.\n").unwrap();
        assert_eq!(
            prepare(folder.path(), &place(), false).unwrap(),
            (path.clone(), Prepared::ReusedUntied)
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "## What does it do?\n\nMy words.\n"
        );
    }

    #[test]
    fn a_one_line_chunk_reads_as_one_line() {
        let mut one = place();
        one.items.clear();
        one.start_line = 190;
        one.end_line = 191;
        let text = render(&one);
        assert!(
            text.contains("# Explain line 191 of src/http.rs\n"),
            "{text}"
        );
        assert!(
            text.contains("`src/http.rs`, line 191 (1 line pasted)."),
            "{text}"
        );
    }
}
