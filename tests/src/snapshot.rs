//! Replies made fit for a whole-reply snapshot (`expect_test`): the test's temporary folders
//! named by placeholders, volatile fields (times) replaced by their name, JSON pretty-printed.

use std::path::Path;

use serde_json::Value;

use crate::params::file_uri;

/// What to replace in a reply before it is compared with a snapshot.
#[derive(Debug, Clone, Default)]
pub struct Redactions {
    /// Text and its placeholder; the longest text is replaced first.
    texts: Vec<(String, String)>,
    /// Object fields whose values differ on every run.
    volatile_fields: Vec<String>,
}

impl Redactions {
    pub fn new() -> Redactions {
        Redactions::default()
    }

    /// `folder` (as given, resolved, and as a `file://` URI) is written `placeholder`.
    pub fn folder(mut self, folder: &Path, placeholder: &str) -> Redactions {
        let mut forms = vec![folder.to_path_buf()];
        if let Ok(resolved) = folder.canonicalize() {
            forms.push(resolved);
        }
        for form in forms {
            self.texts
                .push((file_uri(&form), format!("file://{placeholder}")));
            self.texts
                .push((form.to_string_lossy().into_owned(), placeholder.to_string()));
        }
        self
    }

    /// `text` is written `placeholder`.
    pub fn text(mut self, text: &str, placeholder: &str) -> Redactions {
        self.texts.push((text.to_string(), placeholder.to_string()));
        self
    }

    /// The value of every object field `name` is written `<name>`.
    pub fn volatile_field(mut self, name: &str) -> Redactions {
        self.volatile_fields.push(name.to_string());
        self
    }

    /// `text` with every redaction applied.
    pub fn apply(&self, text: &str) -> String {
        let mut texts = self.texts.clone();
        texts.sort_by_key(|(text, _)| std::cmp::Reverse(text.len()));
        let mut redacted = text.to_string();
        for (text, placeholder) in &texts {
            if !text.is_empty() {
                redacted = redacted.replace(text.as_str(), placeholder);
            }
        }
        redacted
    }

    /// `value` pretty-printed, volatile fields and folders redacted.
    pub fn json(&self, value: &Value) -> String {
        let mut value = value.clone();
        self.hide_volatile_fields(&mut value);
        let pretty = serde_json::to_string_pretty(&value).expect("JSON prints");
        self.apply(&pretty)
    }

    /// Each of `items` as one line of compact JSON, redacted: a list of lenses or actions
    /// whole, and short enough to read at a glance.
    pub fn json_lines(&self, items: &[Value]) -> String {
        items
            .iter()
            .map(|item| {
                let mut item = item.clone();
                self.hide_volatile_fields(&mut item);
                self.apply(&item.to_string())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn hide_volatile_fields(&self, value: &mut Value) {
        match value {
            Value::Object(object) => {
                for (name, field) in object.iter_mut() {
                    if self.volatile_fields.iter().any(|volatile| volatile == name) {
                        if !field.is_null() {
                            *field = Value::String(format!("<{name}>"));
                        }
                    } else {
                        self.hide_volatile_fields(field);
                    }
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|item| self.hide_volatile_fields(item)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn folders_uris_and_volatile_fields_are_redacted() {
        let redactions = Redactions::new()
            .folder(Path::new("/tmp/.tmpAbC1"), "$WORKSPACE")
            .volatile_field("created_ms");
        let reply = json!({
            "uri": "file:///tmp/.tmpAbC1/src/lib.rs",
            "path": "/tmp/.tmpAbC1/src/lib.rs",
            "chunks": [{"created_ms": 1_700_000_000_000_u64, "lines": 3}],
            "gone_ms": null,
        });
        expect_test::expect![[r#"
            {
              "chunks": [
                {
                  "created_ms": "<created_ms>",
                  "lines": 3
                }
              ],
              "gone_ms": null,
              "path": "$WORKSPACE/src/lib.rs",
              "uri": "file://$WORKSPACE/src/lib.rs"
            }"#]]
        .assert_eq(&redactions.json(&reply));
    }
}
