//! The client capabilities the tests announce in `initialize`: a client like VS Code and one
//! without code lens like Helix.

use serde_json::{Value, json};

/// Client capabilities like VS Code's: code lens with refresh support, `window/showDocument`,
/// `window/showMessageRequest`, UTF-16 positions only, dynamically registered file watching.
pub fn vscode_like_capabilities() -> Value {
    json!({
        "general": {
            "positionEncodings": ["utf-16"],
            "markdown": {"parser": "marked", "version": "1.1.0"},
        },
        "textDocument": {
            "synchronization": {
                "dynamicRegistration": true,
                "willSave": true,
                "willSaveWaitUntil": true,
                "didSave": true,
            },
            "hover": {"dynamicRegistration": true, "contentFormat": ["markdown", "plaintext"]},
            "codeLens": {"dynamicRegistration": true},
            "codeAction": {
                "dynamicRegistration": true,
                "isPreferredSupport": true,
                "disabledSupport": true,
                "dataSupport": true,
                "resolveSupport": {"properties": ["edit"]},
                "codeActionLiteralSupport": code_action_literal_support(),
            },
            "publishDiagnostics": {
                "relatedInformation": true,
                "versionSupport": false,
                "tagSupport": {"valueSet": [1, 2]},
                "codeDescriptionSupport": true,
                "dataSupport": true,
            },
        },
        "workspace": {
            "applyEdit": true,
            "workspaceEdit": {"documentChanges": true},
            "configuration": true,
            "workspaceFolders": true,
            "didChangeConfiguration": {"dynamicRegistration": true},
            "didChangeWatchedFiles": {"dynamicRegistration": true, "relativePatternSupport": true},
            "executeCommand": {"dynamicRegistration": true},
            "codeLens": {"refreshSupport": true},
            "diagnostics": {"refreshSupport": true},
        },
        "window": {
            "workDoneProgress": true,
            "showMessage": {"messageActionItem": {"additionalPropertiesSupport": true}},
            "showDocument": {"support": true},
        },
    })
}

/// A client like Helix: no code lens, no `window/showMessageRequest`, no showDocument;
/// offers UTF-8, UTF-32 and UTF-16 positions, in that order of preference.
pub fn no_code_lens_capabilities() -> Value {
    json!({
        "general": {"positionEncodings": ["utf-8", "utf-32", "utf-16"]},
        "textDocument": {
            "synchronization": {"didSave": true},
            "hover": {"contentFormat": ["markdown"]},
            "codeAction": {
                "isPreferredSupport": true,
                "dataSupport": true,
                "disabledSupport": true,
                "resolveSupport": {"properties": ["edit", "command"]},
                "codeActionLiteralSupport": code_action_literal_support(),
            },
            "publishDiagnostics": {
                "versionSupport": true,
                "tagSupport": {"valueSet": [1, 2]},
            },
        },
        "workspace": {
            "applyEdit": true,
            "workspaceEdit": {"documentChanges": true},
            "configuration": true,
            "workspaceFolders": true,
            "didChangeConfiguration": {"dynamicRegistration": false},
            "didChangeWatchedFiles": {"dynamicRegistration": true, "relativePatternSupport": false},
            "executeCommand": {"dynamicRegistration": false},
        },
        "window": {"workDoneProgress": true},
    })
}

/// The code action kinds both clients take as literals.
fn code_action_literal_support() -> Value {
    json!({
        "codeActionKind": {
            "valueSet": [
                "", "quickfix", "refactor", "refactor.extract", "refactor.inline",
                "refactor.rewrite", "source", "source.organizeImports",
            ],
        },
    })
}
