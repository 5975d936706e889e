//! A profile's `credential_process`, run here rather than by the AWS SDK:
//! the SDK's runner does not kill the process when the call waiting for it
//! is cancelled or times out, so each cancelled call could leave a process
//! behind (a `sso login` helper, a vault client waiting on a prompt). This
//! one is killed when the call's future is dropped before the process was
//! waited for.
//!
//! It runs through `sh -c`, as the SDK runs it. A simple command (a program
//! and its arguments, the usual case) is started with `exec`, so the
//! process killed is the command itself rather than a shell waiting on it;
//! a compound one (`a && b`, a pipe) runs as given, and then only the shell
//! is killed, not what it started.
//!
//! The output format is the AWS CLI's: `{"Version": 1, "AccessKeyId",
//! "SecretAccessKey", "SessionToken"?, "Expiration"?}`. Neither its output
//! nor its stderr is shown in an error: both may hold the keys.

use std::fmt;
use std::process::Stdio;
use std::time::SystemTime;

use tokio::io::AsyncReadExt;

use aws_config::profile::ProfileSet;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::Deserialize;

/// Profile keys that make the SDK use another source before (or on top
/// of) `credential_process`; a profile with any of them is left to it.
const OTHER_SOURCES: &[&str] = &[
    "role_arn",
    "source_profile",
    "credential_source",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "sso_account_id",
    "login_session",
];

/// The command of the selected profile's `credential_process`, when that
/// is where the SDK's chain would get its credentials from.
pub struct CredentialProcess {
    command: String,
}

/// The command may carry arguments that are secrets: never shown.
impl fmt::Debug for CredentialProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialProcess([REDACTED])")
    }
}

impl CredentialProcess {
    /// The selected profile's process, if the chain would use it: it is
    /// the profile's own source, and no credential variables come first
    /// (`env_has_keys`: the chain reads `AWS_ACCESS_KEY_ID` before profiles).
    pub fn for_profile(profiles: &ProfileSet, env_has_keys: bool) -> Option<Self> {
        if env_has_keys {
            return None;
        }
        let profile = profiles.get_profile(profiles.selected_profile())?;
        if OTHER_SOURCES.iter().any(|k| profile.get(k).is_some()) {
            return None;
        }
        let command = profile.get("credential_process")?.trim();
        (!command.is_empty()).then(|| CredentialProcess {
            command: command.to_owned(),
        })
    }

    async fn run(&self) -> Result<Credentials, CredentialsError> {
        let failed = |what: &str, e: std::io::Error| {
            CredentialsError::provider_error(format!("credential_process: {what}: {e}"))
        };
        // stderr is not kept: it is never shown, and may hold keys.
        let child = tokio::process::Command::new("sh")
            .args(["-c", &shell_line(&self.command)])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| failed("cannot run it", e))?;
        let mut child = KillUnlessWaited(Some(child));
        let mut stdout = Vec::new();
        if let Some(out) = child.stdout_mut() {
            out.take(MAX_OUTPUT_BYTES)
                .read_to_end(&mut stdout)
                .await
                .map_err(|e| failed("cannot read its output", e))?;
        }
        match child.wait().await {
            Ok(status) if !status.success() => {
                return Err(CredentialsError::provider_error(format!(
                    "credential_process exited with {status} (its output is not shown: it may hold keys)"
                )))
            }
            Ok(_) => {}
            // The BEAM sets SIGCHLD to SIG_IGN, so the kernel reaps its
            // children itself and their exit status is lost: inside the VM
            // the output, read to its end above, is all there is to judge by.
            Err(e) if e.raw_os_error() == Some(ECHILD) => {}
            Err(e) => return Err(failed("cannot wait for it", e)),
        }
        parse(&stdout).map_err(CredentialsError::provider_error)
    }
}

/// The process of a fetch: killed if the fetch is dropped before it was
/// waited for (a cancelled or timed-out call). Not tokio's `kill_on_drop`:
/// that stays armed when `wait` fails, and inside the VM it fails with
/// ECHILD after every run (the kernel reaped the process), so dropping the
/// child would signal a pid that may already belong to another process.
struct KillUnlessWaited(Option<tokio::process::Child>);

impl KillUnlessWaited {
    fn stdout_mut(&mut self) -> Option<tokio::process::ChildStdout> {
        self.0.as_mut().and_then(|c| c.stdout.take())
    }

    /// Waits for the process; from then on dropping this kills nothing.
    async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        let Some(child) = self.0.as_mut() else {
            return Err(std::io::Error::from_raw_os_error(ECHILD));
        };
        let status = child.wait().await;
        self.0 = None;
        status
    }
}

impl Drop for KillUnlessWaited {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// `waitpid`'s "no child processes" (10 on Linux and the BSDs).
const ECHILD: i32 = 10;

/// Credentials JSON is a few hundred bytes; more is not read.
const MAX_OUTPUT_BYTES: u64 = 64 * 1024;

/// The line `sh -c` runs: a simple command `exec`ed, so that it replaces
/// the shell and is the process `kill_on_drop` kills; anything with shell
/// syntax beyond words and quotes as given.
fn shell_line(command: &str) -> String {
    const SYNTAX: &[char] = &[';', '&', '|', '<', '>', '(', ')', '`', '$', '\n'];
    // After `exec` these would be a program's name: `FOO=1 cmd` sets a
    // variable, `exec FOO=1 cmd` runs a program called `FOO=1`.
    const FIRST_WORDS: &[&str] = &[
        "!", "{", "}", "if", "then", "else", "elif", "fi", "case", "esac", "for", "while", "until",
        "do", "done", "in", "exec", "time",
    ];
    let first = command.split_whitespace().next().unwrap_or("");
    if command.contains(SYNTAX) || first.contains('=') || FIRST_WORDS.contains(&first) {
        command.to_owned()
    } else {
        format!("exec {command}")
    }
}

impl ProvideCredentials for CredentialProcess {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(self.run())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessOutput {
    version: u64,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    expiration: Option<String>,
}

/// Reads the process's output; errors never quote it.
fn parse(stdout: &[u8]) -> Result<Credentials, String> {
    let out: ProcessOutput = serde_json::from_slice(stdout).map_err(|e| {
        format!(
            "credential_process printed no valid credentials JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    if out.version != 1 {
        return Err(format!(
            "credential_process printed Version {}; only 1 is known",
            out.version
        ));
    }
    let expiry = match out.expiration.as_deref() {
        None => None,
        Some(text) => Some(
            DateTime::from_str(text, Format::DateTime)
                .ok()
                .and_then(|t| SystemTime::try_from(t).ok())
                .ok_or("credential_process printed an Expiration that is not an RFC 3339 time")?,
        ),
    };
    Ok(Credentials::new(
        out.access_key_id,
        out.secret_access_key,
        out.session_token,
        expiry,
        "CredentialProcess",
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_cli_output_format_is_read_and_never_quoted_in_errors() {
        let c = parse(
            br#"{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "proc-secret",
                 "SessionToken": "proc-token", "Expiration": "2030-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(c.access_key_id(), "AKIDPROC");
        assert_eq!(c.session_token(), Some("proc-token"));
        assert_eq!(
            c.expiry(),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000))
        );
        for bad in [
            &br#"{"Version": 2, "AccessKeyId": "a", "SecretAccessKey": "proc-secret"}"#[..],
            br#"{"Version": 1, "AccessKeyId": "a", "SecretAccessKey": "proc-secret", "Expiration": "soon"}"#,
            b"proc-secret",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(!e.contains("proc-secret"), "{e}");
        }
    }

    #[test]
    fn simple_commands_are_execed_and_compound_ones_run_as_given() {
        assert_eq!(
            shell_line("/opt/bin/creds --user 'a b'"),
            "exec /opt/bin/creds --user 'a b'"
        );
        for compound in [
            "a && b",
            "a | b",
            "a; b",
            "a $(b)",
            "a > f",
            "AWS_VAULT_BACKEND=file aws-vault export dev",
            "! a",
            "if a",
        ] {
            assert_eq!(shell_line(compound), compound);
        }
    }

    #[tokio::test]
    async fn a_process_that_prints_credentials_is_read() {
        let process = CredentialProcess {
            command: r#"printf '{"Version": 1, "AccessKeyId": "AKIDRUN", "SecretAccessKey": "s"}'"#
                .to_owned(),
        };
        let c = process.run().await.expect("credentials");
        assert_eq!(c.access_key_id(), "AKIDRUN");
    }

    /// Whether process `pid` exists and is not a zombie (killed, not yet
    /// reaped), from its `/proc/<pid>/stat` state.
    fn running(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
                Some(!matches!(state, 'Z' | 'X'))
            })
            .unwrap_or(false)
    }

    #[tokio::test]
    async fn a_dropped_fetch_kills_the_process() {
        let dir = std::env::temp_dir().join(format!("sb-proc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pid_file = dir.join("pid");
        // A script, as profiles name them: it says its pid, then sleeps.
        let script = dir.join("slow.sh");
        std::fs::write(
            &script,
            format!("echo $$ > {}\nexec sleep 60\n", pid_file.display()),
        )
        .unwrap();
        let process = CredentialProcess {
            command: format!("sh {}", script.display()),
        };
        let fetch = tokio::spawn(async move { process.run().await });
        // Wait for the process to say it started.
        let pid = loop {
            match std::fs::read_to_string(&pid_file) {
                Ok(text) if text.ends_with('\n') => break text.trim().to_owned(),
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        };
        assert!(running(&pid), "{pid} is not running");
        fetch.abort();
        assert!(fetch.await.unwrap_err().is_cancelled());
        // Killed: waited for, not timed.
        while running(&pid) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
