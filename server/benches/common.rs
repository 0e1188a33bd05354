//! Inputs shared by the benchmarks: realistic Rust files of a given size, and an engine with one
//! of them open.

// Each benchmark binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use whetstone::core::{ContentChange, Engine, Position, Range};

pub const FILE: &str = "file:///bench/src/lib.rs";

/// A file of about `lines` lines of varied Rust: functions, impls, comments, blank lines.
pub fn rust_file(lines: usize) -> String {
    let mut text = String::new();
    let mut index = 0;
    while text.lines().count() < lines {
        text.push_str(&format!(
            "/// Parses record {index} from the input.\n\
             pub fn parse_record_{index}(input: &str) -> Result<Record, Error> {{\n\
             \x20   let mut fields = input.split(',');\n\
             \x20   let name = fields.next().ok_or(Error::Missing(\"name\"))?;\n\
             \x20   let size: usize = fields.next().unwrap_or(\"0\").parse()?;\n\
             \x20   Ok(Record {{ name: name.to_string(), size: size + {index} }})\n\
             }}\n\n"
        ));
        index += 1;
    }
    text
}

/// `lines` lines of new code, different from anything in [`rust_file`].
pub fn pasted_block(lines: usize) -> String {
    (0..lines)
        .map(|index| {
            format!("    let pasted_value_{index} = transform(&buffer[{index}..], {index} * 3);\n")
        })
        .collect()
}

pub fn engine_with_file(lines: usize) -> Engine {
    let mut engine = Engine::default();
    engine.open(FILE, &rust_file(lines), 0);
    engine
}

pub fn insert_at(line: u32, character: u32, text: &str) -> ContentChange {
    let position = Position::new(line, character);
    ContentChange {
        range: Some(Range::new(position, position)),
        text: text.to_string(),
    }
}

pub fn delete_before(line: u32, character: u32) -> ContentChange {
    ContentChange {
        range: Some(Range::new(
            Position::new(line, character - 1),
            Position::new(line, character),
        )),
        text: String::new(),
    }
}
