//! Reading JSON request bodies field by field, so every error names its field (serde's own
//! messages do not for type errors) and unknown fields are refused (DESIGN.md §7).

use serde_json::{Map, Value};

use super::super::ApiError;

pub struct Body(Map<String, Value>);

impl Body {
    /// The object of a JSON body, refusing any field not in `allowed`.
    pub fn parse(value: Value, allowed: &[&str]) -> Result<Body, ApiError> {
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
        Ok(Body(map))
    }

    fn present(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
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

    /// A finite number, given as a JSON number or a numeric string (TradingView templates).
    pub fn optional_number(&self, field: &str) -> Result<Option<f64>, ApiError> {
        let number = match self.present(field) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
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
