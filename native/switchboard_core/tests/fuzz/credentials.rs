//! Credential answers and files: Google token endpoint and metadata server
//! answers, Google credential files, AWS profile files.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::Value;
use switchboard_core::auth::google::{credentials, token};
use switchboard_core::auth::http::Answer;

use crate::corpus;
use crate::mutate::{apply, mutations};

const TOKEN_ANSWERS: &[&str] = &[
    r#"{"access_token":"ya29.c.prop","expires_in":3599,"token_type":"Bearer"}"#,
    r#"{"access_token":"ya29.c.prop","expires_in":"3599","token_type":"Bearer","id_token":"x"}"#,
    r#"{"access_token":"ya29.c.prop","expires_in":18446744073709551615}"#,
    r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
    r#"{"error":{"code":403,"status":"PERMISSION_DENIED","message":"no"}}"#,
];

#[test]
fn token_answers_are_a_token_or_an_auth_error() {
    let seeds: Vec<&[u8]> = TOKEN_ANSWERS.iter().map(|s| s.as_bytes()).collect();
    crate::runner()
        .run(
            &(
                0..seeds.len(),
                mutations(),
                prop::sample::select(vec![200u16, 400, 401, 500]),
            ),
            |(seed, m, status)| {
                let body = apply(seeds[seed], &m, &seeds);
                let answer = Answer {
                    status,
                    body: Bytes::from(body.clone()),
                };
                match token::read_token(&answer, "the fuzzed token request") {
                    Ok(t) => {
                        // Read from the body: a 2xx JSON object with that token.
                        let v: Value = serde_json::from_slice(&body).expect("a token from JSON");
                        prop_assert!((200..300).contains(&status));
                        prop_assert_eq!(v["access_token"].as_str(), Some(t.token.expose()));
                        prop_assert!(t.lifetime <= token::MAX_LIFETIME);
                        prop_assert!(tokio::time::Instant::now()
                            .checked_add(t.lifetime)
                            .is_some());
                    }
                    Err(e) => prop_assert_eq!(e.kind, switchboard_core::ErrorKind::Auth),
                }
                Ok(())
            },
        )
        .unwrap();
}

/// The token of an answer whose lifetime overflows a clock is kept for
/// the longest lifetime read, not a panic when it is cached.
#[test]
fn an_endless_token_lifetime_is_capped() {
    let answer = Answer {
        status: 200,
        body: Bytes::from_static(TOKEN_ANSWERS[2].as_bytes()),
    };
    let t = token::read_token(&answer, "x").expect("a token");
    assert_eq!(t.lifetime, token::MAX_LIFETIME);
    assert!(t.lifetime > Duration::from_secs(3600));
}

fn google_files() -> Vec<Vec<u8>> {
    let mut out = vec![
        br#"{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}"#
            .to_vec(),
    ];
    if let Some(root) = corpus::root() {
        for path in corpus::files(&root.join("google-auth"), "json") {
            out.push(std::fs::read(path).expect("read"));
        }
    }
    out
}

#[test]
fn google_credential_files_are_a_credential_or_an_error() {
    let seeds = google_files();
    let bodies: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    crate::runner()
        .run(&(0..seeds.len(), mutations()), |(seed, m)| {
            let text = apply(bodies[seed], &m, &bodies);
            let text = String::from_utf8_lossy(&text);
            if credentials::from_json(&text).is_ok() {
                prop_assert!(serde_json::from_str::<Value>(&text).is_ok());
            }
            Ok(())
        })
        .unwrap();
}

const PROFILE_FILES: &[&str] = &[
    "[default]\nregion = us-east-1\naws_access_key_id = AKIDPROP\naws_secret_access_key = s\n",
    "[profile dev]\nregion=eu-west-1\nsource_profile = base\nrole_arn = arn:aws:iam::1:role/r\n\
     [profile base]\ncredential_process = /bin/echo {}\n# comment\n; other\n",
    "[sso-session s]\nsso_region = us-east-1\nsso_start_url = https://x\n[profile p]\n\
     sso_session = s\nsso_account_id = 1\nsso_role_name = r\ns3 =\n  max_concurrent_requests = 2\n",
];

/// The AWS SDK reads the profile files for the credential chain and the
/// region; any bytes in them are profiles or a load error.
#[test]
fn aws_profile_files_load_or_fail() {
    use aws_runtime::env_config::file::EnvConfigFiles;
    use aws_types::os_shim_internal::{Env, Fs};
    let seeds: Vec<&[u8]> = PROFILE_FILES.iter().map(|s| s.as_bytes()).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    crate::runner()
        .run(
            &(0..seeds.len(), mutations(), 0..seeds.len(), mutations()),
            |(a, ma, b, mb)| {
                let files = HashMap::from([
                    (
                        "/home/p/.aws/config".to_owned(),
                        apply(seeds[a], &ma, &seeds),
                    ),
                    (
                        "/home/p/.aws/credentials".to_owned(),
                        apply(seeds[b], &mb, &seeds),
                    ),
                ]);
                let fs = Fs::from_map(files);
                let env = Env::from_slice(&[("HOME", "/home/p")]);
                let loaded = rt.block_on(aws_config::profile::load(
                    &fs,
                    &env,
                    &EnvConfigFiles::default(),
                    None,
                ));
                if let Ok(set) = loaded {
                    let _ = set.get("region");
                }
                Ok(())
            },
        )
        .unwrap();
}
