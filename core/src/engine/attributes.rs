//! Member attributes (`department`, `job_title`, ...): the one rule for
//! bounding and cleaning them wherever they enter (an invitation's rows, a
//! member update, a bulk update's file).

use super::{check_bytes, clean_line};
use crate::error::{Error, LimitKind, Result};
use crate::member::{
    Attributes, MAX_ATTRIBUTE_KEY_CHARS, MAX_ATTRIBUTE_VALUE_CHARS, MAX_ATTRIBUTES,
};

/// Bounds attributes before any is read: at most [`MAX_ATTRIBUTES`] keys,
/// each key and value no longer in bytes than its character limit allows.
pub(crate) fn bound_attributes(attributes: &Attributes) -> Result<()> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(Error::LimitExceeded {
            limit: LimitKind::FieldLength,
            max: MAX_ATTRIBUTES as u64,
            actual: attributes.len() as u64,
            detail: Some("attributes: keys".into()),
        });
    }
    for (k, v) in attributes {
        check_bytes("attribute key", k, MAX_ATTRIBUTE_KEY_CHARS)?;
        check_bytes("attribute value", v, MAX_ATTRIBUTE_VALUE_CHARS)?;
    }
    Ok(())
}

/// Bounds and cleans attributes: keys are one line of letters, digits,
/// `_`, `-` or `.` (at most [`MAX_ATTRIBUTE_KEY_CHARS`]), lowercased, so
/// `Department` and `department` are one key; values are one line of at
/// most [`MAX_ATTRIBUTE_VALUE_CHARS`] characters, trimmed. A blank value
/// comes back as `""`: for an update it removes the key, for a new
/// invitation it is dropped.
pub(crate) fn clean_attributes(attributes: &Attributes) -> Result<Attributes> {
    bound_attributes(attributes)?;
    let mut out = Attributes::new();
    for (k, v) in attributes {
        let key = attribute_key(k)?;
        let value = clean_line("attribute value", Some(v), MAX_ATTRIBUTE_VALUE_CHARS)
            .map_err(|e| match e {
                Error::InvalidInput { reason, .. } => {
                    Error::invalid("attributes", format!("{key}: {reason}"))
                }
                e => e,
            })?
            .unwrap_or_default();
        if out.insert(key.clone(), value).is_some() {
            return Err(Error::invalid(
                "attributes",
                format!("the key {key:?} is given twice (keys ignore case)"),
            ));
        }
    }
    Ok(out)
}

/// An attribute key, checked and lowercased.
pub(crate) fn attribute_key(k: &str) -> Result<String> {
    let key = k.trim();
    if key.is_empty() {
        return Err(Error::invalid("attributes", "a key must not be empty"));
    }
    if key.chars().count() > MAX_ATTRIBUTE_KEY_CHARS {
        return Err(Error::LimitExceeded {
            limit: LimitKind::FieldLength,
            max: MAX_ATTRIBUTE_KEY_CHARS as u64,
            actual: key.chars().count() as u64,
            detail: Some("attribute key".into()),
        });
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(Error::invalid(
            "attributes",
            format!(
                "the key {:?} holds {c:?}: keys are letters, digits, '_', '-' and '.'",
                key.escape_debug().to_string()
            ),
        ));
    }
    Ok(key.to_lowercase())
}

/// `base` with `changes` applied: a blank value removes its key. Fails
/// when the result holds more than [`MAX_ATTRIBUTES`] keys.
pub(crate) fn merge_attributes(base: &Attributes, changes: &Attributes) -> Result<Attributes> {
    let mut out = base.clone();
    for (k, v) in changes {
        if v.is_empty() {
            out.remove(k);
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    if out.len() > MAX_ATTRIBUTES {
        return Err(Error::LimitExceeded {
            limit: LimitKind::FieldLength,
            max: MAX_ATTRIBUTES as u64,
            actual: out.len() as u64,
            detail: Some("attributes: keys".into()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Attributes {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn attributes_are_bounded_and_cleaned() {
        let clean = clean_attributes(&attrs(&[("Department", " Sales "), ("job_title", "")]))
            .expect("clean");
        assert_eq!(clean, attrs(&[("department", "Sales"), ("job_title", "")]));
        // Too many keys, a key too long, a value too long, a line break, a
        // key with a space, the same key twice: each a clear error.
        let many: Attributes = (0..=MAX_ATTRIBUTES)
            .map(|i| (format!("k{i}"), "v".to_owned()))
            .collect();
        assert_eq!(
            clean_attributes(&many).unwrap_err().code(),
            "limit_exceeded"
        );
        let long_key = "k".repeat(MAX_ATTRIBUTE_KEY_CHARS + 1);
        assert_eq!(
            clean_attributes(&attrs(&[(&long_key, "v")]))
                .unwrap_err()
                .code(),
            "limit_exceeded"
        );
        let long_value = "v".repeat(MAX_ATTRIBUTE_VALUE_CHARS + 1);
        assert_eq!(
            clean_attributes(&attrs(&[("k", &long_value)]))
                .unwrap_err()
                .code(),
            "limit_exceeded"
        );
        for bad in [
            attrs(&[("k", "a\r\nBcc: x")]),
            attrs(&[("job title", "x")]),
            attrs(&[(" ", "x")]),
            attrs(&[("Dept", "a"), ("dept", "b")]),
        ] {
            assert_eq!(
                clean_attributes(&bad).unwrap_err().code(),
                "invalid_input",
                "{bad:?}"
            );
        }
        // A huge value is refused by its byte length before it is scanned.
        let huge = attrs(&[("k", &" ".repeat(1 << 20))]);
        assert_eq!(
            bound_attributes(&huge).unwrap_err().code(),
            "limit_exceeded"
        );
    }

    #[test]
    fn a_blank_value_removes_its_key() {
        let base = attrs(&[("department", "Sales"), ("job_title", "Rep")]);
        let merged = merge_attributes(
            &base,
            &attrs(&[("department", "Support"), ("job_title", "")]),
        )
        .expect("merge");
        assert_eq!(merged, attrs(&[("department", "Support")]));
    }
}
