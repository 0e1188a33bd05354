//! What the user sees: code lenses, diagnostics, code actions and hovers for a file's chunks,
//! built from the engine's chunk views. Plain functions of their inputs, so they are tested
//! without a client.

use serde_json::{Value, json};
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeLens, Command, Diagnostic,
    DiagnosticSeverity, Hover, HoverContents, MarkupContent, MarkupKind, NumberOrString, Position,
    Range,
};

use crate::core::engine::ChunkView;
use crate::core::syntax;
use crate::core::{Class, Origin};
use crate::lsp::settings::Severity;

pub const CLASSIFY: &str = "whetstone.classify";
pub const EXPLAIN: &str = "whetstone.explain";
pub const DISMISS: &str = "whetstone.dismiss";
pub const CHUNKS: &str = "whetstone.chunks";
pub const PRACTICED: &str = "whetstone.practiced";

pub const UNCLASSIFIED: &str = "unclassified-chunk";
pub const UNEXPLAINED_CORE: &str = "unexplained-core";

/// `⚑ 42 lines pasted · fn parse_header`, with the class once there is one.
pub fn title(view: &ChunkView) -> String {
    let lines = view.end_line - view.start_line;
    let noun = if lines == 1 { "line" } else { "lines" };
    let mut title = format!("⚑ {lines} {noun} {}", view.chunk.origin.as_str());
    let items = &view.chunk.items;
    // The stored list is capped; its last entry may count the rest (`+3 more`).
    let item_count = syntax::item_count(items);
    if items.is_empty() {
        title.push_str(&format!(
            " · lines {}–{}",
            view.start_line + 1,
            view.end_line
        ));
    } else {
        let shown: Vec<&str> = syntax::named_items(items)
            .iter()
            .take(2)
            .map(String::as_str)
            .collect();
        title.push_str(" · ");
        title.push_str(&shown.join(", "));
        if item_count > shown.len() {
            title.push_str(&format!(" +{}", item_count - shown.len()));
        }
    }
    match view.chunk.class {
        Some(Class::Core) if view.chunk.explanation.is_none() => {
            title.push_str(" · core, not yet explained")
        }
        Some(class) => title.push_str(&format!(" · {}", class.as_str())),
        None => {}
    }
    title
}

/// Lenses for every chunk that needs attention: a title, then one per action.
pub fn code_lenses(uri: &str, views: &[ChunkView]) -> Vec<CodeLens> {
    let mut lenses = Vec::new();
    for view in views.iter().filter(|view| view.chunk.needs_attention()) {
        let range = first_line_range(view);
        let lens = |title: &str, command: &str, arguments: Option<Vec<Value>>| CodeLens {
            range,
            command: Some(Command {
                title: title.to_string(),
                command: command.to_string(),
                arguments,
            }),
            data: None,
        };
        // The title lens has no command: editors show it as text that does nothing on click.
        lenses.push(lens(&title(view), "", None));
        for (label, command, arguments) in actions(uri, view) {
            lenses.push(lens(label, command, Some(vec![arguments])));
        }
    }
    lenses
}

/// The actions a chunk offers, as (label, command, argument object).
pub fn actions(uri: &str, view: &ChunkView) -> Vec<(&'static str, &'static str, Value)> {
    let chunk = view.chunk.id.0;
    let classify = |label, class: Class| {
        (
            label,
            CLASSIFY,
            json!({"uri": uri, "chunk": chunk, "class": class.as_str()}),
        )
    };
    let explain = ("Explain", EXPLAIN, json!({"uri": uri, "chunk": chunk}));
    let dismiss = ("Not AI", DISMISS, json!({"uri": uri, "chunk": chunk}));
    match view.chunk.class {
        None => vec![
            classify("Transient", Class::Transient),
            classify("Repeatable", Class::Repeatable),
            classify("Core", Class::Core),
            explain,
            dismiss,
        ],
        Some(Class::Core) if view.chunk.explanation.is_none() => vec![explain],
        Some(_) => Vec::new(),
    }
}

/// Diagnostics for the chunks that need attention.
pub fn diagnostics(views: &[ChunkView], severity: Severity) -> Vec<Diagnostic> {
    views
        .iter()
        .filter(|view| view.chunk.needs_attention())
        .map(|view| {
            let (code, message) = if view.chunk.class.is_none() {
                (
                    UNCLASSIFIED,
                    format!(
                        "{} — decide how much of it you must own: transient, repeatable or core (code actions)",
                        title(view).trim_start_matches("⚑ ")
                    ),
                )
            } else {
                (
                    UNEXPLAINED_CORE,
                    format!(
                        "{} — core code you must be able to explain: write what it does and why, from memory",
                        title(view).trim_start_matches("⚑ ")
                    ),
                )
            };
            Diagnostic {
                range: chunk_range(view),
                severity: Some(match severity {
                    Severity::Error => DiagnosticSeverity::ERROR,
                    Severity::Warning => DiagnosticSeverity::WARNING,
                    Severity::Information => DiagnosticSeverity::INFORMATION,
                    Severity::Hint => DiagnosticSeverity::HINT,
                }),
                code: Some(NumberOrString::String(code.to_string())),
                source: Some("whetstone".to_string()),
                message,
                data: Some(json!({"chunk": view.chunk.id.0})),
                ..Diagnostic::default()
            }
        })
        .collect()
}

/// Code actions for the chunks a range touches (the only route to the commands in Helix).
pub fn code_actions(
    uri: &str,
    views: &[ChunkView],
    range_start_line: usize,
    range_end_line: usize,
    diagnostics: &[Diagnostic],
) -> Vec<CodeActionOrCommand> {
    let mut result = Vec::new();
    for view in views {
        let touches = view.start_line <= range_end_line
            && range_start_line < view.end_line.max(view.start_line + 1);
        if !touches {
            continue;
        }
        let related: Vec<Diagnostic> = diagnostics
            .iter()
            .filter(|diagnostic| {
                diagnostic.data.as_ref().and_then(|data| data.get("chunk"))
                    == Some(&json!(view.chunk.id.0))
            })
            .cloned()
            .collect();
        let mut chunk_actions = actions(uri, view);
        if view.chunk.class == Some(Class::Repeatable) {
            chunk_actions.push((
                "Reproduced it from memory",
                PRACTICED,
                json!({"uri": uri, "chunk": view.chunk.id.0}),
            ));
        }
        if view.chunk.class.is_some() {
            // A judged chunk can still be explained (again) or dismissed from the menu.
            if !chunk_actions
                .iter()
                .any(|(_, command, _)| *command == EXPLAIN)
            {
                chunk_actions.push((
                    "Explain",
                    EXPLAIN,
                    json!({"uri": uri, "chunk": view.chunk.id.0}),
                ));
            }
            chunk_actions.push((
                "Not AI",
                DISMISS,
                json!({"uri": uri, "chunk": view.chunk.id.0}),
            ));
        }
        for (label, command, arguments) in chunk_actions {
            result.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("Whetstone: {label}"),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: (!related.is_empty()).then(|| related.clone()),
                command: Some(Command {
                    title: label.to_string(),
                    command: command.to_string(),
                    arguments: Some(vec![arguments]),
                }),
                ..CodeAction::default()
            }));
        }
    }
    result
}

/// A hover for the chunk on `line`, if any: origin, size, age, class and explanation summary.
pub fn hover(views: &[ChunkView], line: usize, now_ms: u64) -> Option<Hover> {
    let view = views
        .iter()
        .find(|view| view.start_line <= line && line < view.end_line)?;
    let chunk = &view.chunk;
    let lines = view.end_line - view.start_line;
    let origin = match chunk.origin {
        Origin::External => "changed outside the editor",
        other => other.as_str(),
    };
    let mut text = format!(
        "**Whetstone** · {lines} line{} {origin} {}",
        if lines == 1 { "" } else { "s" },
        age(now_ms.saturating_sub(chunk.created_ms))
    );
    let named = syntax::named_items(&chunk.items);
    if !named.is_empty() {
        text.push_str(&format!(" · `{}`", named.join("`, `")));
        let more = syntax::item_count(&chunk.items) - named.len();
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
    }
    text.push_str("\n\n");
    match chunk.class {
        None => text.push_str("Not classified yet: is it transient, repeatable or core?"),
        Some(class) => text.push_str(&format!("Class: **{}**", class.as_str())),
    }
    match &chunk.explanation {
        Some(explanation) => {
            let summary = summary(&explanation.text, 160);
            let depth = if explanation.score.shallow {
                "shallow"
            } else {
                "thorough"
            };
            text.push_str(&format!(
                "\n\nExplanation ({depth}, {}/100): “{summary}”",
                explanation.score.score
            ));
        }
        None if chunk.class == Some(Class::Core) => {
            text.push_str("\n\nNot explained yet: core code you must be able to explain.")
        }
        None => {}
    }
    if chunk.reworked_chars > 0 {
        text.push_str(&format!(
            "\n\nReworked by hand: {} characters.",
            chunk.reworked_chars
        ));
    }
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(chunk_range(view)),
    })
}

/// "just now", "3 minutes ago", "2 hours ago", "5 days ago".
pub fn age(elapsed_ms: u64) -> String {
    let minutes = elapsed_ms / 60_000;
    let plural =
        |count: u64, unit: &str| format!("{count} {unit}{} ago", if count == 1 { "" } else { "s" });
    match minutes {
        0 => "just now".to_string(),
        1..=59 => plural(minutes, "minute"),
        60..=2_879 => plural(minutes / 60, "hour"),
        _ => plural(minutes / 1_440, "day"),
    }
}

fn summary(text: &str, limit: usize) -> String {
    let single_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if single_line.chars().count() <= limit {
        return single_line;
    }
    let cut: String = single_line.chars().take(limit).collect();
    format!("{}…", cut.trim_end())
}

fn first_line_range(view: &ChunkView) -> Range {
    let line = saturating_u32(view.start_line);
    Range::new(Position::new(line, 0), Position::new(line, 0))
}

fn chunk_range(view: &ChunkView) -> Range {
    // To the start of the line after the chunk: covers the last line whatever its length.
    Range::new(
        Position::new(saturating_u32(view.start_line), 0),
        Position::new(saturating_u32(view.end_line), 0),
    )
}

fn saturating_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::chunk::{Chunk, ChunkId, Explanation, score_explanation};

    fn view(class: Option<Class>, explained: bool) -> ChunkView {
        let explanation = explained.then(|| Explanation {
            text: "parse_header splits the request line because the parser wants tokens"
                .to_string(),
            recorded_ms: 0,
            score: score_explanation(
                "parse_header splits the request line because",
                &["parse_header".to_string()],
            ),
        });
        ChunkView {
            chunk: Chunk {
                id: ChunkId(7),
                uri: "file:///w/a.rs".to_string(),
                origin: Origin::Pasted,
                created_ms: 0,
                inserted_lines: 42,
                class,
                classified_ms: None,
                explanation,
                practiced_ms: Vec::new(),
                items: vec!["fn parse_header".to_string()],
                identifiers: vec!["parse_header".to_string()],
                reworked_chars: 0,
                syntax_stale: false,
            },
            start_line: 10,
            end_line: 52,
        }
    }

    fn titles(lenses: &[CodeLens]) -> Vec<String> {
        lenses
            .iter()
            .map(|lens| {
                lens.command
                    .as_ref()
                    .map(|command| command.title.clone())
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Ten pasted functions were titled `fn helper_0, fn helper_1 +6`: the count came from the
    /// item list, which keeps at most eight entries.
    #[test]
    fn a_title_counts_every_item_past_the_capped_list() {
        let mut ten = view(None, false);
        let mut source = String::new();
        for index in 0..10 {
            source.push_str(&format!("fn helper_{index}() {{}}\n"));
        }
        ten.chunk.items = syntax::Syntax::new()
            .summarize(syntax::Language::Rust, &source)
            .items;
        assert_eq!(
            title(&ten),
            "⚑ 42 lines pasted · fn helper_0, fn helper_1 +8"
        );
        let three = ["fn a", "fn b", "fn c"].map(String::from).to_vec();
        ten.chunk.items = three;
        assert_eq!(title(&ten), "⚑ 42 lines pasted · fn a, fn b +1");
    }

    #[test]
    fn an_unclassified_chunk_gets_a_title_and_five_actions() {
        let lenses = code_lenses("file:///w/a.rs", &[view(None, false)]);
        expect_test::expect![[r#"
            [
                "⚑ 42 lines pasted · fn parse_header",
                "Transient",
                "Repeatable",
                "Core",
                "Explain",
                "Not AI",
            ]
        "#]]
        .assert_debug_eq(&titles(&lenses));
        assert!(lenses.iter().all(|lens| lens.range.start.line == 10));
        let classify = lenses[3].command.as_ref().unwrap();
        assert_eq!(classify.command, CLASSIFY);
        assert_eq!(
            classify.arguments,
            Some(vec![
                json!({"uri": "file:///w/a.rs", "chunk": 7, "class": "core"})
            ])
        );
    }

    #[test]
    fn core_keeps_an_explain_lens_until_explained() {
        let lenses = code_lenses("u", &[view(Some(Class::Core), false)]);
        assert_eq!(
            titles(&lenses),
            vec![
                "⚑ 42 lines pasted · fn parse_header · core, not yet explained",
                "Explain"
            ]
        );
        assert!(code_lenses("u", &[view(Some(Class::Core), true)]).is_empty());
        assert!(code_lenses("u", &[view(Some(Class::Transient), false)]).is_empty());
    }

    #[test]
    fn diagnostics_name_what_is_missing() {
        let unclassified = diagnostics(&[view(None, false)], Severity::Information);
        assert_eq!(
            unclassified[0].code,
            Some(NumberOrString::String(UNCLASSIFIED.to_string()))
        );
        assert_eq!(unclassified[0].range.start.line, 10);
        let core = diagnostics(&[view(Some(Class::Core), false)], Severity::Hint);
        assert_eq!(
            core[0].code,
            Some(NumberOrString::String(UNEXPLAINED_CORE.to_string()))
        );
        assert_eq!(core[0].severity, Some(DiagnosticSeverity::HINT));
    }

    #[test]
    fn hover_summarises_the_chunk() {
        let hover = hover(&[view(Some(Class::Core), true)], 20, 3 * 60_000).unwrap();
        let HoverContents::Markup(markup) = hover.contents else {
            panic!("markdown expected")
        };
        assert!(
            markup.value.contains("42 lines pasted 3 minutes ago"),
            "{}",
            markup.value
        );
        assert!(markup.value.contains("Class: **core**"));
        assert!(
            markup
                .value
                .contains("parse_header splits the request line")
        );
        assert!(super::hover(&[view(None, false)], 60, 0).is_none());
    }

    #[test]
    fn code_actions_cover_the_chunk_range_only() {
        let views = [view(None, false)];
        assert_eq!(code_actions("u", &views, 0, 5, &[]).len(), 0);
        assert_eq!(code_actions("u", &views, 51, 51, &[]).len(), 5);
    }

    #[test]
    fn ages_read_like_speech() {
        assert_eq!(age(10_000), "just now");
        assert_eq!(age(60_000), "1 minute ago");
        assert_eq!(age(3 * 3_600_000), "3 hours ago");
        assert_eq!(age(5 * 86_400_000), "5 days ago");
    }
}
