//! The `whetstone` configuration section, from `initializationOptions` or
//! `workspace/didChangeConfiguration`: parsed leniently, every unknown key or bad value becomes a
//! warning for the user and the default stays.
//!
//! ```json
//! {
//!   "detection": { "minLines": 5, "minChars": 200, "burstCharsPerSecond": 30,
//!                  "burstMinDurationMs": 2000, "mergeWindowMs": 30000 },
//!   "nudges": { "codeLens": true, "diagnostics": "auto", "diagnosticSeverity": "information",
//!               "hover": true },
//!   "reminders": { "calibrationDays": 7 },
//!   "storePath": "/home/me/.local/share/whetstone"
//! }
//! ```

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::core::DetectionConfig;

/// How loudly diagnostics speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Information,
    Hint,
}

/// Whether diagnostics are on: `Auto` means on exactly for clients without code lens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagnosticsSetting {
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub detection: DetectionConfig,
    pub code_lens: bool,
    pub diagnostics: DiagnosticsSetting,
    pub diagnostic_severity: Severity,
    pub hover: bool,
    pub store_path: Option<PathBuf>,
    /// Remind once a day when no calibration session was held for this many days; 0: never.
    pub reminder_days: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            detection: DetectionConfig::default(),
            code_lens: true,
            diagnostics: DiagnosticsSetting::Auto,
            diagnostic_severity: Severity::Information,
            hover: true,
            store_path: None,
            reminder_days: 7,
        }
    }
}

impl Settings {
    /// Whether diagnostics are published to a client with or without code lens support.
    pub fn diagnostics_on(&self, client_has_code_lens: bool) -> bool {
        match self.diagnostics {
            DiagnosticsSetting::Auto => !client_has_code_lens || !self.code_lens,
            DiagnosticsSetting::On => true,
            DiagnosticsSetting::Off => false,
        }
    }
}

/// Parses a configuration value (the `whetstone` section itself, or an object holding it under
/// `whetstone`). Returns the settings and one warning per thing that was ignored.
pub fn parse(value: &Value) -> (Settings, Vec<String>) {
    let mut settings = Settings::default();
    let mut warnings = Vec::new();
    let section = match value {
        Value::Null => return (settings, warnings),
        Value::Object(object) => match object.get("whetstone") {
            Some(Value::Object(inner)) => inner,
            Some(other) => {
                warnings.push(format!(
                    "setting whetstone: expected an object, got {}",
                    kind(other)
                ));
                return (settings, warnings);
            }
            None => object,
        },
        other => {
            warnings.push(format!(
                "whetstone settings: expected an object, got {}",
                kind(other)
            ));
            return (settings, warnings);
        }
    };
    for (key, value) in section {
        match key.as_str() {
            "detection" => parse_detection(value, &mut settings.detection, &mut warnings),
            "nudges" => parse_nudges(value, &mut settings, &mut warnings),
            "reminders" => parse_reminders(value, &mut settings, &mut warnings),
            "storePath" => match value {
                // A relative path would put the store wherever the editor started the server.
                Value::String(path) if PathBuf::from(path).is_absolute() => {
                    settings.store_path = Some(PathBuf::from(path))
                }
                Value::String(path) => warnings.push(format!(
                    "setting storePath: expected an absolute folder path, got {path:?}"
                )),
                Value::Null => {}
                other => warnings.push(format!(
                    "setting storePath: expected a folder path, got {}",
                    kind(other)
                )),
            },
            other => warnings.push(format!("unknown setting whetstone.{other} (ignored)")),
        }
    }
    (settings, warnings)
}

fn parse_detection(value: &Value, detection: &mut DetectionConfig, warnings: &mut Vec<String>) {
    let Some(object) = as_object(value, "detection", warnings) else {
        return;
    };
    for (key, value) in object {
        let name = format!("detection.{key}");
        match key.as_str() {
            "minLines" => set_count(value, &name, 1, &mut detection.min_lines, warnings),
            "minChars" => set_count(value, &name, 1, &mut detection.min_chars, warnings),
            "burstCharsPerSecond" => match value.as_f64() {
                Some(rate) if rate.is_finite() && rate > 0.0 => {
                    detection.burst_chars_per_second = rate;
                    // The user's own rate is used as it is.
                    detection.adapt_burst_rate = false;
                }
                _ => warnings.push(format!(
                    "setting {name}: expected a positive number, got {value}"
                )),
            },
            "burstMinDurationMs" => {
                set_millis(value, &name, &mut detection.burst_min_duration_ms, warnings)
            }
            "burstWindowMs" => set_millis(value, &name, &mut detection.burst_window_ms, warnings),
            "mergeWindowMs" => set_millis(value, &name, &mut detection.merge_window_ms, warnings),
            "hintLifetimeMs" => set_millis(value, &name, &mut detection.hint_lifetime_ms, warnings),
            other => warnings.push(format!(
                "unknown setting whetstone.detection.{other} (ignored)"
            )),
        }
    }
}

fn parse_reminders(value: &Value, settings: &mut Settings, warnings: &mut Vec<String>) {
    let Some(object) = as_object(value, "reminders", warnings) else {
        return;
    };
    for (key, value) in object {
        match key.as_str() {
            "calibrationDays" => match value.as_u64().and_then(|days| u32::try_from(days).ok()) {
                Some(days) => settings.reminder_days = days,
                None => warnings.push(format!(
                    "setting reminders.calibrationDays: expected a whole number of days (0 switches reminders off), got {value}"
                )),
            },
            "enabled" => match value.as_bool() {
                Some(false) => settings.reminder_days = 0,
                Some(true) => {}
                None => warnings.push(format!("setting reminders.enabled: expected true or false, got {value}")),
            },
            other => warnings.push(format!("unknown setting whetstone.reminders.{other} (ignored)")),
        }
    }
}

fn parse_nudges(value: &Value, settings: &mut Settings, warnings: &mut Vec<String>) {
    let Some(object) = as_object(value, "nudges", warnings) else {
        return;
    };
    for (key, value) in object {
        match key.as_str() {
            "codeLens" => set_bool(value, "nudges.codeLens", &mut settings.code_lens, warnings),
            "hover" => set_bool(value, "nudges.hover", &mut settings.hover, warnings),
            "diagnostics" => match value {
                Value::Bool(true) => settings.diagnostics = DiagnosticsSetting::On,
                Value::Bool(false) => settings.diagnostics = DiagnosticsSetting::Off,
                Value::String(text) if text == "auto" => settings.diagnostics = DiagnosticsSetting::Auto,
                other => warnings.push(format!(
                    "setting nudges.diagnostics: expected true, false or \"auto\", got {other}"
                )),
            },
            "diagnosticSeverity" => match value.as_str() {
                Some("error") => settings.diagnostic_severity = Severity::Error,
                Some("warning") => settings.diagnostic_severity = Severity::Warning,
                Some("information") => settings.diagnostic_severity = Severity::Information,
                Some("hint") => settings.diagnostic_severity = Severity::Hint,
                _ => warnings.push(format!(
                    "setting nudges.diagnosticSeverity: expected \"error\", \"warning\", \"information\" or \"hint\", got {value}"
                )),
            },
            other => warnings.push(format!("unknown setting whetstone.nudges.{other} (ignored)")),
        }
    }
}

fn as_object<'a>(
    value: &'a Value,
    name: &str,
    warnings: &mut Vec<String>,
) -> Option<&'a Map<String, Value>> {
    match value {
        Value::Object(object) => Some(object),
        Value::Null => None,
        other => {
            warnings.push(format!(
                "setting {name}: expected an object, got {}",
                kind(other)
            ));
            None
        }
    }
}

fn set_count(
    value: &Value,
    name: &str,
    minimum: usize,
    target: &mut usize,
    warnings: &mut Vec<String>,
) {
    match value
        .as_u64()
        .and_then(|number| usize::try_from(number).ok())
    {
        Some(number) if number >= minimum => *target = number,
        _ => warnings.push(format!(
            "setting {name}: expected a whole number of at least {minimum}, got {value}"
        )),
    }
}

fn set_millis(value: &Value, name: &str, target: &mut u64, warnings: &mut Vec<String>) {
    match value.as_u64() {
        Some(number) => *target = number,
        None => warnings.push(format!(
            "setting {name}: expected milliseconds (a whole number), got {value}"
        )),
    }
}

fn set_bool(value: &Value, name: &str, target: &mut bool, warnings: &mut Vec<String>) {
    match value.as_bool() {
        Some(flag) => *target = flag,
        None => warnings.push(format!(
            "setting {name}: expected true or false, got {value}"
        )),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_burst_rate_set_by_hand_is_used_as_it_is() {
        let (settings, _) = parse(&json!({ "whetstone": { "detection": {} } }));
        assert!(settings.detection.adapt_burst_rate);
        let (settings, warnings) =
            parse(&json!({ "whetstone": { "detection": { "burstCharsPerSecond": 45 } } }));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(settings.detection.burst_chars_per_second, 45.0);
        assert!(!settings.detection.adapt_burst_rate);
    }

    #[test]
    fn good_values_apply_and_bad_ones_warn_and_keep_the_default() {
        let (settings, warnings) = parse(&json!({
            "whetstone": {
                "detection": { "minLines": 8, "minChars": -3, "burstCharsPerSecond": "fast" },
                "nudges": { "diagnostics": true, "diagnosticSeverity": "loud", "colour": "red" },
                "storePath": "/tmp/ws",
                "telemetry": true
            }
        }));
        assert_eq!(settings.detection.min_lines, 8);
        assert_eq!(settings.detection.min_chars, 200);
        assert_eq!(settings.detection.burst_chars_per_second, 30.0);
        assert_eq!(settings.diagnostics, DiagnosticsSetting::On);
        assert_eq!(settings.diagnostic_severity, Severity::Information);
        assert_eq!(settings.store_path, Some(PathBuf::from("/tmp/ws")));
        expect_test::expect![[r#"
            [
                "setting detection.burstCharsPerSecond: expected a positive number, got \"fast\"",
                "setting detection.minChars: expected a whole number of at least 1, got -3",
                "unknown setting whetstone.nudges.colour (ignored)",
                "setting nudges.diagnosticSeverity: expected \"error\", \"warning\", \"information\" or \"hint\", got \"loud\"",
                "unknown setting whetstone.telemetry (ignored)",
            ]
        "#]]
        .assert_debug_eq(&warnings);
    }

    /// Regression: a relative storePath was taken as given, so the store landed in whatever
    /// folder the editor started the server from.
    #[test]
    fn a_store_path_must_be_absolute() {
        for path in ["relative/store", "~/whetstone", "", "  "] {
            let (settings, warnings) = parse(&json!({ "storePath": path }));
            assert_eq!(settings.store_path, None, "{path:?}");
            assert_eq!(
                warnings,
                vec![format!(
                    "setting storePath: expected an absolute folder path, got {path:?}"
                )]
            );
        }
    }

    #[test]
    fn the_section_may_come_bare_or_wrapped() {
        let (bare, _) = parse(&json!({ "detection": { "minLines": 3 } }));
        let (wrapped, _) = parse(&json!({ "whetstone": { "detection": { "minLines": 3 } } }));
        assert_eq!(bare, wrapped);
        let (_, warnings) = parse(&json!(42));
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn diagnostics_default_to_clients_without_code_lens() {
        let settings = Settings::default();
        assert!(settings.diagnostics_on(false));
        assert!(!settings.diagnostics_on(true));
    }
}
