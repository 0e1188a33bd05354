//! Chunks: the regions made by flagged insertions, with the user's verdict on them — their class
//! under the Ownership Rule and their explanation under the Explanation Requirement.

use crate::line_map::Origin;

/// A chunk's id, unique across the workspace (a chunk can move between files) and stable across
/// restarts (the server seeds the counter past every stored id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkId(pub u64);

/// The Ownership Rule: must the user be able to do this without AI?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// One-off, no transfer value: use AI freely.
    Transient,
    /// A pattern that will come back: reproduce it from memory later.
    Repeatable,
    /// A skill that defines the user's value: they must be able to explain it.
    Core,
}

impl Class {
    pub const ALL: [Class; 3] = [Class::Transient, Class::Repeatable, Class::Core];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Transient => "transient",
            Class::Repeatable => "repeatable",
            Class::Core => "core",
        }
    }

    pub fn parse(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|class| class.as_str() == name)
    }
}

/// Which detection rule made a chunk (README, "What is flagged"): what a dismissal of it says
/// about that rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// One insertion past the size bar.
    Insertion,
    /// An editor plugin said it was a paste, a completion or an agent's edit.
    Signal,
    /// Edits arriving faster than a person types.
    Stream,
    /// Suggestion acceptances, each under the bar, that add up to it.
    Acceptances,
    /// A whole-file or many-place rewrite (an agent writing the buffer).
    AgentWrite,
    /// A copy of a chunk's lines.
    Copy,
    /// The file changed on disk while nobody watched it.
    External,
    /// A coding agent said it wrote these lines (`whetstone mark`, an agent's hook).
    Declared,
}

impl Rule {
    pub const ALL: [Rule; 8] = [
        Rule::Insertion,
        Rule::Signal,
        Rule::Stream,
        Rule::Acceptances,
        Rule::AgentWrite,
        Rule::Copy,
        Rule::External,
        Rule::Declared,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Insertion => "insertion",
            Rule::Signal => "signal",
            Rule::Stream => "stream",
            Rule::Acceptances => "acceptances",
            Rule::AgentWrite => "agent-write",
            Rule::Copy => "copy",
            Rule::External => "external",
            Rule::Declared => "declared",
        }
    }

    pub fn parse(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.as_str() == name)
    }

    /// How the rule reads in a sentence: "flagged as a stream".
    pub fn describe(self) -> &'static str {
        match self {
            Rule::Insertion => "one large insertion",
            Rule::Signal => "the editor saying so",
            Rule::Stream => "edits faster than typing",
            Rule::Acceptances => "suggestion acceptances adding up",
            Rule::AgentWrite => "a whole-file or many-place rewrite",
            Rule::Copy => "a copy of a chunk",
            Rule::External => "a change on disk",
            Rule::Declared => "an agent's own declaration",
        }
    }
}

/// The bar an explanation must pass (README, "Explanations"): a score of at least this, at least
/// [`PASSING_WORDS`] words, and a reason or trade-off. Under it, the explanation is shallow.
pub const PASSING_SCORE: u8 = 60;
/// The fewest words a passing explanation has.
pub const PASSING_WORDS: usize = 20;

/// How deep an explanation goes. `shallow` is what the editor shows; the parts say why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplanationScore {
    pub words: usize,
    /// Distinct identifiers of the chunk that the explanation names.
    pub identifiers_named: usize,
    pub identifiers_total: usize,
    /// Whether it gives a reason or a trade-off, not only a description.
    pub says_why: bool,
    /// 0 to 100: up to 40 for length, 30 for naming the chunk's identifiers, 30 for a why.
    pub score: u8,
    pub shallow: bool,
}

/// The user's own words on a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub text: String,
    pub recorded_ms: u64,
    pub score: ExplanationScore,
}

impl Explanation {
    /// Whether it passes the bar. A shallow explanation is kept and shown, but the chunk counts as
    /// unexplained (in the nudges, the report and the debt) until one passes.
    pub fn passes(&self) -> bool {
        !self.score.shallow
    }
}

/// A region made by one flagged insertion. Its lines live in the file's [`LineMap`]; this is what
/// the map does not hold.
///
/// [`LineMap`]: crate::line_map::LineMap
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub id: ChunkId,
    pub uri: String,
    /// `Pasted`, `Generated` or `External`.
    pub origin: Origin,
    pub created_ms: u64,
    /// Non-blank lines the insertion brought, at creation (the map says what is left now).
    pub inserted_lines: usize,
    pub class: Option<Class>,
    /// When the class was last set.
    pub classified_ms: Option<u64>,
    pub explanation: Option<Explanation>,
    /// When the user reproduced a repeatable chunk from memory (see [`PRACTICE_STEPS_MS`]).
    pub practiced_ms: Vec<u64>,
    /// Syntactic items the chunk covers, e.g. `fn parse_header`; empty without a grammar.
    pub items: Vec<String>,
    /// Identifiers in the chunk, used to score explanations.
    pub identifiers: Vec<String>,
    /// Non-whitespace characters typed inside the chunk since it was made: the user reworking it.
    pub reworked_chars: usize,
    /// Set when lines were added to the chunk after its items were computed.
    pub syntax_stale: bool,
    /// The rule that flagged it; None for chunks stored before rules were recorded.
    pub rule: Option<Rule>,
    /// The chunk whose lines this one copies (a copy takes its source's origin, not its verdict).
    pub copied_from: Option<ChunkId>,
    /// The coding agent that declared these lines its own (`claude-code`), when one did.
    pub agent: Option<String>,
    /// The model the agent named, if it named one.
    pub model: Option<String>,
}

/// A repeatable chunk is due to be reproduced from memory a day, a week and a month after it was
/// classified.
pub const PRACTICE_STEPS_MS: [u64; 3] = [86_400_000, 7 * 86_400_000, 30 * 86_400_000];

impl Chunk {
    /// A new chunk, unjudged, with no lines counted yet.
    pub fn new(id: ChunkId, uri: &str, origin: Origin, rule: Rule, created_ms: u64) -> Chunk {
        Chunk {
            id,
            uri: uri.to_string(),
            origin,
            created_ms,
            inserted_lines: 0,
            class: None,
            classified_ms: None,
            explanation: None,
            practiced_ms: Vec::new(),
            items: Vec::new(),
            identifiers: Vec::new(),
            reworked_chars: 0,
            syntax_stale: true,
            rule: Some(rule),
            copied_from: None,
            agent: None,
            model: None,
        }
    }

    /// When the next reproduction of a repeatable chunk is due, if one is left.
    pub fn next_practice_due_ms(&self) -> Option<u64> {
        if self.class != Some(Class::Repeatable) {
            return None;
        }
        let classified = self.classified_ms?;
        PRACTICE_STEPS_MS
            .get(self.practiced_ms.len())
            .map(|step| classified + step)
    }

    /// Whether the chunk adds to the capability debt at `at_ms` (SPEC: unexplained core lines,
    /// and half the lines of repeatable chunks not yet reproduced, or with a reproduction overdue).
    pub fn debt_weight(&self, at_ms: u64) -> f64 {
        if self
            .classified_ms
            .is_some_and(|classified| classified > at_ms)
        {
            return 0.0;
        }
        match self.class {
            Some(Class::Core) => {
                let explained = self
                    .passing_explanation()
                    .is_some_and(|explanation| explanation.recorded_ms <= at_ms);
                if explained { 0.0 } else { 1.0 }
            }
            Some(Class::Repeatable) => {
                let practiced: Vec<u64> = self
                    .practiced_ms
                    .iter()
                    .copied()
                    .filter(|&at| at <= at_ms)
                    .collect();
                let overdue = self.classified_ms.is_some_and(|classified| {
                    PRACTICE_STEPS_MS
                        .get(practiced.len())
                        .is_some_and(|step| classified + step <= at_ms)
                });
                if practiced.is_empty() || overdue {
                    0.5
                } else {
                    0.0
                }
            }
            _ => 0.0,
        }
    }

    /// Whether the editor should still nudge: unclassified, or core without an explanation that
    /// passes the bar.
    pub fn needs_attention(&self) -> bool {
        match self.class {
            None => true,
            Some(Class::Core) => !self.is_explained(),
            Some(_) => false,
        }
    }

    /// The explanation, when it passes the bar: the one that counts as explaining the chunk.
    pub fn passing_explanation(&self) -> Option<&Explanation> {
        self.explanation
            .as_ref()
            .filter(|explanation| explanation.passes())
    }

    /// Whether the chunk is explained: it holds an explanation that passes the bar.
    pub fn is_explained(&self) -> bool {
        self.passing_explanation().is_some()
    }

    /// Whether the chunk holds only a shallow explanation: recorded, but not counted.
    pub fn is_explained_shallowly(&self) -> bool {
        self.explanation
            .as_ref()
            .is_some_and(|explanation| !explanation.passes())
    }
}

/// Words that show an explanation gives a reason or weighs an alternative.
const WHY_MARKERS: &[&str] = &[
    "because",
    "so that",
    "since",
    "instead of",
    "rather than",
    "trade-off",
    "tradeoff",
    "trade off",
    "otherwise",
    "in order to",
    "at the cost",
    "downside",
    "the cost",
    "cheaper",
    "faster",
    "slower",
    "simpler",
    "safer",
    "avoid",
    "alternative",
    "would break",
    "breaks if",
    "fails if",
    "why",
];

/// Scores an explanation against the chunk's identifiers.
pub fn score_explanation(text: &str, identifiers: &[String]) -> ExplanationScore {
    let words = text.split_whitespace().count();
    let lowered = text.to_lowercase();
    let identifiers_total = identifiers.len();
    let identifiers_named = identifiers
        .iter()
        .filter(|identifier| names_identifier(&lowered, identifier))
        .count();
    let says_why = WHY_MARKERS.iter().any(|marker| lowered.contains(marker));

    let length_points = (words.min(60) * 40 / 60) as u8;
    let identifier_points = if identifiers_total == 0 {
        if words >= 20 { 30 } else { 0 }
    } else {
        (identifiers_named.min(3) * 30 / 3) as u8
    };
    let why_points = if says_why { 30 } else { 0 };
    let score = length_points + identifier_points + why_points;
    let shallow = score < PASSING_SCORE || words < PASSING_WORDS || !says_why;
    ExplanationScore {
        words,
        identifiers_named,
        identifiers_total,
        says_why,
        score,
        shallow,
    }
}

/// `parse_header` is named by "parse_header", "parseHeader" or "parse header" (case-insensitive).
fn names_identifier(lowered_text: &str, identifier: &str) -> bool {
    let lowered = identifier.to_lowercase();
    if lowered.len() < 3 {
        return false;
    }
    if contains_word(lowered_text, &lowered) {
        return true;
    }
    let spaced = split_identifier_words(identifier).join(" ");
    spaced.contains(' ') && lowered_text.contains(&spaced)
}

fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + word.len()..].chars().next();
        let is_boundary = |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        is_boundary(before) && is_boundary(after)
    })
}

/// `parseHeader` and `parse_header` both become `["parse", "header"]`.
fn split_identifier_words(identifier: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for character in identifier.chars() {
        if character == '_' || character == '-' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        } else if character.is_uppercase() && !current.is_empty() {
            words.push(std::mem::take(&mut current));
            current.extend(character.to_lowercase());
        } else {
            current.extend(character.to_lowercase());
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn identifiers(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn a_thorough_explanation_is_not_shallow() {
        let text = "parse_header reads the first line of the buffer and splits it into a Header. \
                    It returns early on an empty input because an empty request is legal here, \
                    rather than treating it as an error, which would break keep-alive clients \
                    that send a blank line between requests.";
        let score = score_explanation(text, &identifiers(&["parse_header", "Header", "buffer"]));
        expect![[r#"
            ExplanationScore {
                words: 47,
                identifiers_named: 3,
                identifiers_total: 3,
                says_why: true,
                score: 91,
                shallow: false,
            }
        "#]]
        .assert_debug_eq(&score);
    }

    #[test]
    fn a_short_description_is_shallow() {
        let score = score_explanation("it parses the header", &identifiers(&["parse_header"]));
        expect![[r#"
            ExplanationScore {
                words: 4,
                identifiers_named: 0,
                identifiers_total: 1,
                says_why: false,
                score: 2,
                shallow: true,
            }
        "#]]
        .assert_debug_eq(&score);
    }

    /// "it merges typed events" (12/100) ended the Core nudge and the debt: any explanation did.
    #[test]
    fn only_a_passing_explanation_explains_a_core_chunk() {
        let mut chunk = Chunk::new(
            ChunkId(1),
            "file:///a.rs",
            Origin::Pasted,
            Rule::Insertion,
            0,
        );
        chunk.class = Some(Class::Core);
        chunk.classified_ms = Some(0);
        let explain = |text: &str| Explanation {
            text: text.to_string(),
            recorded_ms: 10,
            score: score_explanation(text, &identifiers(&["merge_events"])),
        };
        chunk.explanation = Some(explain("it merges typed events"));
        assert!(chunk.is_explained_shallowly() && !chunk.is_explained());
        assert!(chunk.needs_attention());
        assert_eq!(chunk.debt_weight(20), 1.0);

        chunk.explanation = Some(explain(
            "merge_events folds the typed events into one edit because the editor sends one per \
             keystroke, and judging each alone would flag nothing while costing a pass per key. \
             The trade-off is a short delay before a burst is judged, which nobody sees, and a \
             little memory held for the events waiting to be merged.",
        ));
        assert!(chunk.is_explained() && !chunk.is_explained_shallowly());
        assert!(!chunk.needs_attention());
        assert_eq!(chunk.debt_weight(20), 0.0);
        assert_eq!(
            chunk.debt_weight(5),
            1.0,
            "not explained before it was recorded"
        );
    }

    #[test]
    fn the_bar_is_the_score_the_words_and_a_reason() {
        // 20 words with a reason but naming nothing: 13 + 0 + 30 = 43, under the bar.
        let text = "it works this way because the other way was slower when I tried it on the \
                    large input files we have";
        let score = score_explanation(text, &identifiers(&["merge_events"]));
        assert!(score.says_why && score.words >= PASSING_WORDS);
        assert!(score.score < PASSING_SCORE && score.shallow);
    }

    #[test]
    fn identifiers_match_as_words_in_any_case_style() {
        let named =
            |text: &str, identifier: &str| names_identifier(&text.to_lowercase(), identifier);
        assert!(named("calls parseHeader first", "parseHeader"));
        assert!(named("we parse header bytes", "parse_header"));
        assert!(!named("reparse_headers", "parse_header"));
        assert!(!named("x is set", "x"));
    }

    #[test]
    fn classes_round_trip_their_names() {
        for class in Class::ALL {
            assert_eq!(Class::parse(class.as_str()), Some(class));
        }
        assert_eq!(Class::parse("Core"), None);
    }
}
