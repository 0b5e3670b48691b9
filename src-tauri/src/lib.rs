//! aws-sso-tray: finds the AWS profiles of every MCP server, shows when their SSO sessions expire,
//! and refreshes them. `core` knows files and processes; `mcp`, `cli` (and `desktop`) are fronts.

pub mod cli;
pub mod core;
#[cfg(feature = "desktop")]
pub mod desktop;
pub mod mcp;
