//! Reading JSON request bodies field by field, so every error names its field (serde's own
//! messages do not for type errors) and unknown fields are refused (DESIGN.md §7).
//!
//! Numbers are JSON numbers (DESIGN.md §13): `"stop_loss": "2900"` is a 400. The TradingView
//! webhook alone reads its body with [`Body::parse_lenient`], because TradingView's placeholders
//! (`{{close}}`) arrive as strings; there a string in JSON number syntax counts as its number.

use serde_json::{Map, Value};

use super::super::ApiError;

pub struct Body {
    fields: Map<String, Value>,
    /// Whether a numeric string counts as a number (the webhook only).
    numeric_strings: bool,
}

/// A numeric string as the webhook accepts it: JSON number syntax, nothing around it; the
/// OpenAPI document gives the same rule as a pattern ([`NUMERIC_STRING_PATTERN`]).
fn numeric_string(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    match bytes.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return None,
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return None;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return None;
        }
    }
    (i == bytes.len()).then(|| text.parse().ok()).flatten()
}

/// [`numeric_string`] as an ECMA-262 regular expression, for the OpenAPI document.
pub const NUMERIC_STRING_PATTERN: &str = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$";

/// The JSON of a request body, read by the handler once it has checked the token: an extractor
/// would read it first and answer a caller without the token (or locked out) with the body's
/// errors instead of 401 or 429.
pub fn json_value(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::Validation {
        field: None,
        message: format!("invalid JSON body: {e}"),
    })
}

impl Body {
    /// The object of a JSON body, refusing any field not in `allowed`; numbers must be JSON
    /// numbers. Every JSON API body but the webhook's is read this way.
    pub fn parse(value: Value, allowed: &[&str]) -> Result<Body, ApiError> {
        Body::read(value, allowed, false)
    }

    /// As [`Body::parse`], but a string in JSON number syntax (`"2900.5"`) counts as a number.
    /// For `POST /api/webhook/tradingview` only: TradingView sends its numbers as strings.
    pub fn parse_lenient(value: Value, allowed: &[&str]) -> Result<Body, ApiError> {
        Body::read(value, allowed, true)
    }

    fn read(value: Value, allowed: &[&str], numeric_strings: bool) -> Result<Body, ApiError> {
        let Value::Object(map) = value else {
            return Err(ApiError::Validation {
                field: None,
                message: "the body must be a JSON object".to_owned(),
            });
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::validation(
                unknown.clone(),
                format!(
                    "unknown field `{unknown}`; expected one of {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Body {
            fields: map,
            numeric_strings,
        })
    }

    /// An object nested in `parent`'s body (a list item), read by the parent's rules.
    pub fn nested(value: Value, allowed: &[&str], parent: &Body) -> Result<Body, ApiError> {
        Body::read(value, allowed, parent.numeric_strings)
    }

    /// A field as sent, `null` included (`present` treats null as absent).
    pub fn raw(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }

    fn present(&self, field: &str) -> Option<&Value> {
        self.fields.get(field).filter(|v| !v.is_null())
    }

    pub fn optional_str(&self, field: &str, max_len: usize) -> Result<Option<String>, ApiError> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= max_len => Ok(Some(s.clone())),
            Some(Value::String(_)) => Err(ApiError::validation(
                field,
                format!("{field} is longer than {max_len} characters"),
            )),
            Some(_) => Err(ApiError::validation(
                field,
                format!("{field} must be a string"),
            )),
        }
    }

    pub fn required_str(&self, field: &str, max_len: usize) -> Result<String, ApiError> {
        self.optional_str(field, max_len)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ApiError::validation(field, format!("{field} is required")))
    }

    /// A finite JSON number (or, read leniently, a numeric string).
    pub fn optional_number(&self, field: &str) -> Result<Option<f64>, ApiError> {
        let number = match self.present(field) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) if self.numeric_strings => numeric_string(s),
            Some(Value::String(_)) => {
                return Err(ApiError::validation(
                    field,
                    format!("{field} must be a JSON number, not a string"),
                ))
            }
            Some(_) => None,
        };
        match number {
            Some(n) if n.is_finite() => Ok(Some(n)),
            _ => Err(ApiError::validation(
                field,
                format!("{field} must be a finite number"),
            )),
        }
    }

    pub fn required_number(&self, field: &str) -> Result<f64, ApiError> {
        self.optional_number(field)?
            .ok_or_else(|| ApiError::validation(field, format!("{field} is required")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn number(body: &Value, lenient: bool) -> Result<Option<f64>, Option<String>> {
        let parsed = if lenient {
            Body::parse_lenient(body.clone(), &["n"])
        } else {
            Body::parse(body.clone(), &["n"])
        };
        parsed
            .and_then(|b| b.optional_number("n"))
            .map_err(|e| match e {
                ApiError::Validation { field, .. } => field,
                other => panic!("{other:?}"),
            })
    }

    #[test]
    fn the_api_takes_only_json_numbers() {
        let cases = [
            (json!({"n": 2900}), Ok(Some(2900.0)), "an integer"),
            (json!({"n": 0.0024}), Ok(Some(0.0024)), "a fraction"),
            (json!({"n": null}), Ok(None), "null is absent"),
            (json!({}), Ok(None), "absent"),
            (
                json!({"n": "2900"}),
                Err(Some("n".to_owned())),
                "a numeric string",
            ),
            (json!({"n": true}), Err(Some("n".to_owned())), "a boolean"),
            (json!({"n": [1]}), Err(Some("n".to_owned())), "a list"),
        ];
        for (body, expected, reason) in cases {
            assert_eq!(number(&body, false), expected, "{reason}");
        }
    }

    #[test]
    fn the_webhook_also_takes_numeric_strings_in_json_syntax() {
        let accepted = [
            ("2900", 2900.0),
            ("-1.5", -1.5),
            ("0.0024", 0.0024),
            ("1e3", 1000.0),
            ("2.5E-3", 0.0025),
            ("0", 0.0),
        ];
        for (text, value) in accepted {
            assert_eq!(number(&json!({"n": text}), true), Ok(Some(value)), "{text}");
        }
        let refused = [
            "", " 2900", "2900 ", "+5", ".5", "5.", "05", "1e", "0x10", "inf", "NaN", "1e999",
            "1,5", "12abc",
        ];
        for text in refused {
            assert_eq!(
                number(&json!({"n": text}), true),
                Err(Some("n".to_owned())),
                "{text:?}"
            );
        }
        assert_eq!(number(&json!({"n": 7}), true), Ok(Some(7.0)), "numbers too");
    }
}
