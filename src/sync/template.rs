//! Templates and paths of the manifests: `{placeholder}`s filled in per request, and dotted
//! paths (`responseInfo.nextPage.href`, `stage_id.1`, `statuses[statusID]`) into JSON replies.
//! No IO: the values come from the caller.

use std::collections::BTreeMap;

use serde_json::Value;

/// The placeholders a template may use besides `var:NAME` and `env:NAME`.
const KNOWN: &[&str] = &[
    "page_size",
    "offset",
    "page",
    "cursor",
    "since",
    "token",
    "now_ms",
];

/// The placeholder names in `text`, in order.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if is_name(&after[..end]) => {
                out.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    out
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.'))
}

/// Whether `p` is a placeholder the engine fills.
pub fn is_known(p: &str) -> bool {
    KNOWN.contains(&p) || p.starts_with("var:") || p.starts_with("env:")
}

/// `NAME[PATH]` of a field that goes through a lookup: (NAME, PATH).
pub fn lookup_path(path: &str) -> Option<(&str, &str)> {
    let open = path.find('[')?;
    let inner = path[open + 1..].strip_suffix(']')?;
    Some((&path[..open], inner))
}

/// What a request's templates are filled with.
pub struct Values<'a> {
    pub page_size: u32,
    pub offset: u64,
    pub page: i64,
    pub cursor: Option<&'a str>,
    pub since: Option<&'a Value>,
    pub token: Option<&'a Value>,
    pub vars: &'a BTreeMap<String, String>,
    pub env: &'a BTreeMap<String, String>,
}

impl Values<'_> {
    /// A placeholder's value; `None` when it has none (no cursor yet, no watermark, an empty var).
    fn get(&self, name: &str) -> Option<Value> {
        let text = |s: &str| (!s.is_empty()).then(|| Value::String(s.to_string()));
        match name {
            "page_size" => Some(self.page_size.into()),
            "offset" => Some(self.offset.into()),
            "page" => Some(self.page.into()),
            "cursor" => self.cursor.and_then(text),
            "since" => self.since.cloned(),
            "token" => self.token.cloned(),
            "now_ms" => Some(chrono::Utc::now().timestamp_millis().into()),
            _ => {
                if let Some(v) = name.strip_prefix("var:") {
                    self.vars.get(v).and_then(|s| text(s))
                } else if let Some(v) = name.strip_prefix("env:") {
                    self.env.get(v).and_then(|s| text(s))
                } else {
                    None
                }
            }
        }
    }

    /// `text` with every placeholder replaced by its value as text (empty when it has none).
    /// Returns `None` when the text was nothing but placeholders that all have no value, so a
    /// query parameter or header like that is left out.
    pub fn render(&self, text: &str) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut any_value = false;
        let mut literal = false;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            match after.find('}') {
                Some(end) if is_name(&after[..end]) && is_known(&after[..end]) => {
                    literal |= start > 0;
                    out.push_str(&rest[..start]);
                    if let Some(v) = self.get(&after[..end]) {
                        any_value = true;
                        out.push_str(&value_text(&v).unwrap_or_default());
                    }
                    rest = &after[end + 1..];
                }
                _ => {
                    literal = true;
                    out.push_str(&rest[..=start]);
                    rest = after;
                }
            }
        }
        literal |= !rest.is_empty();
        out.push_str(rest);
        (any_value || (literal && placeholders(text).is_empty())).then_some(out)
    }

    /// A JSON body from its TOML template: a string that is exactly one placeholder takes the
    /// value's own type (a number stays a number, a missing one is null).
    pub fn render_json(&self, v: &toml::Value) -> Value {
        match v {
            toml::Value::String(s) => {
                if let Some(name) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}'))
                    && is_name(name)
                    && is_known(name)
                {
                    return self.get(name).unwrap_or(Value::Null);
                }
                Value::String(self.render(s).unwrap_or_default())
            }
            toml::Value::Integer(i) => (*i).into(),
            toml::Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            toml::Value::Boolean(b) => (*b).into(),
            toml::Value::Datetime(d) => Value::String(d.to_string()),
            toml::Value::Array(a) => Value::Array(a.iter().map(|x| self.render_json(x)).collect()),
            toml::Value::Table(t) => Value::Object(
                t.iter()
                    .map(|(k, x)| (k.clone(), self.render_json(x)))
                    .collect(),
            ),
        }
    }
}

/// The value at a dotted path (`a.b.0.c`); the empty path is the value itself.
pub fn at<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return Some(v);
    }
    let mut cur = v;
    for seg in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// A JSON value as the mapping engine reads it: text, numbers as written, `true`/`false`;
/// null and empty lists or objects are missing; other lists and objects are their JSON text.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(a) if a.is_empty() => None,
        Value::Object(o) if o.is_empty() => None,
        other => Some(other.to_string()),
    }
}

/// Puts `item` at the end of the list at `path` in `body` (creating the list when the path
/// ends at null). Returns false when the path does not lead to a list.
pub fn append(body: &mut Value, path: &str, item: Value) -> bool {
    let mut cur = body;
    if !path.is_empty() {
        for seg in path.split('.') {
            cur = match cur {
                Value::Object(m) => match m.get_mut(seg) {
                    Some(x) => x,
                    None => return false,
                },
                Value::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                    Some(x) => x,
                    None => return false,
                },
                _ => return false,
            };
        }
    }
    if cur.is_null() {
        *cur = Value::Array(Vec::new());
    }
    match cur {
        Value::Array(a) => {
            a.push(item);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values<'a>(
        vars: &'a BTreeMap<String, String>,
        env: &'a BTreeMap<String, String>,
        since: Option<&'a Value>,
    ) -> Values<'a> {
        Values {
            page_size: 200,
            offset: 400,
            page: 3,
            cursor: None,
            since,
            token: None,
            vars,
            env,
        }
    }

    #[test]
    fn renders_text_and_leaves_out_what_has_no_value() {
        let vars = BTreeMap::from([("org".to_string(), "".to_string())]);
        let env = BTreeMap::from([("KEY".to_string(), "s3cret".to_string())]);
        let since = json!(1_700_000_000_000_i64);
        let v = values(&vars, &env, Some(&since));
        assert_eq!(
            v.render("Bearer {env:KEY}").as_deref(),
            Some("Bearer s3cret")
        );
        assert_eq!(v.render("{cursor}"), None);
        assert_eq!(v.render("{var:org}"), None);
        assert_eq!(
            v.render("changedate>\"{since}\"").as_deref(),
            Some("changedate>\"1700000000000\"")
        );
        assert_eq!(v.render("-updatedAt").as_deref(), Some("-updatedAt"));
        assert_eq!(v.render("{page_size}").as_deref(), Some("200"));
        assert_eq!(
            v.render("{not a placeholder}").as_deref(),
            Some("{not a placeholder}")
        );
    }

    #[test]
    fn json_bodies_keep_types() {
        let (vars, env) = (BTreeMap::new(), BTreeMap::new());
        let v = values(&vars, &env, None);
        let body: toml::Value = toml::from_str(
            r#"pageNum = "{page}"
               pageSize = "{page_size}"
               cursor = "{cursor}"
               label = "page {page}"
               filters = [ ["a", "=", 1] ]"#,
        )
        .unwrap();
        assert_eq!(
            v.render_json(&body),
            json!({"pageNum": 3, "pageSize": 200, "cursor": null, "label": "page 3", "filters": [["a", "=", 1]]})
        );
    }

    #[test]
    fn paths_and_appends() {
        let mut doc =
            json!({"d": {"results": [1, 2], "__next": "u"}, "args": [0, [[]]], "f": null});
        assert_eq!(at(&doc, "d.__next"), Some(&json!("u")));
        assert_eq!(at(&doc, "d.results.1"), Some(&json!(2)));
        assert_eq!(at(&doc, ""), Some(&doc.clone()));
        assert_eq!(at(&doc, "d.missing"), None);
        assert!(append(
            &mut doc,
            "args.1.0",
            json!(["write_date", ">", "x"])
        ));
        assert!(append(&mut doc, "f", json!(1)));
        assert!(!append(&mut doc, "d.__next", json!(1)));
        assert_eq!(doc["args"][1][0], json!([["write_date", ">", "x"]]));
        assert_eq!(doc["f"], json!([1]));
        assert_eq!(
            value_text(&json!([10, "Repaired"])).as_deref(),
            Some("[10,\"Repaired\"]")
        );
        assert_eq!(value_text(&json!(false)).as_deref(), Some("false"));
        assert_eq!(value_text(&json!(1.5)).as_deref(), Some("1.5"));
        assert_eq!(value_text(&json!([])), None);
        assert_eq!(
            lookup_path("statuses[statusID]"),
            Some(("statuses", "statusID"))
        );
        assert_eq!(lookup_path("asset.name"), None);
    }
}
