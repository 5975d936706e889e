//! The credential endpoints of the AWS credential chain, so `aws-config`
//! can be pointed at the mock (all under the scenario prefix):
//!
//! * STS `AssumeRoleWithWebIdentity`: `POST /` with the form body (or `GET /`
//!   with the query) `Action=AssumeRoleWithWebIdentity&…`, as
//!   `AWS_ENDPOINT_URL_STS=<base_url>` makes the SDK send it. XML answer.
//! * Container credentials (ECS `…/v2/credentials/<id>`, EKS Pod Identity
//!   `…/v1/credentials`): `GET`, for `AWS_CONTAINER_CREDENTIALS_FULL_URI`
//!   (loopback is allowed there). JSON answer.
//! * IMDSv2 (`AWS_EC2_METADATA_SERVICE_ENDPOINT=<base_url>`):
//!   `PUT /latest/api/token`, `GET /latest/meta-data/iam/security-credentials/`
//!   (role name), `GET …/security-credentials/<role>` (JSON credentials),
//!   `GET /latest/meta-data/placement/region`. GETs need a token from the PUT.
//!
//! Every credential answer is a fresh credential that the SigV4 verifier
//! accepts until it expires.

use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION};
use hyper::Method;
use serde::Serialize;

use super::{iso8601, AwsConfig, Credential, Issued, Keyring, ScenarioAws, Source, ACCOUNT_ID};
use crate::plan::{Action, Plan, ResponsePlan};

const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const IMDS_TOKEN_TTL: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const IMDS_TOKEN: &str = "x-aws-ec2-metadata-token";
const SECURITY_CREDENTIALS: &str = "/latest/meta-data/iam/security-credentials";
const MAX_IMDS_TTL: u64 = 21_600;

/// A credential endpoint request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// STS with its decoded parameters (query and form body together).
    Sts(Vec<(String, String)>),
    Container,
    ImdsToken,
    ImdsRole,
    ImdsCredentials(String),
    ImdsRegion,
}

impl Route {
    /// Routes by method and path (scenario prefix removed) like
    /// `Provider::detect`; STS also needs an `Action` parameter.
    pub fn detect(method: &Method, path: &str, query: &str, body: &[u8]) -> Option<Route> {
        match (method, path) {
            (&Method::PUT, "/latest/api/token") => Some(Route::ImdsToken),
            (&Method::GET, "/latest/meta-data/placement/region") => Some(Route::ImdsRegion),
            (&Method::GET, p) if p.starts_with(SECURITY_CREDENTIALS) => {
                match p[SECURITY_CREDENTIALS.len()..].trim_matches('/') {
                    "" => Some(Route::ImdsRole),
                    role => Some(Route::ImdsCredentials(role.to_owned())),
                }
            }
            (&Method::GET, p) if is_container_path(p) => Some(Route::Container),
            (&Method::POST | &Method::GET, "/") => {
                let mut params = form(query);
                if method == Method::POST {
                    params.extend(form(std::str::from_utf8(body).unwrap_or_default()));
                }
                params
                    .iter()
                    .any(|(k, _)| k == "Action")
                    .then_some(Route::Sts(params))
            }
            _ => None,
        }
    }

    pub fn source(&self) -> Source {
        match self {
            Route::Sts(_) => Source::Sts,
            Route::Container => Source::Container,
            Route::ImdsToken => Source::ImdsToken,
            Route::ImdsRole => Source::ImdsRole,
            Route::ImdsCredentials(_) => Source::ImdsCredentials,
            Route::ImdsRegion => Source::ImdsRegion,
        }
    }
}

fn is_container_path(p: &str) -> bool {
    ["/v1/credentials", "/v2/credentials"]
        .iter()
        .any(|prefix| p == *prefix || p.starts_with(&format!("{prefix}/")))
}

/// `application/x-www-form-urlencoded` pairs, decoded.
fn form(s: &str) -> Vec<(String, String)> {
    let decode = |v: &str| {
        percent_encoding::percent_decode_str(&v.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    s.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// What the request carried that the endpoints check.
#[derive(Debug)]
pub struct Request<'a> {
    pub headers: &'a hyper::HeaderMap,
    pub request_id: &'a str,
}

/// The answer to a credential endpoint request, after the configured delay.
pub fn respond(route: &Route, req: &Request<'_>, aws: &ScenarioAws, keyring: &Keyring) -> Plan {
    let cfg = aws.config().unwrap_or_default();
    let fetch = aws.count(route.source());
    let failing = route.source().issues_credentials() && fetch <= cfg.credential_failures;
    let garbage = cfg.credential_body.as_ref().filter(|_| failing);
    let plan = match (route, garbage) {
        (Route::ImdsCredentials(_), Some(body)) => imds_authorized(req, aws, || {
            text(cfg.credential_status, body.clone().into_bytes())
        }),
        (_, Some(body)) => text(cfg.credential_status, body.clone().into_bytes()),
        _ => match route {
            Route::Sts(params) => sts(params, &cfg, failing, req, aws, keyring).with_headers(
                HeaderValue::from_str(req.request_id)
                    .map(|v| (HeaderName::from_static("x-amzn-requestid"), v)),
            ),
            Route::Container => container(&cfg, failing, req, aws, keyring),
            Route::ImdsToken => imds_token(req, aws),
            Route::ImdsRole => {
                imds_authorized(req, aws, || text(200, cfg.role_name.clone().into_bytes()))
            }
            Route::ImdsRegion => {
                imds_authorized(req, aws, || text(200, cfg.region().as_bytes().to_vec()))
            }
            Route::ImdsCredentials(role) => imds_authorized(req, aws, || {
                if failing {
                    return text(cfg.credential_status, Vec::new());
                }
                if *role != cfg.role_name {
                    return text(404, Vec::new());
                }
                let c = issue(Source::ImdsCredentials, &cfg, aws, keyring);
                json(200, &ImdsCredentials::new(&c))
            }),
        },
    };
    Plan {
        delay: cfg.credential_delay,
        action: Action::Respond(plan),
    }
}

fn issue(source: Source, cfg: &AwsConfig, aws: &ScenarioAws, keyring: &Keyring) -> Credential {
    let credential = keyring.issue(cfg.expires_in_s);
    aws.record_issued(Issued {
        source,
        credential: credential.clone(),
    });
    credential
}

fn text(status: u16, body: Vec<u8>) -> ResponsePlan {
    ResponsePlan::single(status, "text/plain", Bytes::from(body))
}

fn json(status: u16, body: &impl Serialize) -> ResponsePlan {
    let bytes = serde_json::to_vec_pretty(body).unwrap_or_default();
    ResponsePlan::single(status, "application/json", Bytes::from(bytes))
}

fn header<'h>(headers: &'h hyper::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

// ------------------------------------------------------------------- IMDS

fn imds_token(req: &Request<'_>, aws: &ScenarioAws) -> ResponsePlan {
    let ttl = header(req.headers, IMDS_TOKEN_TTL).and_then(|v| v.trim().parse::<u64>().ok());
    let Some(ttl) = ttl.filter(|t| (1..=MAX_IMDS_TTL).contains(t)) else {
        return text(400, Vec::new());
    };
    let token = format!("AQAEAMock-IMDSv2-token-{}==", req.request_id);
    aws.add_imds_token(token.clone(), Duration::from_secs(ttl));
    text(200, token.into_bytes()).with_headers([(
        HeaderName::from_static(IMDS_TOKEN_TTL),
        HeaderValue::from(ttl),
    )])
}

/// IMDSv2 only: a GET without a valid session token is a 401.
fn imds_authorized(
    req: &Request<'_>,
    aws: &ScenarioAws,
    answer: impl FnOnce() -> ResponsePlan,
) -> ResponsePlan {
    match header(req.headers, IMDS_TOKEN) {
        Some(token) if aws.imds_token_valid(token) => answer(),
        _ => text(401, Vec::new()),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ImdsCredentials<'a> {
    code: &'static str,
    last_updated: String,
    #[serde(rename = "Type")]
    kind: &'static str,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
}

impl<'a> ImdsCredentials<'a> {
    fn new(c: &'a Credential) -> Self {
        ImdsCredentials {
            code: "Success",
            last_updated: iso8601(std::time::SystemTime::now()),
            kind: "AWS-HMAC",
            access_key_id: &c.access_key_id,
            secret_access_key: &c.secret_access_key,
            token: c.session_token.as_deref().unwrap_or_default(),
            expiration: c.expires_at.map(iso8601).unwrap_or_default(),
        }
    }
}

// -------------------------------------------------------------- container

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerCredentials<'a> {
    role_arn: String,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
    account_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerError<'a> {
    code: &'a str,
    message: &'a str,
}

fn container(
    cfg: &AwsConfig,
    failing: bool,
    req: &Request<'_>,
    aws: &ScenarioAws,
    keyring: &Keyring,
) -> ResponsePlan {
    if let Some(expected) = &cfg.container_authorization {
        if header(req.headers, AUTHORIZATION.as_str()) != Some(expected.as_str()) {
            return json(
                401,
                &ContainerError {
                    code: "AccessDeniedException",
                    message: "The authorization token does not match.",
                },
            );
        }
    }
    if failing {
        return json(
            cfg.credential_status,
            &ContainerError {
                code: "InternalServerException",
                message: "The mock was scripted to fail this credential fetch.",
            },
        );
    }
    let c = issue(Source::Container, cfg, aws, keyring);
    json(
        200,
        &ContainerCredentials {
            role_arn: format!("arn:aws:iam::{ACCOUNT_ID}:role/{}", cfg.role_name),
            access_key_id: &c.access_key_id,
            secret_access_key: &c.secret_access_key,
            token: c.session_token.as_deref().unwrap_or_default(),
            expiration: c.expires_at.map(iso8601).unwrap_or_default(),
            account_id: ACCOUNT_ID,
        },
    )
}

// -------------------------------------------------------------------- STS

fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn xml(status: u16, body: String) -> ResponsePlan {
    ResponsePlan::single(status, "text/xml", Bytes::from(body))
}

/// STS's query-protocol error document.
fn sts_error(status: u16, code: &str, message: &str, request_id: &str) -> ResponsePlan {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    xml(
        status,
        format!(
            "<ErrorResponse xmlns=\"{STS_NS}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
            xml_escape(code),
            xml_escape(message)
        ),
    )
}

fn sts_code_for(status: u16) -> &'static str {
    match status {
        400 => "InvalidParameterValue",
        403 => "AccessDenied",
        429 => "Throttling",
        503 => "ServiceUnavailable",
        _ => "InternalFailure",
    }
}

fn sts(
    params: &[(String, String)],
    cfg: &AwsConfig,
    failing: bool,
    req: &Request<'_>,
    aws: &ScenarioAws,
    keyring: &Keyring,
) -> ResponsePlan {
    let id = req.request_id;
    let action = param(params, "Action").unwrap_or_default();
    if action != "AssumeRoleWithWebIdentity" {
        return sts_error(
            400,
            "InvalidAction",
            &format!("Could not find operation {action} for version 2011-06-15"),
            id,
        );
    }
    for name in ["RoleArn", "RoleSessionName", "WebIdentityToken"] {
        if param(params, name).is_none_or(str::is_empty) {
            return sts_error(
                400,
                "MissingParameter",
                &format!("The request must contain the parameter {name}"),
                id,
            );
        }
    }
    let token = param(params, "WebIdentityToken").unwrap_or_default();
    if cfg
        .web_identity_token
        .as_deref()
        .is_some_and(|expected| expected != token)
    {
        return sts_error(
            400,
            "InvalidIdentityToken",
            "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.",
            id,
        );
    }
    if failing {
        let status = cfg.credential_status;
        return sts_error(
            status,
            sts_code_for(status),
            "The mock was scripted to fail this credential fetch.",
            id,
        );
    }
    let role_arn = param(params, "RoleArn").unwrap_or_default();
    let session = param(params, "RoleSessionName").unwrap_or_default();
    let role = role_arn.rsplit('/').next().unwrap_or(role_arn);
    let c = issue(Source::Sts, cfg, aws, keyring);
    let body = format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{STS_NS}\">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>switchboard-mock-subject</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <AssumedRoleId>AROAMOCKROLE00000001:{session}</AssumedRoleId>
      <Arn>arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/{session}</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{}</AccessKeyId>
      <SecretAccessKey>{}</SecretAccessKey>
      <SessionToken>{}</SessionToken>
      <Expiration>{}</Expiration>
    </Credentials>
    <Provider>switchboard-mock</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>{id}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
",
        xml_escape(&c.access_key_id),
        xml_escape(&c.secret_access_key),
        xml_escape(c.session_token.as_deref().unwrap_or_default()),
        c.expires_at.map(iso8601).unwrap_or_default(),
        session = xml_escape(session),
        role = xml_escape(role),
    );
    xml(200, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = |m: Method, p: &str, q: &str, b: &str| Route::detect(&m, p, q, b.as_bytes());
        assert_eq!(
            r(Method::PUT, "/latest/api/token", "", ""),
            Some(Route::ImdsToken)
        );
        assert_eq!(
            r(
                Method::GET,
                "/latest/meta-data/iam/security-credentials/",
                "",
                ""
            ),
            Some(Route::ImdsRole)
        );
        assert_eq!(
            r(
                Method::GET,
                "/latest/meta-data/iam/security-credentials/role-a",
                "",
                ""
            ),
            Some(Route::ImdsCredentials("role-a".into()))
        );
        assert_eq!(
            r(Method::GET, "/v2/credentials/abc", "", ""),
            Some(Route::Container)
        );
        assert_eq!(
            r(Method::GET, "/v1/credentials", "", ""),
            Some(Route::Container)
        );
        assert_eq!(r(Method::GET, "/v1/credentialsx", "", ""), None);
        let sts = r(
            Method::POST,
            "/",
            "",
            "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&WebIdentityToken=a+b",
        );
        let Some(Route::Sts(params)) = sts else {
            panic!("not STS: {sts:?}")
        };
        assert_eq!(param(&params, "RoleArn"), Some("arn:aws:iam::1:role/r"));
        assert_eq!(param(&params, "WebIdentityToken"), Some("a b"));
        assert_eq!(r(Method::POST, "/", "", "{}"), None);
    }
}
