//! A small GraphQL parser for the query shapes Shopify clients send.
//!
//! The sandbox does not need a general GraphQL engine: clients send one
//! operation (`query` or `mutation`, optionally named, with variable
//! definitions) of nested fields with aliases and arguments, sometimes with
//! named or inline fragments. This parser reads exactly that, resolves
//! variables into argument values, inlines fragments, and reports anything
//! else (directives, subscriptions) as a GraphQL error with its line and
//! column, as Shopify would.

use serde_json::{Map, Value};
use std::collections::HashMap;

/// A selected field.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub alias: Option<String>,
    pub name: String,
    pub args: Map<String, Value>,
    pub selection: Vec<Field>,
    pub line: usize,
    pub column: usize,
}

impl Field {
    /// The key the result goes under (alias or name).
    pub fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

/// Query or mutation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationKind {
    Query,
    Mutation,
}

/// The operation to execute.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    pub kind: OperationKind,
    pub name: Option<String>,
    pub selection: Vec<Field>,
}

/// A parse error with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Punct(char),
    Spread,
    Name(String),
    Int(String),
    Float(String),
    Str(String),
}

struct Lexer {
    toks: Vec<(Tok, usize, usize)>,
}

fn lex(text: &str) -> Result<Vec<(Tok, usize, usize)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let mut out = Vec::new();
    let err = |m: &str, line, column| ParseError { message: m.to_string(), line, column };
    while i < chars.len() {
        let c = chars[i];
        let (l0, c0) = (line, col);
        let adv = |n: usize, i: &mut usize, line: &mut usize, col: &mut usize| {
            for _ in 0..n {
                if chars.get(*i) == Some(&'\n') {
                    *line += 1;
                    *col = 1;
                } else {
                    *col += 1;
                }
                *i += 1;
            }
        };
        if c.is_whitespace() || c == ',' || c == '\u{feff}' {
            adv(1, &mut i, &mut line, &mut col);
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                adv(1, &mut i, &mut line, &mut col);
            }
        } else if c == '.' {
            if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') {
                out.push((Tok::Spread, l0, c0));
                adv(3, &mut i, &mut line, &mut col);
            } else {
                return Err(err("Parse error on \".\"", l0, c0));
            }
        } else if "!$():=@[]{}|".contains(c) {
            out.push((Tok::Punct(c), l0, c0));
            adv(1, &mut i, &mut line, &mut col);
        } else if c == '"' {
            let block = chars.get(i + 1) == Some(&'"') && chars.get(i + 2) == Some(&'"');
            let mut s = String::new();
            if block {
                adv(3, &mut i, &mut line, &mut col);
                loop {
                    if i + 2 >= chars.len() + 2 && i >= chars.len() {
                        return Err(err("Unterminated block string", l0, c0));
                    }
                    if chars.get(i) == Some(&'"') && chars.get(i + 1) == Some(&'"') && chars.get(i + 2) == Some(&'"') {
                        adv(3, &mut i, &mut line, &mut col);
                        break;
                    }
                    s.push(chars[i]);
                    adv(1, &mut i, &mut line, &mut col);
                }
            } else {
                adv(1, &mut i, &mut line, &mut col);
                loop {
                    match chars.get(i) {
                        None | Some('\n') => return Err(err("Unterminated string", l0, c0)),
                        Some('"') => {
                            adv(1, &mut i, &mut line, &mut col);
                            break;
                        }
                        Some('\\') => {
                            let e = chars.get(i + 1).copied().unwrap_or('\\');
                            match e {
                                'n' => s.push('\n'),
                                't' => s.push('\t'),
                                'r' => s.push('\r'),
                                'b' => s.push('\u{8}'),
                                'f' => s.push('\u{c}'),
                                'u' => {
                                    let hex: String = chars.iter().skip(i + 2).take(4).collect();
                                    let ch = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).ok_or_else(|| err("Bad unicode escape", line, col))?;
                                    s.push(ch);
                                    adv(4, &mut i, &mut line, &mut col);
                                }
                                other => s.push(other),
                            }
                            adv(2, &mut i, &mut line, &mut col);
                        }
                        Some(ch) => {
                            s.push(*ch);
                            adv(1, &mut i, &mut line, &mut col);
                        }
                    }
                }
            }
            out.push((Tok::Str(s), l0, c0));
        } else if c == '-' || c.is_ascii_digit() {
            let mut s = String::new();
            let mut float = false;
            while i < chars.len() && (chars[i].is_ascii_digit() || "-+.eE".contains(chars[i])) {
                if ".eE".contains(chars[i]) {
                    float = true;
                }
                s.push(chars[i]);
                adv(1, &mut i, &mut line, &mut col);
            }
            out.push((if float { Tok::Float(s) } else { Tok::Int(s) }, l0, c0));
        } else if c == '_' || c.is_ascii_alphabetic() {
            let mut s = String::new();
            while i < chars.len() && (chars[i] == '_' || chars[i].is_ascii_alphanumeric()) {
                s.push(chars[i]);
                adv(1, &mut i, &mut line, &mut col);
            }
            out.push((Tok::Name(s), l0, c0));
        } else {
            return Err(err(&format!("Parse error on \"{c}\""), l0, c0));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Lexer,
    pos: usize,
    vars: &'a Map<String, Value>,
    defaults: Map<String, Value>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.toks.get(self.pos).map(|t| &t.0)
    }
    fn here(&self) -> (usize, usize) {
        self.toks.toks.get(self.pos).or(self.toks.toks.last()).map(|t| (t.1, t.2)).unwrap_or((1, 1))
    }
    fn fail<T>(&self, m: impl Into<String>) -> Result<T, ParseError> {
        let (line, column) = self.here();
        Err(ParseError { message: m.into(), line, column })
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.toks.get(self.pos).map(|t| t.0.clone());
        self.pos += 1;
        t
    }
    fn expect(&mut self, c: char) -> Result<(), ParseError> {
        match self.peek() {
            Some(Tok::Punct(p)) if *p == c => {
                self.pos += 1;
                Ok(())
            }
            other => {
                let found = format!("{other:?}");
                self.fail(format!("Parse error: expected \"{c}\", found {found}"))
            }
        }
    }
    fn name(&mut self) -> Result<String, ParseError> {
        match self.next() {
            Some(Tok::Name(n)) => Ok(n),
            other => {
                self.pos -= 1;
                self.fail(format!("Parse error: expected a name, found {other:?}"))
            }
        }
    }
    fn is(&self, c: char) -> bool {
        matches!(self.peek(), Some(Tok::Punct(p)) if *p == c)
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        match self.next() {
            Some(Tok::Punct('$')) => {
                let n = self.name()?;
                Ok(self.vars.get(&n).cloned().or_else(|| self.defaults.get(&n).cloned()).unwrap_or(Value::Null))
            }
            Some(Tok::Int(s)) => Ok(s.parse::<i64>().map(Value::from).unwrap_or(Value::Null)),
            Some(Tok::Float(s)) => Ok(serde_json::from_str(&s).unwrap_or(Value::Null)),
            Some(Tok::Str(s)) => Ok(Value::String(s)),
            Some(Tok::Name(n)) => Ok(match n.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => Value::String(n),
            }),
            Some(Tok::Punct('[')) => {
                let mut items = Vec::new();
                while !self.is(']') {
                    if self.peek().is_none() {
                        return self.fail("Parse error: unterminated list");
                    }
                    items.push(self.value()?);
                }
                self.expect(']')?;
                Ok(Value::Array(items))
            }
            Some(Tok::Punct('{')) => {
                let mut m = Map::new();
                while !self.is('}') {
                    let k = self.name()?;
                    self.expect(':')?;
                    m.insert(k, self.value()?);
                }
                self.expect('}')?;
                Ok(Value::Object(m))
            }
            other => {
                self.pos -= 1;
                self.fail(format!("Parse error: unexpected {other:?}"))
            }
        }
    }

    fn skip_type(&mut self) -> Result<(), ParseError> {
        if self.is('[') {
            self.expect('[')?;
            self.skip_type()?;
            self.expect(']')?;
        } else {
            self.name()?;
        }
        if self.is('!') {
            self.expect('!')?;
        }
        Ok(())
    }

    fn selection(&mut self, fragments: &HashMap<String, (usize, usize)>, depth: usize) -> Result<Vec<Field>, ParseError> {
        if depth > 20 {
            return self.fail("Query is nested too deeply");
        }
        self.expect('{')?;
        let mut out = Vec::new();
        while !self.is('}') {
            if self.peek().is_none() {
                return self.fail("Parse error: unterminated selection set");
            }
            if matches!(self.peek(), Some(Tok::Spread)) {
                self.pos += 1;
                match self.peek() {
                    Some(Tok::Name(n)) if n == "on" => {
                        self.pos += 1;
                        self.name()?;
                        out.extend(self.selection(fragments, depth + 1)?);
                    }
                    Some(Tok::Punct('{')) => out.extend(self.selection(fragments, depth + 1)?),
                    Some(Tok::Name(_)) => {
                        let n = self.name()?;
                        let Some((start, _)) = fragments.get(&n).copied() else {
                            return self.fail(format!("Fragment {n} was used, but not defined"));
                        };
                        let back = self.pos;
                        self.pos = start;
                        let inner = self.selection(fragments, depth + 1)?;
                        self.pos = back;
                        out.extend(inner);
                    }
                    _ => return self.fail("Parse error after \"...\""),
                }
                continue;
            }
            let (line, column) = self.here();
            let first = self.name()?;
            let (alias, name) = if self.is(':') {
                self.expect(':')?;
                (Some(first), self.name()?)
            } else {
                (None, first)
            };
            let mut args = Map::new();
            if self.is('(') {
                self.expect('(')?;
                while !self.is(')') {
                    let k = self.name()?;
                    self.expect(':')?;
                    args.insert(k, self.value()?);
                }
                self.expect(')')?;
            }
            if self.is('@') {
                return self.fail("Directives are not supported by this sandbox");
            }
            let selection = if self.is('{') { self.selection(fragments, depth + 1)? } else { Vec::new() };
            out.push(Field { alias, name, args, selection, line, column });
        }
        self.expect('}')?;
        Ok(out)
    }
}

/// Parses a document and returns the operation to run (the one named
/// `operation_name`, or the only one).
pub fn parse(text: &str, variables: &Map<String, Value>, operation_name: Option<&str>) -> Result<Operation, ParseError> {
    let toks = lex(text)?;
    let mut p = Parser { toks: Lexer { toks }, pos: 0, vars: variables, defaults: Map::new() };
    // First pass: find fragment definitions and operations.
    let mut fragments = HashMap::new();
    let mut ops: Vec<(OperationKind, Option<String>, usize)> = Vec::new();
    while let Some(t) = p.peek().cloned() {
        match t {
            Tok::Punct('{') => {
                ops.push((OperationKind::Query, None, p.pos));
                skip_block(&mut p)?;
            }
            Tok::Name(n) if n == "fragment" => {
                p.pos += 1;
                let name = p.name()?;
                if p.name()? != "on" {
                    return p.fail("Parse error: expected \"on\"");
                }
                p.name()?;
                let (l, c) = p.here();
                fragments.insert(name, (p.pos, l * 100_000 + c));
                skip_block(&mut p)?;
            }
            Tok::Name(n) if n == "query" || n == "mutation" => {
                p.pos += 1;
                let kind = if n == "query" { OperationKind::Query } else { OperationKind::Mutation };
                let name = match p.peek() {
                    Some(Tok::Name(_)) => Some(p.name()?),
                    _ => None,
                };
                if p.is('(') {
                    p.expect('(')?;
                    while !p.is(')') {
                        p.expect('$')?;
                        let var = p.name()?;
                        p.expect(':')?;
                        p.skip_type()?;
                        if p.is('=') {
                            p.expect('=')?;
                            let d = p.value()?;
                            p.defaults.insert(var, d);
                        }
                    }
                    p.expect(')')?;
                }
                ops.push((kind, name, p.pos));
                skip_block(&mut p)?;
            }
            Tok::Name(n) if n == "subscription" => return p.fail("Subscriptions are not supported"),
            other => return p.fail(format!("Parse error on {other:?}")),
        }
    }
    let chosen = match operation_name {
        Some(n) => ops.iter().find(|o| o.1.as_deref() == Some(n)),
        None if ops.len() == 1 => ops.first(),
        None => return Err(ParseError { message: "An operation name is required when the document has several operations".into(), line: 1, column: 1 }),
    };
    let Some((kind, name, start)) = chosen.cloned() else {
        return Err(ParseError { message: "No operation to run".into(), line: 1, column: 1 });
    };
    p.pos = start;
    let selection = p.selection(&fragments, 0)?;
    Ok(Operation { kind, name, selection })
}

fn skip_block(p: &mut Parser<'_>) -> Result<(), ParseError> {
    p.expect('{')?;
    let mut depth = 1;
    while depth > 0 {
        match p.next() {
            Some(Tok::Punct('{')) => depth += 1,
            Some(Tok::Punct('}')) => depth -= 1,
            None => return p.fail("Parse error: unterminated selection set"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_shapes_clients_send() {
        let vars = json!({"first": 50, "after": "abc"});
        let q = r#"
            query Customers($first: Int!, $after: String, $query: String = "updated_at:>'2024-01-01'") {
              customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
                pageInfo { hasNextPage endCursor }
                nodes { ...C addr: defaultAddress { city } }
              }
            }
            fragment C on Customer { id email }
        "#;
        let op = parse(q, vars.as_object().unwrap(), None).expect("a typical paging query must parse");
        let customers = &op.selection[0];
        assert_eq!(customers.args["first"], json!(50), "variables resolve into arguments");
        assert_eq!(customers.args["query"], json!("updated_at:>'2024-01-01'"), "variable defaults apply");
        assert_eq!(customers.args["sortKey"], json!("UPDATED_AT"), "enum values become strings");
        let nodes = &customers.selection[1];
        let names: Vec<&str> = nodes.selection.iter().map(|f| f.key()).collect();
        assert_eq!(names, vec!["id", "email", "addr"], "fragments inline and aliases are kept");
    }

    #[test]
    fn reports_errors_with_position() {
        let cases = ["{ customers(first: 5) { nodes { id }", "subscription { x }", "{ a @include(if: true) }"];
        for q in cases {
            assert!(parse(q, &Map::new(), None).is_err(), "{q:?} must be refused");
        }
        let e = parse("{\n  customers(first: ) }", &Map::new(), None).unwrap_err();
        assert_eq!(e.line, 2, "the error points at the offending line");
    }

    #[test]
    fn mutations_with_input_objects() {
        let vars = json!({"input": {"id": "gid://shopify/Customer/1", "note": "hi"}});
        let op = parse("mutation U($input: CustomerInput!) { customerUpdate(input: $input) { userErrors { field message } } }", vars.as_object().unwrap(), None).unwrap();
        assert_eq!(op.kind, OperationKind::Mutation, "mutation is recognised");
        assert_eq!(op.selection[0].args["input"]["note"], json!("hi"), "input objects pass through");
    }
}
