//! One function binary under a local Runtime API: spawned with the environment Lambda
//! gives it, its stdout and stderr kept line by line, its cold start timed, its
//! memory read from `/proc`.

use crate::runtime::{InvokeError, RuntimeApi};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Why a function could not run.
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error("the function binary {path} could not be started")]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the local Runtime API could not start")]
    Api(#[source] std::io::Error),
    /// The process ended during its cold start (e.g. its configuration is incomplete).
    #[error("the function exited during its cold start ({status}): {output}")]
    InitFailed { status: String, output: String },
}

/// A running function.
pub struct Function {
    path: PathBuf,
    env: Vec<(String, String)>,
    api: RuntimeApi,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    started: Instant,
    /// How long its last cold start took (spawn → first `next`).
    pub init: Duration,
}

/// The function binary `name` next to the running executable (the target directory
/// of a `cargo test`, `cargo run` or `cargo bench`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    // Integration tests run from `target/<profile>/deps`.
    let dir = if dir.ends_with("deps") {
        dir.parent().map(Path::to_path_buf).unwrap_or(dir)
    } else {
        dir
    };
    dir.join(name)
}

fn keep_lines(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        }
    });
}

impl Function {
    /// Starts `path` with `env` (plus the Lambda variables) and waits for its cold start:
    /// an error when the process ends before asking for an invocation.
    pub async fn start(path: &Path, env: &[(String, String)]) -> Result<Self, FunctionError> {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (api, child, started) = spawn(path, env, &lines).await?;
        let mut function = Self {
            path: path.to_path_buf(),
            env: env.to_vec(),
            api,
            child,
            lines,
            started,
            init: Duration::ZERO,
        };
        function.wait_ready().await?;
        Ok(function)
    }

    async fn wait_ready(&mut self) -> Result<(), FunctionError> {
        tokio::select! {
            at = self.api.ready() => {
                self.init = at.duration_since(self.started);
                Ok(())
            }
            status = self.child.wait() => {
                // Let the last lines arrive.
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err(FunctionError::InitFailed {
                    status: status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
                    output: self.lines().join("\n"),
                })
            }
        }
    }

    /// One invocation with `timeout` until its deadline. A timeout kills the process and
    /// starts a fresh one (a cold start), as Lambda replaces a timed-out sandbox.
    pub async fn invoke(
        &mut self,
        payload: Value,
        timeout: Duration,
    ) -> Result<Value, InvokeError> {
        let answer = self.api.invoke(payload, timeout).await;
        if matches!(answer, Err(InvokeError::TimedOut(_) | InvokeError::Gone)) {
            self.restart().await;
        }
        answer
    }

    async fn restart(&mut self) {
        let _killed = self.child.kill().await;
        if let Ok((api, child, started)) = spawn(&self.path, &self.env, &self.lines).await {
            self.api = api;
            self.child = child;
            self.started = started;
            let _ready = self.wait_ready().await;
        }
    }

    /// Every line the process printed so far (stdout and stderr).
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The process's peak resident memory (`VmHWM`), in KiB, where `/proc` tells.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The CPU time the process has used so far (user and system, every thread; Linux
    /// reports it in clock ticks of 10 ms), where `/proc` tells.
    pub fn cpu_time(&self) -> Option<std::time::Duration> {
        let pid = self.child.id()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The fields after the command name (which may hold spaces) in parentheses.
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after `)`.
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(std::time::Duration::from_millis(ticks * 10))
    }

    /// Stops the process.
    pub async fn stop(mut self) {
        let _killed = self.child.kill().await;
    }
}

async fn spawn(
    path: &Path,
    env: &[(String, String)],
    lines: &Arc<Mutex<Vec<String>>>,
) -> Result<(RuntimeApi, Child, Instant), FunctionError> {
    let api = RuntimeApi::start().await.map_err(FunctionError::Api)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let started = Instant::now();
    // Only the environment given (Lambda starts a function with its configuration and
    // nothing of the caller's).
    let mut child = Command::new(path)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| FunctionError::Spawn {
            path: path.to_path_buf(),
            source,
        })?;
    if let Some(out) = child.stdout.take() {
        keep_lines(out, lines.clone());
    }
    if let Some(err) = child.stderr.take() {
        keep_lines(err, lines.clone());
    }
    Ok((api, child, started))
}
