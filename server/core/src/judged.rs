//! Detection as the user judged it: every classification says "yes, this is not mine", every
//! "Not AI" dismissal says "no, it is". Counted by origin and by the rule that flagged the chunk,
//! this is the detector's precision in the user's own words (`whetstone report`, `status`).

use std::collections::BTreeMap;

use crate::by_origin::ByOrigin;
use crate::chunk::{Chunk, Rule};
use crate::engine::Dismissal;
use crate::line_map::Origin;

/// How the chunks of one kind were answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answers {
    /// Chunks flagged: the ones still in the files and the dismissed ones.
    pub flagged: u64,
    /// Given a class: the user agreed they did not write it.
    pub classified: u64,
    /// Of the classified, explained.
    pub explained: u64,
    /// "Not AI": the user said it was theirs.
    pub dismissed: u64,
    /// Not answered yet.
    pub unjudged: u64,
}

impl Answers {
    /// The share of answered chunks the user agreed with; None before any answer.
    pub fn precision(&self) -> Option<f64> {
        let answered = self.classified + self.dismissed;
        (answered > 0).then(|| self.classified as f64 / answered as f64)
    }

    fn add_chunk(&mut self, chunk: &Chunk) {
        self.flagged += 1;
        if chunk.class.is_some() {
            self.classified += 1;
            if chunk.explanation.is_some() {
                self.explained += 1;
            }
        } else {
            self.unjudged += 1;
        }
    }

    fn add_dismissal(&mut self) {
        self.flagged += 1;
        self.dismissed += 1;
    }
}

/// The answers over a period, in all, by origin and by rule (None: chunks flagged before rules
/// were recorded).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detection {
    pub all: Answers,
    pub by_origin: Vec<(Origin, Answers)>,
    pub by_rule: Vec<(Option<Rule>, Answers)>,
}

/// Counts the chunks and dismissals flagged from `since_ms` on.
pub fn judged<'a>(
    chunks: impl IntoIterator<Item = &'a Chunk>,
    dismissals: &[Dismissal],
    since_ms: u64,
) -> Detection {
    let mut all = Answers::default();
    let mut by_origin: ByOrigin<Answers> = ByOrigin::default();
    let mut by_rule: BTreeMap<Option<Rule>, Answers> = BTreeMap::new();
    for chunk in chunks {
        if chunk.created_ms < since_ms {
            continue;
        }
        all.add_chunk(chunk);
        by_origin[chunk.origin].add_chunk(chunk);
        by_rule.entry(chunk.rule).or_default().add_chunk(chunk);
    }
    for dismissal in dismissals.iter().filter(|d| d.created_ms >= since_ms) {
        all.add_dismissal();
        by_origin[dismissal.origin].add_dismissal();
        by_rule.entry(dismissal.rule).or_default().add_dismissal();
    }
    Detection {
        all,
        // Every chunk or dismissal counts as flagged: an origin with none had nothing to answer.
        by_origin: by_origin
            .into_iter()
            .filter(|(_, answers)| answers.flagged > 0)
            .collect(),
        by_rule: by_rule.into_iter().collect(),
    }
}

/// One line for people: "42 chunks flagged: 30 classified, 3 called not AI (91% right), 9
/// waiting for an answer. Not AI by rule: stream 2, insertion 1."
pub fn sentence(detection: &Detection) -> String {
    let all = &detection.all;
    if all.flagged == 0 {
        return "No chunks flagged in this period.".to_string();
    }
    let plural = |count: u64, one: &str, many: &str| {
        if count == 1 {
            format!("{count} {one}")
        } else {
            format!("{count} {many}")
        }
    };
    let not_ai = match all.dismissed {
        0 => "none called not AI".to_string(),
        count => format!("{count} called not AI"),
    };
    let mut text = format!(
        "{} flagged: {} classified, {not_ai}",
        plural(all.flagged, "chunk", "chunks"),
        all.classified,
    );
    if let Some(precision) = all.precision() {
        text.push_str(&format!(" ({:.0}% right)", precision * 100.0));
    }
    if all.unjudged > 0 {
        text.push_str(&format!(", {} waiting for an answer", all.unjudged));
    }
    text.push('.');
    let dismissed: Vec<String> = detection
        .by_rule
        .iter()
        .filter(|(_, answers)| answers.dismissed > 0)
        .map(|(rule, answers)| {
            format!(
                "{} {}",
                rule.map_or("earlier", Rule::as_str),
                answers.dismissed
            )
        })
        .collect();
    if !dismissed.is_empty() {
        text.push_str(&format!(" Not AI by rule: {}.", dismissed.join(", ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{ChunkId, Class};

    fn chunk(id: u64, rule: Rule, class: Option<Class>) -> Chunk {
        let mut chunk = Chunk::new(ChunkId(id), "file:///a.rs", Origin::Pasted, rule, 1_000);
        chunk.class = class;
        chunk
    }

    #[test]
    fn answers_are_counted_by_origin_and_rule() {
        let chunks = [
            chunk(1, Rule::Insertion, Some(Class::Core)),
            chunk(2, Rule::Insertion, Some(Class::Transient)),
            chunk(3, Rule::Acceptances, None),
        ];
        let dismissals = [Dismissal {
            uri: "file:///a.rs".to_string(),
            origin: Origin::Generated,
            lines: 4,
            created_ms: 2_000,
            dismissed_ms: 3_000,
            rule: Some(Rule::Stream),
        }];
        let detection = judged(&chunks, &dismissals, 0);
        assert_eq!(detection.all.flagged, 4);
        assert_eq!(detection.all.classified, 2);
        assert_eq!(detection.all.dismissed, 1);
        assert_eq!(detection.all.unjudged, 1);
        assert_eq!(detection.all.precision(), Some(2.0 / 3.0));
        assert_eq!(detection.by_origin.len(), 2);
        assert_eq!(
            sentence(&detection),
            "4 chunks flagged: 2 classified, 1 called not AI (67% right), 1 waiting for an \
             answer. Not AI by rule: stream 1."
        );
        assert_eq!(judged(&chunks, &dismissals, 5_000).all.flagged, 0);
    }
}
