//! Every supported MCP client in one table. Adding a client is adding an entry here.

/// Which folder a user-scope path is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The home folder.
    Home,
    /// The platform config folder: `$XDG_CONFIG_HOME`, `~/Library/Application Support`, `%APPDATA%`.
    Config,
    /// Codex's folder: `$CODEX_HOME`, default `~/.codex`.
    CodexHome,
    /// The platform's local (not roaming) data folder: `%LOCALAPPDATA%` on Windows.
    LocalData,
}

/// How servers are laid out in a client's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON(C) object of servers under this top-level key.
    Json(&'static str),
    /// `~/.claude.json`: user servers at `mcpServers`, per-project ones under `projects[path].mcpServers`.
    ClaudeJson,
    /// TOML tables under `[mcp_servers.NAME]` (Codex).
    CodexToml,
}

/// One MCP client: where its files are and how they are laid out. A path component may be a
/// pattern with one `*` (`cli-agents/*.json`, `extensions/*/gemini-extension.json`): every
/// matching entry of that folder is read, in name order.
#[derive(Debug)]
pub struct ClientSpec {
    /// Stable id used in output.
    pub id: &'static str,
    /// Name shown to people.
    pub name: &'static str,
    /// User-scope files.
    pub user: &'static [(Base, &'static str, Format)],
    /// Project-scope files, relative to each project root.
    pub project: &'static [(&'static str, Format)],
}

const MCP_SERVERS: Format = Format::Json("mcpServers");
const SERVERS: Format = Format::Json("servers");
const CONTEXT_SERVERS: Format = Format::Json("context_servers");

/// Sorted by id; a test keeps it that way. Sources for the less obvious paths:
/// - amazon-q: AWS docs "Amazon Q Developer CLI: custom agents" — `~/.aws/amazonq/cli-agents/*.json`
///   (global) and `.amazonq/cli-agents/*.json` (local), each with an `mcpServers` object. The IDE
///   plugin (AWS docs "MCP configuration for Q Developer in the IDE", mcp-ide.html) keeps its
///   servers in `~/.aws/amazonq/default.json` and `.amazonq/default.json`, and its agents in
///   `agents/*.json` there (`~/.aws/amazonq/agents/default.json`, where AWS's SageMaker setup merges
///   `mcpServers`); all in the agent format (amazon-q-developer-cli schemas/agent-v1.json).
/// - cline, roo-code: the extension's globalStorage under each VS Code-based editor's user folder
///   (`Code`, `Code - Insiders`, `Cursor`, `VSCodium`, `Windsurf`, as their setup guides give it);
///   Cline's CLI reads `~/.cline/data/settings/cline_mcp_settings.json` (docs.cline.bot, MCP overview).
/// - codex: openai/codex docs/config.md — `$CODEX_HOME` (default `~/.codex`), `[mcp_servers.NAME]`
///   with `enabled = false`, `[projects."<path>"]`, and a project's `.codex/config.toml`.
/// - gemini-cli: google-gemini/gemini-cli docs/extension.md — `~/.gemini/extensions/<name>/gemini-extension.json`
///   with `mcpServers`.
/// - kiro: kiro.dev docs (CLI custom agents) — `~/.kiro/agents/*.json` and `.kiro/agents/*.json`.
/// - roo-code: RooCodeInc/Roo-Code docs "Using MCP in Roo" — global `mcp_settings.json` in the
///   extension's globalStorage, project `.roo/mcp.json`.
/// - vscode: code.visualstudio.com docs "MCP configuration reference": `mcp.json` in the user
///   profile; a profile other than the default one has its own folder `User/profiles/<id>/`
///   ("Settings": profile settings).
///
/// Windows: `Base::Home` is `%USERPROFILE%` and `Base::Config` `%APPDATA%`, which is where every
/// client keeps its files there too, with two exceptions, the entries marked `cfg(windows)`:
/// - claude-desktop: the MSIX package (the installer's default since February 2026) reads its
///   config from `%LOCALAPPDATA%\Packages\Claude_<publisher id>\LocalCache\Roaming\Claude\`
///   (Windows redirects the packaged app's `%APPDATA%` there); older installs use `%APPDATA%\Claude\`.
/// - zed: `%APPDATA%\Zed\settings.json` (zed-industries/zed `crates/paths`); it has no `~/.config/zed`.
#[rustfmt::skip]
pub const CLIENTS: &[ClientSpec] = &[
    ClientSpec { id: "amazon-q", name: "Amazon Q", user: &[
        (Base::Home, ".aws/amazonq/mcp.json", MCP_SERVERS),
        (Base::Home, ".aws/amazonq/cli-agents/*.json", MCP_SERVERS),
        (Base::Home, ".aws/amazonq/default.json", MCP_SERVERS),
        (Base::Home, ".aws/amazonq/agents/*.json", MCP_SERVERS),
    ], project: &[
        (".amazonq/mcp.json", MCP_SERVERS),
        (".amazonq/cli-agents/*.json", MCP_SERVERS),
        (".amazonq/default.json", MCP_SERVERS),
        (".amazonq/agents/*.json", MCP_SERVERS),
    ] },
    ClientSpec { id: "claude-code", name: "Claude Code", user: &[(Base::Home, ".claude.json", Format::ClaudeJson)], project: &[(".mcp.json", MCP_SERVERS)] },
    ClientSpec { id: "claude-desktop", name: "Claude Desktop", user: &[
        (Base::Config, "Claude/claude_desktop_config.json", MCP_SERVERS),
        #[cfg(windows)]
        (Base::LocalData, "Packages/Claude_*/LocalCache/Roaming/Claude/claude_desktop_config.json", MCP_SERVERS),
    ], project: &[] },
    ClientSpec { id: "cline", name: "Cline", user: &[
        (Base::Config, "Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json", MCP_SERVERS),
        (Base::Config, "Code - Insiders/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json", MCP_SERVERS),
        (Base::Config, "Cursor/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json", MCP_SERVERS),
        (Base::Config, "VSCodium/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json", MCP_SERVERS),
        (Base::Config, "Windsurf/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json", MCP_SERVERS),
        (Base::Home, ".cline/data/settings/cline_mcp_settings.json", MCP_SERVERS),
    ], project: &[] },
    ClientSpec { id: "codex", name: "Codex", user: &[(Base::CodexHome, "config.toml", Format::CodexToml)], project: &[(".codex/config.toml", Format::CodexToml)] },
    ClientSpec { id: "copilot-cli", name: "Copilot CLI", user: &[(Base::Home, ".copilot/mcp-config.json", MCP_SERVERS)], project: &[] },
    ClientSpec { id: "cursor", name: "Cursor", user: &[(Base::Home, ".cursor/mcp.json", MCP_SERVERS)], project: &[(".cursor/mcp.json", MCP_SERVERS)] },
    ClientSpec { id: "gemini-cli", name: "Gemini CLI", user: &[(Base::Home, ".gemini/settings.json", MCP_SERVERS), (Base::Home, ".gemini/extensions/*/gemini-extension.json", MCP_SERVERS)], project: &[(".gemini/settings.json", MCP_SERVERS)] },
    ClientSpec { id: "kiro", name: "Kiro", user: &[(Base::Home, ".kiro/settings/mcp.json", MCP_SERVERS), (Base::Home, ".kiro/agents/*.json", MCP_SERVERS)], project: &[(".kiro/settings/mcp.json", MCP_SERVERS), (".kiro/agents/*.json", MCP_SERVERS)] },
    ClientSpec { id: "roo-code", name: "Roo Code", user: &[
        (Base::Config, "Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json", MCP_SERVERS),
        (Base::Config, "Code - Insiders/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json", MCP_SERVERS),
        (Base::Config, "Cursor/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json", MCP_SERVERS),
        (Base::Config, "VSCodium/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json", MCP_SERVERS),
        (Base::Config, "Windsurf/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json", MCP_SERVERS),
    ], project: &[(".roo/mcp.json", MCP_SERVERS)] },
    ClientSpec { id: "vscode", name: "VS Code", user: &[
        (Base::Config, "Code/User/mcp.json", SERVERS),
        (Base::Config, "Code/User/profiles/*/mcp.json", SERVERS),
        (Base::Config, "Code - Insiders/User/mcp.json", SERVERS),
        (Base::Config, "Code - Insiders/User/profiles/*/mcp.json", SERVERS),
    ], project: &[(".vscode/mcp.json", SERVERS)] },
    ClientSpec { id: "windsurf", name: "Windsurf", user: &[(Base::Home, ".codeium/windsurf/mcp_config.json", MCP_SERVERS)], project: &[] },
    // Zed keeps its settings in ~/.config/zed on macOS too; on Linux both entries are one file.
    #[cfg(not(windows))]
    ClientSpec { id: "zed", name: "Zed", user: &[(Base::Config, "zed/settings.json", CONTEXT_SERVERS), (Base::Home, ".config/zed/settings.json", CONTEXT_SERVERS)], project: &[(".zed/settings.json", CONTEXT_SERVERS)] },
    #[cfg(windows)]
    ClientSpec { id: "zed", name: "Zed", user: &[(Base::Config, "Zed/settings.json", CONTEXT_SERVERS)], project: &[(".zed/settings.json", CONTEXT_SERVERS)] },
];

/// The display name of a client id.
pub fn client_name(id: &str) -> &str {
    CLIENTS.iter().find(|c| c.id == id).map_or(id, |c| c.name)
}
