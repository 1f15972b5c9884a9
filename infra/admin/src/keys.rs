//! Telnyx API keys as the operator gives them: read from standard input or a file by
//! the CLI, never from its arguments (they end up in shell history), checked here, then
//! stored through the `KeyStore` port (one secret per account, or shared secrets).

use reconciliation::domain::ManagedAccountId;
use reconciliation::ports::ApiKey;

/// Why a key was refused. Never carries the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the key is empty")]
    Empty,
    #[error("the key contains whitespace or control characters")]
    Malformed,
}

/// Refuses a key that cannot be one (empty, whitespace or control characters inside).
pub fn validate(key: &ApiKey) -> Result<(), KeyError> {
    let value = key.expose();
    if value.is_empty() {
        return Err(KeyError::Empty);
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(KeyError::Malformed);
    }
    Ok(())
}

/// A keys file (`--keys FILE`, or standard input): one `<managed account id>,<key>` a
/// line; blank lines and `#` comments skipped. Errors name the line, never the key.
pub fn parse_keys_file(text: &str) -> Result<Vec<(usize, String, ApiKey)>, Vec<String>> {
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((account, key)) = line.split_once(',') else {
            errors.push(format!(
                "keys line {number}: expected <managed account id>,<key>"
            ));
            continue;
        };
        let key = ApiKey::new(key.trim());
        match validate(&key) {
            Ok(()) => keys.push((number, account.trim().to_owned(), key)),
            Err(e) => errors.push(format!("keys line {number}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(keys)
    } else {
        Err(errors)
    }
}

/// The account a keys-file line names, as stored (ids compared in their stored form).
pub fn same_account(a: &ManagedAccountId, b: &str) -> bool {
    a.as_str().eq_ignore_ascii_case(b.trim())
}
