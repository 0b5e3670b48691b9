//! `~/.claude.json` without reading all of it into a tree. Claude Code keeps its history there and
//! users report files of 65–101 MB (anthropics/claude-code#6394, #2593); only `mcpServers`,
//! `projects.*.mcpServers` and the per-project enable/disable lists matter here. serde skips every
//! other value while scanning (`IgnoredAny`), so memory stays close to the file's own size.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// The parts of `~/.claude.json` that name MCP servers or switch them off.
#[derive(Debug, Default, Deserialize)]
pub struct ClaudeJson {
    /// User-scope servers.
    #[serde(rename = "mcpServers", default)]
    pub mcp_servers: Option<Value>,
    /// `projects["/abs/path"]`, in file order; entries that are not objects are `None`.
    #[serde(default, deserialize_with = "projects")]
    pub projects: Vec<(String, Option<ClaudeProject>)>,
}

/// One `projects[path]` entry, everything else in it (history, tool lists) skipped.
#[derive(Debug, Default, Deserialize)]
pub struct ClaudeProject {
    /// Local-scope servers.
    #[serde(rename = "mcpServers", default)]
    pub mcp_servers: Option<Value>,
    /// `.mcp.json` servers the user rejected.
    #[serde(rename = "disabledMcpjsonServers", default)]
    pub disabled_mcpjson: Option<Value>,
    // `enabledMcpjsonServers` / `enableAllProjectMcpServers` (approvals) are not read: a server
    // that is neither approved nor rejected is asked about at Claude Code's next start, so it
    // counts as enabled either way; only a rejection switches it off.
    /// Servers of any scope switched off with `/mcp disable` in this project.
    #[serde(rename = "disabledMcpServers", default)]
    pub disabled: Option<Value>,
}

/// The strings of a JSON array; anything else is an empty list.
pub fn string_list(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Parses the file's bytes (BOM already stripped). The error carries the 1-based line.
pub fn parse(bytes: &[u8]) -> Result<ClaudeJson, (usize, String)> {
    // serde would also take an array as the struct's fields in order; only an object is the file.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err((1, "expected an object at the top level".to_owned()));
    }
    serde_json::from_slice(bytes).map_err(|e| (e.line(), e.to_string()))
}

fn projects<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<(String, Option<ClaudeProject>)>, D::Error> {
    d.deserialize_any(ProjectsVisitor)
}

struct ProjectsVisitor;

impl<'de> Visitor<'de> for ProjectsVisitor {
    type Value = Vec<(String, Option<ClaudeProject>)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of projects")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let Lenient(project) = map.next_value::<Lenient>()?;
            out.push((key, project));
        }
        Ok(out)
    }

    // Not an object: no projects, and the rest of the file still counts.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Vec::new())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
}

/// A project entry that may be anything: an object is read, any other value skipped.
struct Lenient(Option<ClaudeProject>);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor)
    }
}

struct LenientVisitor;

impl<'de> Visitor<'de> for LenientVisitor {
    type Value = Lenient;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a project entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ClaudeProject::deserialize(de::value::MapAccessDeserializer::new(map))
            .map(|p| Lenient(Some(p)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Lenient(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_what_matters_and_tolerates_odd_shapes() {
        let text = r#"{"numStartups": 3, "history": [{"display": "x"}],
            "mcpServers": {"u": {"command": "x"}},
            "projects": {"/a": {"history": [1, 2, {"deep": [[]]}], "mcpServers": {"l": {}},
                                "disabledMcpjsonServers": ["d"], "enableAllProjectMcpServers": true,
                                "disabledMcpServers": "not a list"},
                         "/b": 3, "/c": [1, {"x": 2}], "/d": null}}"#;
        let c = parse(text.as_bytes()).unwrap();
        assert!(c.mcp_servers.unwrap().get("u").is_some());
        let keys: Vec<_> = c.projects.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["/a", "/b", "/c", "/d"]);
        let a = c.projects[0].1.as_ref().unwrap();
        assert_eq!(string_list(a.disabled_mcpjson.as_ref()), ["d"]);
        assert!(string_list(a.disabled.as_ref()).is_empty());
        assert!(c.projects[1].1.is_none() && c.projects[2].1.is_none());
        assert!(parse(br#"{"projects": [1]}"#).unwrap().projects.is_empty());
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let (line, _) = parse(b"{\n\"mcpServers\": {\n,}}").unwrap_err();
        assert_eq!(line, 3);
        assert!(parse(b"[1]").is_err());
    }
}
