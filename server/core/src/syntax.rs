//! Syntactic summary of a chunk: the named items it covers (for its title) and the identifiers it
//! uses (for scoring the engineer's explanation), found with the tree-sitter queries in `grammars/`.
//!
//! The node patterns are data (`grammars/<language>/*.scm`, embedded at build time); this file only
//! runs them and turns the captured nodes into names. A chunk is usually a fragment (statements
//! without their function, half an impl, unbalanced braces), so everything here takes whatever
//! tree-sitter's error recovery makes of it and never fails: at worst the summary is empty.
//!
//! Speed, measured in release on the development VM with throwaway programs: a 200-line chunk of
//! real Rust (6 to 9 KB) summarizes in 0.65 to 1.2 ms, of which tree-sitter's parse alone is 0.35
//! to 0.85 ms and the identifiers walk most of the rest; the items query stays near the root (see
//! `MAX_ITEM_START_DEPTH`) and costs about 30 µs. The parser and the query cursor are reused
//! between calls.

use std::cmp::Reverse;
use std::collections::HashSet;

use tree_sitter::{Node, Parser, Query, QueryCursor, StreamingIterator};

/// At most this many entries are kept in a summary's item list: a title has no room for more.
/// When a chunk holds more items, the last entry says how many more (see [`more_items_entry`]),
/// so the list still tells the true count wherever it goes (the title, the hover, the store).
const MAX_ITEMS: usize = 8;
/// The last entry of a full item list: `+3 more`. No item title starts with `+`.
const MORE_ITEMS_PREFIX: &str = "+";
const MORE_ITEMS_SUFFIX: &str = " more";
/// At most this many identifiers are collected: plenty to score an explanation against.
const MAX_IDENTIFIERS: usize = 64;
/// Shorter names (`i`, `x`, `T`) are loop counters and type parameters, not names worth explaining.
const MIN_IDENTIFIER_CHARS: usize = 2;
/// Only this much of a chunk is parsed. This bounds the time a huge paste can take (parsing runs
/// at about 10 MB/s, so some 25 ms) and keeps byte offsets far below tree-sitter's 4 GiB limit;
/// the first 256 KiB already hold more items and names than we keep.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;
/// Items are looked for no deeper than this below the root (source file > ERROR > ERROR > item
/// is depth 3), which keeps the items query from walking the insides of function bodies: it
/// then costs a tenth of a full walk. The only items missed are ones nested in other items,
/// which are not listed anyway, or buried in deep error recovery.
const MAX_ITEM_START_DEPTH: u32 = 4;

const RUST_ITEMS_QUERY: &str = include_str!("../../../grammars/rust/items.scm");
const RUST_IDENTIFIERS_QUERY: &str = include_str!("../../../grammars/rust/identifiers.scm");

/// A language we have a grammar and queries for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Rust,
}

impl Language {
    /// Language from a file path or URI by its extension (`.rs` -> Rust); None when we have no
    /// grammar.
    #[must_use]
    pub fn from_path(path: &str) -> Option<Language> {
        // Both `/` and `\` end a directory so that Windows paths work as well as URIs; a dot in a
        // directory name must not count as the file's extension.
        let file_name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let (_, extension) = file_name.rsplit_once('.')?;
        if extension.eq_ignore_ascii_case("rs") {
            Some(Language::Rust)
        } else {
            None
        }
    }
}

/// What a chunk contains, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyntaxSummary {
    /// The outermost named items in source order, such as `fn parse_header`,
    /// `impl Display for Header` or `macro_rules! bail`, without repeats; at most eight entries.
    /// Past eight items, seven are named and the eighth entry counts the rest, `+5 more`
    /// ([`item_count`] reads the true count back).
    ///
    /// An impl is named by its trait and self type as written, without the impl's own generic
    /// parameters: `impl<T> From<T> for Wrapper<T>` is `impl From<T> for Wrapper<T>`. Runs of
    /// whitespace inside a name (a type split over lines) become one space.
    pub items: Vec<String>,
    /// Distinct identifier-like names in order of first appearance, at least two characters long,
    /// without keywords, `self`, `Self`, `super` and `crate`; at most 64.
    pub identifiers: Vec<String>,
}

/// Holds the parser and the compiled queries so they are built once and reused.
pub struct Syntax {
    parser: Parser,
    /// The language the parser is currently set to, so that it is switched only when needed.
    parser_language: Option<Language>,
    cursor: QueryCursor,
    rust: Grammar,
}

impl Syntax {
    /// Compiles the embedded queries.
    #[must_use]
    pub fn new() -> Syntax {
        Syntax {
            parser: Parser::new(),
            parser_language: None,
            cursor: QueryCursor::new(),
            rust: Grammar::new(
                tree_sitter_rust::LANGUAGE.into(),
                RUST_ITEMS_QUERY,
                RUST_IDENTIFIERS_QUERY,
            ),
        }
    }

    /// Names the items and collects the identifiers of `source`, the text of one chunk.
    pub fn summarize(&mut self, language: Language, source: &str) -> SyntaxSummary {
        let source = truncate_at_char_boundary(source, MAX_SOURCE_BYTES);
        if source.trim().is_empty() {
            return SyntaxSummary::default();
        }
        let grammar = match language {
            Language::Rust => &self.rust,
        };
        if self.parser_language != Some(language) {
            // Only fails when the grammar was generated for an incompatible tree-sitter version,
            // which the tests would catch; an empty summary is the graceful answer.
            if self.parser.set_language(&grammar.language).is_err() {
                return SyntaxSummary::default();
            }
            self.parser_language = Some(language);
        }
        let Some(tree) = self.parser.parse(source, None) else {
            return SyntaxSummary::default();
        };
        let root = tree.root_node();
        SyntaxSummary {
            items: grammar.items.collect(&mut self.cursor, root, source),
            identifiers: grammar.identifiers.collect(&mut self.cursor, root, source),
        }
    }
}

impl Default for Syntax {
    fn default() -> Syntax {
        Syntax::new()
    }
}

// By hand because the parser and the queries have no `Debug`; this lets a `Syntax` sit inside
// structs that derive it.
impl std::fmt::Debug for Syntax {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Syntax")
            .field("parser_language", &self.parser_language)
            .finish_non_exhaustive()
    }
}

/// One language's grammar and queries.
struct Grammar {
    language: tree_sitter::Language,
    items: ItemsQuery,
    identifiers: IdentifiersQuery,
}

impl Grammar {
    fn new(
        language: tree_sitter::Language,
        items_source: &str,
        identifiers_source: &str,
    ) -> Grammar {
        // The queries are our own embedded files and a test compiles every one of them, so a
        // failure here is a bug in this crate, not something input can cause.
        let items_query =
            Query::new(&language, items_source).expect("embedded items query should compile");
        let identifiers_query = Query::new(&language, identifiers_source)
            .expect("embedded identifiers query should compile");
        Grammar {
            items: ItemsQuery::new(items_query),
            identifiers: IdentifiersQuery::new(identifiers_query),
            language,
        }
    }
}

/// The items query (`items.scm`) with its capture indices and per-pattern title keywords looked
/// up once.
struct ItemsQuery {
    query: Query,
    item_capture: Option<u32>,
    name_capture: Option<u32>,
    trait_capture: Option<u32>,
    /// The `#set! keyword` value of each pattern, by pattern index.
    keywords: Vec<Option<Box<str>>>,
}

/// An item found by the query, before nesting is resolved; nodes are cheap copies into the tree.
struct FoundItem<'tree, 'query> {
    item: Node<'tree>,
    name: Node<'tree>,
    implemented_trait: Option<Node<'tree>>,
    keyword: &'query str,
}

impl ItemsQuery {
    fn new(query: Query) -> ItemsQuery {
        let keywords = (0..query.pattern_count())
            .map(|pattern_index| {
                query
                    .property_settings(pattern_index)
                    .iter()
                    .find(|property| &*property.key == "keyword")
                    .and_then(|property| property.value.clone())
            })
            .collect();
        ItemsQuery {
            item_capture: query.capture_index_for_name("item"),
            name_capture: query.capture_index_for_name("name"),
            trait_capture: query.capture_index_for_name("trait"),
            keywords,
            query,
        }
    }

    fn collect(&self, cursor: &mut QueryCursor, root: Node, source: &str) -> Vec<String> {
        let mut found = Vec::new();
        cursor.set_max_start_depth(Some(MAX_ITEM_START_DEPTH));
        let mut matches = cursor.matches(&self.query, root, source.as_bytes());
        while let Some(found_match) = matches.next() {
            let Some(keyword) = self
                .keywords
                .get(found_match.pattern_index)
                .and_then(Option::as_deref)
            else {
                continue;
            };
            let mut item = None;
            let mut name = None;
            let mut implemented_trait = None;
            for capture in found_match.captures() {
                let index = Some(capture.index);
                if index == self.item_capture {
                    item = Some(capture.node);
                } else if index == self.name_capture {
                    name = Some(capture.node);
                } else if index == self.trait_capture {
                    implemented_trait = Some(capture.node);
                }
            }
            // Error recovery can invent a zero-width name (`fn (` gets a MISSING identifier);
            // such an item has nothing to show, and whatever it contains may still be listed.
            if let (Some(item), Some(name)) = (item, name)
                && name.start_byte() < name.end_byte()
            {
                found.push(FoundItem {
                    item,
                    name,
                    implemented_trait,
                    keyword,
                });
            }
        }

        // Matches arrive roughly but not strictly in source order. Sorting outer before inner
        // (earlier start, then later end) lets one pass skip everything inside a listed item.
        found.sort_by_key(|found_item| {
            (
                found_item.item.start_byte(),
                Reverse(found_item.item.end_byte()),
            )
        });
        // Every distinct title is counted, so a full list can say how many it left out.
        let mut titles: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut covered_until = 0;
        for found_item in found {
            if found_item.item.start_byte() < covered_until {
                continue;
            }
            covered_until = found_item.item.end_byte();
            let Some(title) = item_title(&found_item, source) else {
                continue;
            };
            if seen.insert(title.clone()) {
                titles.push(title);
            }
        }
        if titles.len() > MAX_ITEMS {
            let named = MAX_ITEMS - 1;
            let more = titles.len() - named;
            titles.truncate(named);
            titles.push(more_items_entry(more));
        }
        titles
    }
}

/// The entry that ends a full item list: `+3 more`.
#[must_use]
pub fn more_items_entry(more: usize) -> String {
    format!("{MORE_ITEMS_PREFIX}{more}{MORE_ITEMS_SUFFIX}")
}

/// How many items a chunk covers, from its item list: its length, or, when the list ends with a
/// `+N more` entry, the named ones plus N.
#[must_use]
pub fn item_count(items: &[String]) -> usize {
    match items.split_last() {
        Some((last, named)) => match more_items_of(last) {
            Some(more) => named.len() + more,
            None => items.len(),
        },
        None => 0,
    }
}

/// The item names of a list, without its `+N more` entry.
#[must_use]
pub fn named_items(items: &[String]) -> &[String] {
    match items.split_last() {
        Some((last, named)) if more_items_of(last).is_some() => named,
        _ => items,
    }
}

fn more_items_of(entry: &str) -> Option<usize> {
    entry
        .strip_prefix(MORE_ITEMS_PREFIX)?
        .strip_suffix(MORE_ITEMS_SUFFIX)?
        .parse()
        .ok()
}

/// `fn parse_header`, `impl Header`, `impl Display for Header`: the keyword, the trait if any,
/// then the name, each as written with its whitespace collapsed.
fn item_title(found_item: &FoundItem, source: &str) -> Option<String> {
    let mut title = String::from(found_item.keyword);
    if let Some(implemented_trait) = found_item.implemented_trait {
        title.push(' ');
        push_collapsing_whitespace(&mut title, source.get(implemented_trait.byte_range())?);
        title.push_str(" for");
    }
    title.push(' ');
    push_collapsing_whitespace(&mut title, source.get(found_item.name.byte_range())?);
    Some(title)
}

/// Appends `text` with every run of whitespace, line breaks included, turned into one space, so
/// that a type written over several lines still makes a one-line title.
fn push_collapsing_whitespace(out: &mut String, text: &str) {
    for (index, word) in text.split_whitespace().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

/// The identifiers query (`identifiers.scm`) with its capture index looked up once.
struct IdentifiersQuery {
    query: Query,
    identifier_capture: Option<u32>,
}

impl IdentifiersQuery {
    fn new(query: Query) -> IdentifiersQuery {
        IdentifiersQuery {
            identifier_capture: query.capture_index_for_name("identifier"),
            query,
        }
    }

    fn collect(&self, cursor: &mut QueryCursor, root: Node, source: &str) -> Vec<String> {
        let mut identifiers = Vec::new();
        cursor.set_max_start_depth(None);
        // Borrowed from the source, so only names that are kept get allocated.
        let mut seen: HashSet<&str> = HashSet::new();
        // Each match is a single node, and matches come in a pre-order walk of the tree, so this is
        // already source order; `captures()` would re-sort for nothing.
        let mut matches = cursor.matches(&self.query, root, source.as_bytes());
        while let Some(found_match) = matches.next() {
            for capture in found_match.captures() {
                if Some(capture.index) != self.identifier_capture {
                    continue;
                }
                let Some(name) = source.get(capture.node.byte_range()) else {
                    continue;
                };
                if name.chars().nth(MIN_IDENTIFIER_CHARS - 1).is_none() {
                    continue;
                }
                if seen.insert(name) {
                    identifiers.push(name.to_owned());
                    if identifiers.len() == MAX_IDENTIFIERS {
                        return identifiers;
                    }
                }
            }
        }
        identifiers
    }
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends on a char boundary.
fn truncate_at_char_boundary(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use expect_test::{Expect, expect};

    use super::*;

    fn check(source: &str, expected: Expect) {
        let summary = Syntax::new().summarize(Language::Rust, source);
        let or_none = |text: String| {
            if text.is_empty() {
                "(none)".to_owned()
            } else {
                text
            }
        };
        expected.assert_eq(&format!(
            "items: {}\nidentifiers: {}",
            or_none(summary.items.join(" | ")),
            or_none(summary.identifiers.join(" "))
        ));
    }

    /// The tree-sitter language for a directory under `grammars/`; a new directory fails the test
    /// until it is added here, so its queries cannot go untested.
    fn language_for_grammar_directory(directory: &str) -> tree_sitter::Language {
        match directory {
            "rust" => tree_sitter_rust::LANGUAGE.into(),
            other => panic!("no tree-sitter language for grammars/{other}"),
        }
    }

    #[test]
    fn every_query_file_compiles() {
        let grammars = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../grammars");
        let mut compiled = Vec::new();
        for directory in std::fs::read_dir(&grammars).expect("grammars directory should exist") {
            let directory = directory
                .expect("grammars directory should be readable")
                .path();
            if !directory.is_dir() {
                continue;
            }
            let directory_name = directory
                .file_name()
                .and_then(|name| name.to_str())
                .expect("grammar directory names should be utf-8")
                .to_owned();
            let language = language_for_grammar_directory(&directory_name);
            for file in std::fs::read_dir(&directory).expect("grammar directory should be readable")
            {
                let file = file.expect("grammar directory should be readable").path();
                if file.extension().is_none_or(|extension| extension != "scm") {
                    continue;
                }
                let source = std::fs::read_to_string(&file).expect("query should be readable");
                if let Err(error) = Query::new(&language, &source) {
                    panic!("{} does not compile: {error}", file.display());
                }
                let file_name = file.file_name().and_then(|name| name.to_str());
                compiled.push(format!("{directory_name}/{}", file_name.unwrap_or("?")));
            }
        }
        // The walk must at least have reached the queries this file embeds.
        for embedded in ["rust/items.scm", "rust/identifiers.scm"] {
            assert!(
                compiled.iter().any(|path| path == embedded),
                "{embedded} not found"
            );
        }
    }

    #[test]
    fn every_item_pattern_declares_its_keyword_and_captures() {
        let items = &Syntax::new().rust.items;
        assert!(items.item_capture.is_some() && items.name_capture.is_some());
        assert!(items.trait_capture.is_some());
        for (pattern_index, keyword) in items.keywords.iter().enumerate() {
            assert!(
                keyword.is_some(),
                "items pattern {pattern_index} has no keyword"
            );
        }
        assert!(Syntax::new().rust.identifiers.identifier_capture.is_some());
    }

    #[test]
    fn language_from_path() {
        let paths = [
            "src/main.rs",
            "file:///home/me/project/src/lib.rs",
            "C:\\project\\src\\lib.rs",
            "MAIN.RS",
            "src/main.py",
            "Makefile",
            "src.rs/readme",
            "",
        ];
        let languages: Vec<String> = paths
            .iter()
            .map(|path| format!("{path} -> {:?}", Language::from_path(path)))
            .collect();
        expect![[r#"
            src/main.rs -> Some(Rust)
            file:///home/me/project/src/lib.rs -> Some(Rust)
            C:\project\src\lib.rs -> Some(Rust)
            MAIN.RS -> Some(Rust)
            src/main.py -> None
            Makefile -> None
            src.rs/readme -> None
             -> None"#]]
        .assert_eq(&languages.join("\n"));
    }

    /// Ten pasted functions read `+6` in the lens title: the count came from the capped list.
    #[test]
    fn more_items_than_the_list_holds_keep_their_true_count() {
        let source: String = (0..10)
            .map(|index| format!("fn helper_{index}() -> u32 {{\n    {index}\n}}\n\n"))
            .collect();
        let summary = Syntax::new().summarize(Language::Rust, &source);
        expect!["fn helper_0 | fn helper_1 | fn helper_2 | fn helper_3 | fn helper_4 | fn helper_5 | fn helper_6 | +3 more"].assert_eq(&summary.items.join(" | "));
        assert_eq!(item_count(&summary.items), 10);
        assert_eq!(named_items(&summary.items).len(), 7);
        // A list that fits is counted as it is, and names every item.
        let eight: Vec<String> = (0..8).map(|index| format!("fn f{index}")).collect();
        assert_eq!(item_count(&eight), 8);
        assert_eq!(named_items(&eight), &eight[..]);
        assert_eq!(item_count(&[]), 0);
        // Only an entry shaped `+N more` counts as the rest.
        let odd = vec!["fn a".to_string(), "+x more".to_string()];
        assert_eq!(item_count(&odd), 2);
    }

    #[test]
    fn single_function() {
        check(
            "fn parse_header(bytes: &[u8]) -> Option<Header> {\n    let length = bytes.len();\n    None\n}\n",
            expect![[r#"
                items: fn parse_header
                identifiers: parse_header bytes Option Header length len None"#]],
        );
    }

    #[test]
    fn trait_impl_with_methods_is_one_item() {
        check(
            r#"impl Display for Header {
    fn fmt(&self, formatter: &mut Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.name)
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, formatter: &mut Formatter) -> fmt::Result { Ok(()) }
}
"#,
            expect![[r#"
                items: impl Display for Header | impl fmt::Debug for Header
                identifiers: Display Header fmt formatter Formatter Result write name Debug Ok"#]],
        );
    }

    #[test]
    fn inherent_impl() {
        check(
            "impl Header {\n    pub fn new() -> Self { Self { name: String::new() } }\n    fn len(&self) -> usize { 0 }\n}\n",
            expect![[r#"
                items: impl Header
                identifiers: Header new name String len"#]],
        );
    }

    #[test]
    fn generic_impl_drops_only_the_impl_parameters() {
        check(
            "impl<T: Clone> From<T> for Wrapper<T> {\n    fn from(value: T) -> Self { Wrapper(value) }\n}\nimpl<'a, K, V> Iterator\n    for Entries<'a,\n        K, V>\nwhere K: Ord {\n    type Item = (&'a K, &'a V);\n}\n",
            expect![[r#"
                items: impl From<T> for Wrapper<T> | impl Iterator for Entries<'a, K, V>
                identifiers: Clone From Wrapper from value Iterator Entries Ord Item"#]],
        );
    }

    #[test]
    fn bare_methods_without_their_impl_are_each_listed() {
        check(
            "    pub fn name(&self) -> &str {\n        &self.name\n    }\n\n    fn set_name(&mut self, name: String) {\n        self.name = name;\n    }\n",
            expect![[r#"
                items: fn name | fn set_name
                identifiers: name set_name String"#]],
        );
    }

    #[test]
    fn trait_method_signatures_without_their_trait() {
        check(
            "    fn next(&mut self) -> Option<Self::Item>;\n    fn size_hint(&self) -> (usize, Option<usize>) { (0, None) }\n",
            expect![[r#"
                items: fn next | fn size_hint
                identifiers: next Option Item size_hint None"#]],
        );
    }

    #[test]
    fn fragment_of_statements_has_identifiers_but_no_items() {
        check(
            "    let header = parse_header(&buffer)?;\n    if header.length > MAX_LENGTH {\n        return Err(Error::TooLong { length: header.length });\n    }\n",
            expect![[r#"
                items: (none)
                identifiers: header parse_header buffer length MAX_LENGTH Err Error TooLong"#]],
        );
    }

    #[test]
    fn unbalanced_braces() {
        check(
            "        }\n    }\n}\n\nfn flush_pending(queue: &mut Queue) {\n    queue.clear();\n}\n}}\nstruct After;\n",
            expect![[r#"
                items: fn flush_pending | struct After
                identifiers: flush_pending queue Queue clear After"#]],
        );
    }

    #[test]
    fn half_an_impl_block() {
        check(
            "impl Parser {\n    fn parse(&mut self) -> Tree {\n        self.advance();\n",
            expect![[r#"
                items: impl Parser
                identifiers: Parser parse Tree advance"#]],
        );
    }

    #[test]
    fn function_cut_off_before_its_end() {
        check(
            "fn flush_pending(queue: &mut Queue) {\n    while let Some(entry) = queue.pop() {\n",
            expect![[r#"
                items: fn flush_pending
                identifiers: flush_pending queue Queue Some entry pop"#]],
        );
    }

    #[test]
    fn trait_impl_cut_off_before_its_end() {
        check(
            "impl<T> fmt::Display for Wrapper<T> {\n    fn fmt(&self) -> fmt::Result {\n        Ok(())\n    }\n    fn helper(&self) {\n",
            expect![[r#"
                items: impl fmt::Display for Wrapper<T>
                identifiers: fmt Display Wrapper Result Ok helper"#]],
        );
    }

    #[test]
    fn trait_cut_off_before_its_end() {
        check(
            "pub trait Parse {\n    fn parse(&self) -> u8;\n    fn parse_all(&self) {\n",
            expect![[r#"
                items: trait Parse
                identifiers: Parse parse parse_all"#]],
        );
    }

    #[test]
    fn empty_and_blank_input() {
        check(
            "",
            expect![[r#"
                items: (none)
                identifiers: (none)"#]],
        );
        check(
            " \n\t\n",
            expect![[r#"
                items: (none)
                identifiers: (none)"#]],
        );
    }

    #[test]
    fn garbage_input() {
        let bytes: Vec<u8> = (0..2000u32)
            .map(|index| (index.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        check(
            &String::from_utf8_lossy(&bytes),
            expect![[r#"
                items: (none)
                identifiers: (none)"#]],
        );
        check(
            "\u{0}\u{fffd}}}{{ fn ( impl for <<>> :: é 日本 🦀 r#",
            expect![[r#"
                items: (none)
                identifiers: 日本"#]],
        );
    }

    #[test]
    fn struct_enum_and_const() {
        check(
            "pub struct Header {\n    pub name: String,\n    length: usize,\n}\n\nenum Kind { Plain, Chunked(usize) }\n\nconst MAX_LENGTH: usize = 4096;\nstatic GREETING: &str = \"hi\";\ntype Alias = Vec<Header>;\nunion Bits { word: u32, bytes: [u8; 4] }\ntrait Parse { fn parse(input: &str) -> Self; }\n",
            expect![[r#"
                items: struct Header | enum Kind | const MAX_LENGTH | static GREETING | type Alias | union Bits | trait Parse
                identifiers: Header name String length Kind Plain Chunked MAX_LENGTH GREETING Alias Vec Bits word bytes Parse parse input"#]],
        );
    }

    #[test]
    fn test_module_hides_its_functions() {
        check(
            "#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn parses_empty() { assert!(parse(\"\").is_none()); }\n\n    fn helper() {}\n}\n",
            expect![[r#"
                items: mod tests
                identifiers: cfg test tests parses_empty assert parse is_none helper"#]],
        );
    }

    #[test]
    fn macro_rules() {
        check(
            "macro_rules! bail {\n    ($message:expr) => { return Err($message.into()) };\n}\n",
            expect![[r#"
                items: macro_rules! bail
                identifiers: bail Err into"#]],
        );
    }

    #[test]
    fn items_are_deduplicated_and_capped_at_eight() {
        let mut source = String::from("fn first() {}\nfn first() {}\n");
        for index in 0..12 {
            source.push_str(&format!("fn function_{index}() {{}}\n"));
        }
        check(
            &source,
            expect![[r#"
                items: fn first | fn function_0 | fn function_1 | fn function_2 | fn function_3 | fn function_4 | fn function_5 | +6 more
                identifiers: first function_0 function_1 function_2 function_3 function_4 function_5 function_6 function_7 function_8 function_9 function_10 function_11"#]],
        );
    }

    #[test]
    fn identifiers_are_distinct_and_capped_at_sixty_four() {
        let mut source = String::new();
        for index in 0..100 {
            source.push_str(&format!("let value_{index} = value_{index} + x;\n"));
        }
        let summary = Syntax::new().summarize(Language::Rust, &source);
        assert_eq!(summary.identifiers.len(), MAX_IDENTIFIERS);
        assert_eq!(
            summary.identifiers.first().map(String::as_str),
            Some("value_0")
        );
        assert_eq!(
            summary.identifiers.last().map(String::as_str),
            Some("value_63")
        );
    }

    #[test]
    fn syntax_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Syntax>();
    }

    #[test]
    fn one_syntax_summarizes_many_chunks() {
        let mut syntax = Syntax::default();
        let first = syntax.summarize(Language::Rust, "fn alpha() {}");
        let second = syntax.summarize(Language::Rust, "struct Beta;");
        assert_eq!(first.items, ["fn alpha"]);
        assert_eq!(second.items, ["struct Beta"]);
    }

    #[test]
    fn every_prefix_and_suffix_of_a_file_summarizes() {
        // Chunks start and end anywhere; none of these cuts may panic.
        let source = "/// docs\nimpl<T> Display for Wrapper<T> where T: Display {\n    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {\n        write!(f, \"[{}] é🦀\", self.0)\n    }\n}\nmacro_rules! m { ($x:ident) => { fn $x() {} }; }\nconst C: u8 = b'\\'';\n";
        let mut syntax = Syntax::new();
        for (index, _) in source.char_indices() {
            syntax.summarize(Language::Rust, &source[..index]);
            syntax.summarize(Language::Rust, &source[index..]);
        }
    }

    #[test]
    fn huge_input_is_cut_on_a_char_boundary() {
        // One byte short of the limit, then a four-byte char that straddles it.
        let mut source = "/".repeat(MAX_SOURCE_BYTES - 1);
        source.push('🦀');
        source.push_str("\nfn after_the_limit() {}\n");
        assert_eq!(
            truncate_at_char_boundary(&source, MAX_SOURCE_BYTES).len(),
            MAX_SOURCE_BYTES - 1
        );
        let summary = Syntax::new().summarize(Language::Rust, &source);
        assert!(summary.items.is_empty());

        let mut huge = String::from("fn before_the_limit() {}\n");
        while huge.len() < 4 * MAX_SOURCE_BYTES {
            huge.push_str("fn filler() { let some_name = other_name(1, 2); }\n");
        }
        let summary = Syntax::new().summarize(Language::Rust, &huge);
        assert_eq!(summary.items, ["fn before_the_limit", "fn filler"]);
    }
}
