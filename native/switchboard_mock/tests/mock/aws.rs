//! AWS authentication against the mock: SigV4 signatures made with
//! `aws-sigv4` (accepted, or rejected the way Bedrock rejects them), Bedrock
//! API keys, and the STS / container / IMDSv2 credential endpoints whose
//! credentials the verifier then accepts.

use std::time::{Duration, Instant, SystemTime};

use crate::common::*;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use serde_json::{json, Value};

const CONVERSE: &str = "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse";
const ARN_CONVERSE: &str = "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream";
const AKID: &str = "AKIDMOCKEXAMPLE00001";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const BODY: &[u8] = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;

type Headers = Vec<(String, String)>;

#[derive(Clone, Copy)]
struct Key<'a> {
    id: &'a str,
    secret: &'a str,
    token: Option<&'a str>,
}

const STATIC: Key<'static> = Key {
    id: AKID,
    secret: SECRET,
    token: None,
};

#[derive(Clone, Copy)]
struct Signing<'a> {
    region: &'a str,
    service: &'a str,
    time: SystemTime,
    content_sha256: bool,
}

impl Default for Signing<'_> {
    fn default() -> Self {
        Signing {
            region: "us-east-1",
            service: "bedrock",
            time: SystemTime::now(),
            content_sha256: false,
        }
    }
}

/// The headers a SigV4 client sends for `POST path` with `body`.
fn signed(
    m: &MockServer,
    path: &str,
    body: &[u8],
    key: Key<'_>,
    s: Signing<'_>,
) -> Vec<(String, String)> {
    let base = [
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ];
    let identity: Identity = Credentials::new(
        key.id,
        key.secret,
        key.token.map(str::to_owned),
        None,
        "test",
    )
    .into();
    let mut settings = SigningSettings::default();
    if s.content_sha256 {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(s.region)
        .name(s.service)
        .time(s.time)
        .settings(settings)
        .build()
        .expect("params")
        .into();
    let url = format!("http://{}{path}", m.addr());
    let request = SignableRequest::new("POST", url, base.into_iter(), SignableBody::Bytes(body))
        .expect("signable");
    let (instructions, _) = sign(request, &params).expect("signs").into_parts();
    base.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .chain(
            instructions
                .headers()
                .map(|(n, v)| (n.to_owned(), v.to_owned())),
        )
        .collect()
}

async fn post(m: &MockServer, path: &str, headers: &[(String, String)]) -> Resp {
    request_with(m, "POST", path, headers, BODY).await
}

async fn get(m: &MockServer, path: &str, headers: &[(&str, &str)]) -> Resp {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    request_with(m, "GET", path, &headers, b"").await
}

fn configure(m: &MockServer, scenario: &str, config: Value) {
    m.aws(scenario, &config).expect("valid AWS configuration");
}

/// `Type` of `x-amzn-errortype: Type:namespace`.
fn error_type(r: &Resp) -> &str {
    r.header("x-amzn-errortype")
        .and_then(|t| t.split(':').next())
        .unwrap_or_default()
}

fn creds_config() -> Value {
    json!({"credentials": [{"access_key_id": AKID, "secret_access_key": SECRET}]})
}

#[tokio::test]
async fn without_configuration_nothing_is_checked() {
    let m = mock().await;
    let r = post(&m, CONVERSE, &[]).await;
    assert_eq!(r.status, 200);
    let rec = &m.requests("default")[0];
    assert_eq!(rec.auth, None);
    assert_eq!(m.aws_report("default")["verify"], false);
}

#[tokio::test]
async fn accepts_signatures_with_and_without_session_token() {
    let m = mock().await;
    configure(
        &m,
        "ok",
        json!({"credentials": [
            {"access_key_id": AKID, "secret_access_key": SECRET},
            {"access_key_id": "ASIAMOCKEXAMPLE00002", "secret_access_key": "temp/secret", "session_token": "tok+en/=="}
        ], "region": "us-east-1"}),
    );
    let temp = Key {
        id: "ASIAMOCKEXAMPLE00002",
        secret: "temp/secret",
        token: Some("tok+en/=="),
    };
    let cases = [
        (CONVERSE, STATIC, false),
        (ARN_CONVERSE, STATIC, false),
        (CONVERSE, temp, false),
        (ARN_CONVERSE, temp, true),
    ];
    for (path, key, sha) in cases {
        let path = format!("/s/ok{path}");
        let headers = signed(
            &m,
            &path,
            BODY,
            key,
            Signing {
                content_sha256: sha,
                ..Signing::default()
            },
        );
        let r = post(&m, &path, &headers).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    let records = m.requests("ok");
    assert!(records.iter().all(|r| r.auth == Some("sigv4")));
    assert!(records[2]
        .headers
        .iter()
        .any(|(n, v)| n == "x-amz-security-token" && v == "tok+en/=="));
    let report = m.aws_report("ok");
    assert_eq!(
        (report["verified"].clone(), report["rejected"].clone()),
        (json!(4), json!(0))
    );
}

#[tokio::test]
async fn rejects_like_bedrock() {
    let m = mock().await;
    configure(
        &m,
        "bad",
        json!({"credentials": [
        {"access_key_id": AKID, "secret_access_key": SECRET},
        {"access_key_id": "ASIATEMP", "secret_access_key": "s", "session_token": "t1"}
    ], "region": "us-east-1"}),
    );
    script(&m, "bad", json!([{"content": "first step"}]));
    let path = format!("/s/bad{CONVERSE}");
    let sign_with = |key: Key<'_>, s: Signing<'_>| signed(&m, &path, BODY, key, s);

    let wrong_secret = sign_with(
        Key {
            secret: "not-the-secret",
            ..STATIC
        },
        Signing::default(),
    );
    let r = post(&m, &path, &wrong_secret).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some(
            "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/"
        )
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("x-amzn-requestid").is_some());
    assert_eq!(
        r.json(),
        json!({"message": "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."})
    );

    let cases: Vec<(Headers, &str, &str)> = vec![
        (
            sign_with(
                Key {
                    id: "AKIDUNKNOWN",
                    ..STATIC
                },
                Signing::default(),
            ),
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        (
            sign_with(
                Key {
                    id: "ASIATEMP",
                    secret: "s",
                    token: Some("t2"),
                },
                Signing::default(),
            ),
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        (
            sign_with(
                Key {
                    id: "ASIATEMP",
                    secret: "s",
                    token: None,
                },
                Signing::default(),
            ),
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        (
            Vec::new(),
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ),
        (
            sign_with(
                STATIC,
                Signing {
                    service: "s3",
                    ..Signing::default()
                },
            ),
            "InvalidSignatureException",
            "Credential should be scoped to correct service: 'bedrock'. ",
        ),
        (
            sign_with(
                STATIC,
                Signing {
                    region: "eu-west-1",
                    ..Signing::default()
                },
            ),
            "InvalidSignatureException",
            "Credential should be scoped to a valid region, not 'eu-west-1'. ",
        ),
        (
            sign_with(
                STATIC,
                Signing {
                    time: SystemTime::now() - Duration::from_secs(600),
                    ..Signing::default()
                },
            ),
            "InvalidSignatureException",
            "Signature expired",
        ),
        (
            vec![(
                "authorization".into(),
                "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/bedrock/aws4_request".into(),
            )],
            "IncompleteSignatureException",
            "Authorization header requires 'SignedHeaders' parameter.",
        ),
    ];
    for (headers, kind, message) in &cases {
        let r = post(&m, &path, headers).await;
        assert_eq!(r.status, 403, "{kind}");
        assert_eq!(error_type(&r), *kind);
        assert!(
            r.json()["message"]
                .as_str()
                .is_some_and(|s| s.starts_with(message)),
            "{kind}: {}",
            r.text()
        );
    }

    // The body is signed: changing it after signing is caught.
    let headers = sign_with(STATIC, Signing::default());
    let r = request_with(&m, "POST", &path, &headers, br#"{"messages":[]}"#).await;
    assert_eq!(error_type(&r), "InvalidSignatureException");

    // Rejections use no step; the next good request gets the first one.
    let r = post(&m, &path, &sign_with(STATIC, Signing::default())).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["output"]["message"]["content"][0]["text"],
        "first step"
    );
    let records = m.requests("bad");
    assert_eq!(records.len(), cases.len() + 3);
    assert!(records[..records.len() - 1]
        .iter()
        .all(|r| r.auth == Some("rejected") && r.status() == Some(403)));
    assert_eq!(records.last().expect("last").auth, Some("sigv4"));
    assert_eq!(m.aws_report("bad")["rejected"], cases.len() + 2);
}

#[tokio::test]
async fn bedrock_api_keys() {
    let m = mock().await;
    configure(&m, "key", json!({"api_keys": ["bedrock-api-key-good"]}));
    let path = format!("/s/key{CONVERSE}");
    let bearer = |k: &str| vec![("authorization".to_owned(), format!("Bearer {k}"))];
    let r = post(&m, &path, &bearer("bedrock-api-key-good")).await;
    assert_eq!(r.status, 200);
    let r = post(&m, &path, &bearer("bedrock-api-key-bad")).await;
    assert_eq!(r.status, 403);
    assert_eq!(error_type(&r), "UnrecognizedClientException");
    assert_eq!(
        r.json(),
        json!({"Message": "Authentication failed: Please make sure your API Key is valid."})
    );
    // SigV4 with unknown keys is rejected too once the scenario checks.
    let r = post(
        &m,
        &path,
        &signed(&m, &path, BODY, STATIC, Signing::default()),
    )
    .await;
    assert_eq!(error_type(&r), "UnrecognizedClientException");
    let auths: Vec<_> = m.requests("key").iter().map(|r| r.auth).collect();
    assert_eq!(
        auths,
        vec![Some("bearer"), Some("rejected"), Some("rejected")]
    );
}

#[tokio::test]
async fn verification_can_be_switched_off() {
    let m = mock().await;
    configure(
        &m,
        "off",
        json!({"verify": false, "credentials": creds_config()["credentials"]}),
    );
    let r = post(&m, &format!("/s/off{CONVERSE}"), &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(m.requests("off")[0].auth, None);
}

// ------------------------------------------------------- credential endpoints

/// Signs a Bedrock request with credentials a credential endpoint handed
/// out and returns the mock's answer.
async fn call_with(m: &MockServer, scenario: &str, id: &str, secret: &str, token: &str) -> Resp {
    let path = format!("/s/{scenario}{CONVERSE}");
    let key = Key {
        id,
        secret,
        token: Some(token),
    };
    post(m, &path, &signed(m, &path, BODY, key, Signing::default())).await
}

#[tokio::test]
async fn imds_v2_flow() {
    let m = mock().await;
    configure(
        &m,
        "ec2",
        json!({"role_name": "app-role", "region": "eu-central-1"}),
    );
    let base = "/s/ec2/latest";

    let r = request_with(&m, "PUT", &format!("{base}/api/token"), &[], b"").await;
    assert_eq!(r.status, 400, "the TTL header is required");
    let ttl = vec![(
        "x-aws-ec2-metadata-token-ttl-seconds".to_owned(),
        "21600".to_owned(),
    )];
    let r = request_with(&m, "PUT", &format!("{base}/api/token"), &ttl, b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-aws-ec2-metadata-token-ttl-seconds"),
        Some("21600")
    );
    let token = r.text();
    assert!(!token.is_empty());

    let roles = format!("{base}/meta-data/iam/security-credentials/");
    assert_eq!(get(&m, &roles, &[]).await.status, 401, "IMDSv2 only");
    assert_eq!(
        get(&m, &roles, &[("x-aws-ec2-metadata-token", "forged")])
            .await
            .status,
        401
    );
    let auth = [("x-aws-ec2-metadata-token", token.as_str())];
    let r = get(&m, &roles, &auth).await;
    assert_eq!((r.status, r.text()), (200, "app-role".to_owned()));
    let r = get(&m, &format!("{base}/meta-data/placement/region"), &auth).await;
    assert_eq!(r.text(), "eu-central-1");
    assert_eq!(
        get(&m, &format!("{roles}other-role"), &auth).await.status,
        404
    );

    let r = get(&m, &format!("{roles}app-role"), &auth).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["Code"], "Success");
    assert_eq!(v["Type"], "AWS-HMAC");
    for field in [
        "AccessKeyId",
        "SecretAccessKey",
        "Token",
        "Expiration",
        "LastUpdated",
    ] {
        assert!(v[field].as_str().is_some_and(|s| !s.is_empty()), "{field}");
    }
    // The handed-out credentials sign a request the verifier accepts, in
    // any scenario that checks signatures.
    configure(&m, "ec2-bedrock", json!({}));
    let r = call_with(
        &m,
        "ec2-bedrock",
        v["AccessKeyId"].as_str().expect("id"),
        v["SecretAccessKey"].as_str().expect("secret"),
        v["Token"].as_str().expect("token"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let report = m.aws_report("ec2");
    assert_eq!(report["fetches"]["imds_token"], 2);
    assert_eq!(report["fetches"]["imds_role"], 3);
    assert_eq!(report["fetches"]["imds_credentials"], 2);
    assert_eq!(report["credential_fetches"], 2);
    assert_eq!(report["issued"].as_array().map(Vec::len), Some(1));
    assert_eq!(report["issued"][0]["source"], "imds_credentials");
    assert_eq!(report["issued"][0]["access_key_id"], v["AccessKeyId"]);
    assert_eq!(report["issued"][0]["expiration"], v["Expiration"]);
    assert_eq!(m.aws_report("ec2-bedrock")["verified"], 1);
    // Every endpoint request is in the log, with the headers it carried.
    let records = m.requests("ec2");
    assert_eq!(records.len(), 8);
    assert!(records[0]
        .headers
        .iter()
        .all(|(n, _)| n != "x-aws-ec2-metadata-token-ttl-seconds"));
    assert_eq!(records[1].method, "PUT");
    assert_eq!(records[1].path, "/latest/api/token");
}

#[tokio::test]
async fn container_credentials() {
    let m = mock().await;
    configure(
        &m,
        "ecs",
        json!({"container_authorization": "Basic c2VjcmV0", "expires_in_s": 900}),
    );
    let path = "/s/ecs/v2/credentials/5f2c7a1e-mock";
    let r = get(&m, path, &[]).await;
    assert_eq!(r.status, 401);
    let r = get(&m, path, &[("authorization", "Basic c2VjcmV0")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert!(v["RoleArn"]
        .as_str()
        .is_some_and(|a| a.starts_with("arn:aws:iam::")));
    let expiration = v["Expiration"].as_str().expect("expiration");
    let expires = aws_smithy_types::DateTime::from_str(
        expiration,
        aws_smithy_types::date_time::Format::DateTime,
    )
    .expect("ISO 8601");
    let now = aws_smithy_types::DateTime::from(SystemTime::now());
    let left = expires.secs() - now.secs();
    assert!((895..=901).contains(&left), "expires in {left} s");
    let r = call_with(
        &m,
        "ecs",
        v["AccessKeyId"].as_str().expect("id"),
        v["SecretAccessKey"].as_str().expect("secret"),
        v["Token"].as_str().expect("token"),
    )
    .await;
    assert_eq!(r.status, 200);
    // EKS Pod Identity's path works too.
    assert_eq!(
        get(
            &m,
            "/s/ecs/v1/credentials",
            &[("authorization", "Basic c2VjcmV0")]
        )
        .await
        .status,
        200
    );
    assert_eq!(m.aws_report("ecs")["fetches"]["container"], 3);
}

#[tokio::test]
async fn sts_web_identity() {
    let m = mock().await;
    configure(&m, "wi", json!({"web_identity_token": "jwt-from-file"}));
    let form = |token: &str| {
        format!(
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fweb-role&RoleSessionName=sess-1&WebIdentityToken={token}"
        )
    };
    let headers = vec![(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    let r = request_with(
        &m,
        "POST",
        "/s/wi/",
        &headers,
        form("jwt-from-file").as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/xml"));
    assert!(r.header("x-amzn-requestid").is_some());
    let xml = r.text();
    assert!(xml.starts_with(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
    ));
    assert!(xml.contains("<Arn>arn:aws:sts::123456789012:assumed-role/web-role/sess-1</Arn>"));
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = xml.find(&open).expect(name) + open.len();
        let end = xml[start..].find("</").expect("close") + start;
        xml[start..end].to_owned()
    };
    assert!(tag("Expiration").ends_with('Z'));
    let r = call_with(
        &m,
        "wi",
        &tag("AccessKeyId"),
        &tag("SecretAccessKey"),
        &tag("SessionToken"),
    )
    .await;
    assert_eq!(r.status, 200);

    let r = request_with(&m, "POST", "/s/wi/", &headers, form("other").as_bytes()).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("<Code>InvalidIdentityToken</Code>"));
    let r = request_with(&m, "POST", "/s/wi/", &headers, b"Action=GetSessionToken").await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("<Code>InvalidAction</Code>"));
    // The query form works too.
    let r = get(&m, &format!("/s/wi/?{}", form("jwt-from-file")), &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(m.aws_report("wi")["fetches"]["sts"], 4);
}

#[tokio::test]
async fn credentials_expire_and_fetches_fail_as_scripted() {
    let m = mock().await;
    configure(
        &m,
        "exp",
        json!({"expires_in_s": 0, "credential_failures": 1, "credential_status": 503,
               "credential_delay_ms": 100}),
    );
    let started = Instant::now();
    let r = get(&m, "/s/exp/v1/credentials", &[]).await;
    assert_eq!(r.status, 503, "first fetch fails");
    assert!(started.elapsed() >= Duration::from_millis(100));
    let v = get(&m, "/s/exp/v1/credentials", &[]).await.json();
    let r = call_with(
        &m,
        "exp",
        v["AccessKeyId"].as_str().expect("id"),
        v["SecretAccessKey"].as_str().expect("secret"),
        v["Token"].as_str().expect("token"),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(error_type(&r), "ExpiredTokenException");
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("ExpiredTokenException:http://internal.amazon.com/coral/com.amazon.coral.service/")
    );
    let report = m.aws_report("exp");
    assert_eq!(report["credential_fetches"], 2);
    assert_eq!(report["issued"].as_array().map(Vec::len), Some(1));

    // Reconfiguring clears the counters.
    configure(&m, "exp", json!({}));
    assert_eq!(m.aws_report("exp")["credential_fetches"], 0);
}

#[tokio::test]
async fn concurrent_fetches_are_all_counted() {
    let m = std::sync::Arc::new(mock().await);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let m = std::sync::Arc::clone(&m);
            tokio::spawn(async move { get(&m, "/s/many/v1/credentials", &[]).await.status })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("task"), 200);
    }
    let report = m.aws_report("many");
    assert_eq!(report["credential_fetches"], 50);
    let mut ids: Vec<&str> = report["issued"]
        .as_array()
        .expect("issued")
        .iter()
        .map(|i| i["access_key_id"].as_str().expect("id"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50, "every fetch hands out a fresh credential");
}

#[tokio::test]
async fn aws_control_endpoints_speak_json_and_etf() {
    let m = mock().await;
    let body = serde_json::to_vec(&json!({"api_keys": ["k"], "bogus": 1})).expect("json");
    let r = request_with(
        &m,
        "PUT",
        "/_mock/scenarios/ctl/aws",
        &[("content-type".into(), "application/json".into())],
        &body,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("bogus"));
    let body = serde_json::to_vec(&json!({"api_keys": ["k"]})).expect("json");
    let r = request_with(
        &m,
        "PUT",
        "/_mock/scenarios/ctl/aws",
        &[("content-type".into(), "application/json".into())],
        &body,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = get(&m, "/_mock/scenarios/ctl/aws", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/x-erlang-binary")
    );
    let term = eetf::Term::decode(&r.body[..]).expect("ETF");
    let eetf::Term::Map(map) = term else {
        panic!("not a map: {term}")
    };
    let key = |k: &str| eetf::Term::from(eetf::Binary::from(k.as_bytes()));
    assert_eq!(
        map.map.get(&key("credential_fetches")),
        Some(&eetf::Term::from(eetf::FixInteger::from(0)))
    );
    assert_eq!(
        map.map.get(&key("verify")),
        Some(&eetf::Term::from(eetf::Atom::from("true")))
    );
    // Replacing the steps keeps the AWS configuration.
    script(&m, "ctl", json!([]));
    assert_eq!(m.aws_report("ctl")["verify"], true);
}
