//! How a message names something the user can run, in the words of the place they run it from:
//! the command palette in VS Code, `:Whetstone …` in Neovim, `:lsp-workspace-command …` in Helix,
//! `whetstone …` in a terminal. A message that names a command the user cannot type as written
//! is a dead end, so every such text goes through [`Voice::run`].

/// Where the user reads a message, and so how a command is named to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Voice {
    /// The command line (`whetstone …`).
    Terminal,
    /// VS Code and the editors built on it (the Whetstone extension's palette commands).
    VsCode,
    /// Neovim with the Whetstone plugin (`:Whetstone …`).
    Neovim,
    /// Helix (`:lsp-workspace-command …`).
    Helix,
    /// An editor this server does not know: the LSP command's own name.
    #[default]
    Editor,
}

/// Something a message asks the user to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CalibrationStart,
    CalibrationStop,
    CalibrationStatus,
    Report,
}

impl Voice {
    /// The voice for the client that named itself `name` in `initialize` (its `clientInfo`).
    pub fn of_client(name: Option<&str>) -> Voice {
        let Some(name) = name.map(str::to_ascii_lowercase) else {
            return Voice::Editor;
        };
        if name.contains("neovim") || name == "nvim" {
            Voice::Neovim
        } else if name.contains("helix") {
            Voice::Helix
        } else if name.contains("visual studio code")
            || name.contains("code-server")
            || name.contains("code - oss")
            || name.contains("vscodium")
            || name.contains("cursor")
            || name.contains("windsurf")
        {
            Voice::VsCode
        } else {
            Voice::Editor
        }
    }

    /// `action` as the user types or picks it here, quoted for a sentence.
    pub fn run(self, action: Action) -> String {
        match self {
            Voice::Terminal => format!("`whetstone {}`", action.cli()),
            Voice::VsCode => format!("\"Whetstone: {}\"", action.palette_title()),
            Voice::Neovim => format!(":Whetstone {}", action.cli()),
            Voice::Helix => format!(":lsp-workspace-command {}", action.lsp_command()),
            Voice::Editor => format!("the command {}", action.lsp_command()),
        }
    }

    /// `action` with an argument the user fills in, such as a feel: `feel` names the argument
    /// where the place has one (the command line's `--feel N`, Neovim's `:Whetstone calibrate
    /// stop N`); elsewhere the command asks for it.
    pub fn run_with_feel(self) -> String {
        match self {
            Voice::Terminal => "`whetstone calibrate stop --feel N`".to_string(),
            Voice::Neovim => ":Whetstone calibrate stop N".to_string(),
            other => other.run(Action::CalibrationStop),
        }
    }
}

impl Action {
    fn cli(self) -> &'static str {
        match self {
            Action::CalibrationStart => "calibrate start",
            Action::CalibrationStop => "calibrate stop",
            Action::CalibrationStatus => "calibrate status",
            Action::Report => "report",
        }
    }

    /// The title in the extension's command palette (editors/vscode/package.json).
    fn palette_title(self) -> &'static str {
        match self {
            Action::CalibrationStart => "Start calibration session",
            Action::CalibrationStop => "Stop calibration session",
            Action::CalibrationStatus => "Calibration session status",
            Action::Report => "Open report",
        }
    }

    fn lsp_command(self) -> &'static str {
        match self {
            Action::CalibrationStart => crate::lsp::commands::CALIBRATION_START,
            Action::CalibrationStop => crate::lsp::commands::CALIBRATION_STOP,
            Action::CalibrationStatus => crate::lsp::commands::CALIBRATION_STATUS,
            Action::Report => crate::lsp::commands::REPORT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_known_by_the_names_they_give() {
        let cases = [
            (Some("Neovim"), Voice::Neovim),
            (Some("helix"), Voice::Helix),
            (Some("Visual Studio Code"), Voice::VsCode),
            (Some("Visual Studio Code - Insiders"), Voice::VsCode),
            (Some("code-server"), Voice::VsCode),
            (Some("VSCodium"), Voice::VsCode),
            (Some("Zed"), Voice::Editor),
            (None, Voice::Editor),
        ];
        for (name, voice) in cases {
            assert_eq!(Voice::of_client(name), voice, "{name:?}");
        }
    }

    #[test]
    fn each_voice_names_a_command_the_way_its_user_runs_it() {
        let start: Vec<String> = [
            Voice::Terminal,
            Voice::VsCode,
            Voice::Neovim,
            Voice::Helix,
            Voice::Editor,
        ]
        .map(|voice| voice.run(Action::CalibrationStart))
        .into();
        assert_eq!(
            start,
            [
                "`whetstone calibrate start`",
                "\"Whetstone: Start calibration session\"",
                ":Whetstone calibrate start",
                ":lsp-workspace-command whetstone.calibration.start",
                "the command whetstone.calibration.start",
            ]
        );
        assert_eq!(Voice::Neovim.run_with_feel(), ":Whetstone calibrate stop N");
    }

    /// The names said here are the ones the clients define: the extension's palette titles, the
    /// Neovim plugin's subcommands.
    #[test]
    fn the_names_match_the_clients() {
        let editors = concat!(env!("CARGO_MANIFEST_DIR"), "/../editors");
        let package = std::fs::read_to_string(format!("{editors}/vscode/package.json"))
            .expect("the extension's package.json");
        let neovim = std::fs::read_to_string(format!("{editors}/neovim/lua/whetstone/command.lua"))
            .expect("the Neovim plugin's command.lua");
        let actions = [
            Action::CalibrationStart,
            Action::CalibrationStop,
            Action::CalibrationStatus,
            Action::Report,
        ];
        for action in actions {
            let title = format!("\"title\": \"{}\"", action.palette_title());
            assert!(package.contains(&title), "{title} in package.json");
            let subcommand = action.cli().split(' ').next().expect("a word");
            assert!(
                neovim.contains(&format!("  {subcommand} = {{")),
                "{subcommand} in command.lua"
            );
        }
    }
}
