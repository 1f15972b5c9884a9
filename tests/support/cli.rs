//! `billing-admin`, the binary, run as an operator runs it: the environment an
//! operator exports for a harness, standard input fed, what it printed and how it
//! exited.

use crate::e2e::{ACME, ACME_CHILD_DEPT, Harness, OPERATOR_DEPT};
use lambda_local::function::binary;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// What one command line printed, and how it exited.
pub struct Ran {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// The environment an operator exports (`.local/stack.env` plus account-sync's
/// variables, which only `sync` reads).
pub fn env(h: &Harness) -> Vec<(String, String)> {
    h.function_env()
}

/// Runs `billing-admin ARGS` with `stdin` fed, in the operator's environment of `h`.
pub async fn admin(h: &Harness, args: &[&str], stdin: &str) -> Ran {
    let path = binary("billing-admin");
    assert!(
        path.exists(),
        "{} is built by `cargo test --workspace` (or `cargo build -p billing-admin`)",
        path.display()
    );
    let mut child = tokio::process::Command::new(path)
        .args(args)
        .env_clear()
        .envs(env(h))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("billing-admin starts");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("stdin written");
    drop(input);
    let out = child.wait_with_output().await.expect("billing-admin exits");
    Ran {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Whether secret `name` exists on the harness's Secrets Manager.
pub async fn secret_exists(h: &Harness, name: &str) -> bool {
    aws_sdk_secretsmanager::Client::new(&h.stack.sdk)
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .is_ok()
}

/// `COMMAND` (`plan` or `onboard`) for the sample's Acme, wholesale under the sample's
/// departments: the account id is at index 2, the child department at index 10.
pub fn acme_wholesale(command: &'static str) -> Vec<&'static str> {
    vec![
        command,
        "--account",
        ACME,
        "--organization",
        "Acme Reseller",
        "--mode",
        "wholesale",
        "--parent-department",
        OPERATOR_DEPT,
        "--child-department",
        ACME_CHILD_DEPT,
    ]
}
