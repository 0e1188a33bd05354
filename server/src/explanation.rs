//! Explanation documents: a markdown file per chunk holding the three prompts of the Explanation
//! Requirement and where the chunk is — never its code, so the user answers from memory. Saving the
//! document records the answers as the chunk's explanation.

use std::path::{Path, PathBuf};

use crate::core::ChunkId;

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
    let what = if place.items.is_empty() {
        format!(
            "lines {}–{} of {}",
            place.start_line + 1,
            place.end_line,
            place.display_path
        )
    } else {
        format!("`{}`", place.items.join("`, `"))
    };
    let mut text = format!(
        "{MARKER}{} · {} · keep this line: it ties your answers to the chunk -->\n\
         # Explain {what}\n\n\
         `{}`, lines {}–{} ({} lines {}). Answer from memory: without looking at the code or \
         asking an AI. Then save this file; whetstone records your answers as the explanation.\n",
        place.chunk.0,
        place.uri,
        place.display_path,
        place.start_line + 1,
        place.end_line,
        place.end_line - place.start_line,
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

/// Writes the document into `folder` (created owner-only) unless one with answers exists: the
/// user's earlier words are never overwritten. Returns its path.
pub fn write(folder: &Path, place: &ChunkPlace) -> std::io::Result<PathBuf> {
    create_private_folder(folder)?;
    let path = folder.join(file_name(place.chunk));
    if let Ok(existing) = std::fs::read_to_string(&path)
        && parse(&existing).is_some_and(|(_, _, answers)| !answers.is_empty())
    {
        return Ok(path);
    }
    std::fs::write(&path, render(place))?;
    Ok(path)
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
        let path = write(folder.path(), &place()).unwrap();
        let answered = std::fs::read_to_string(&path)
            .unwrap()
            .replace("## What does it do?\n\n", "## What does it do?\n\nMine.\n");
        std::fs::write(&path, &answered).unwrap();
        write(folder.path(), &place()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), answered);
    }
}
