//! Storing Telnyx API keys in Secrets Manager under the naming convention
//! (`<prefix>master`, `<prefix>accounts/<managed account id>`). The key is read from
//! standard input by the CLI, never from its arguments (they end up in shell history).

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use reconciliation::ports::ApiKey;

/// Why storing a key failed. Never carries the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the key is empty")]
    Empty,
    #[error("the key contains whitespace or control characters")]
    Malformed,
    #[error("writing secret {name} failed: {code}")]
    Write { name: String, code: String },
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

/// Creates the secret, or puts a new version if it exists. Returns whether it was created.
pub async fn put_key(client: &Client, name: &str, key: &ApiKey) -> Result<bool, KeyError> {
    validate(key)?;
    let value = key.expose();
    let write_error = |code: Option<&str>| KeyError::Write {
        name: name.to_owned(),
        code: code.unwrap_or("unknown error").to_owned(),
    };
    match client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ResourceExistsException") => {
            client
                .put_secret_value()
                .secret_id(name)
                .secret_string(value)
                .send()
                .await
                .map_err(|e| write_error(e.code()))?;
            Ok(false)
        }
        Err(e) => Err(write_error(e.code())),
    }
}
