//! RS256 as Google service accounts use it, against published vectors in
//! ../shared/conformance/google-auth (read at test time; without them these
//! tests say so and pass):
//!
//! - RFC 7520 section 4.1 (ietf-jose/cookbook): a fixed RSA key and signing
//!   input, and the exact signature (RSASSA-PKCS1-v1_5 is deterministic);
//! - an assertion google-auth 2.62.2 made with its test service account and
//!   the clock frozen: header, claims, signature, and the token request's
//!   form body, byte for byte.

use std::fs;
use std::path::{Path, PathBuf};

use num_bigint::{BigInt, Sign};
use serde_json::Value;
use simple_asn1::ASN1Block;
use switchboard_core::auth::google::credentials::{self, Credential};
use switchboard_core::auth::google::jwt::{self, SigningKey};
use switchboard_core::auth::google::token::jwt_bearer_form;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/google-auth"
);

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(CORPUS);
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} is absent", dir.display());
        None
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).expect("read vector")).expect("JSON vector")
}

fn b64url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url")
}

/// A JWK RSA private key as PKCS#1 DER (RFC 8017 A.1.2), the form the
/// signer takes: only encoding here, the key itself is the vector's.
fn jwk_to_pkcs1_der(jwk: &Value) -> Vec<u8> {
    let int = |name: &str| {
        let bytes = b64url(jwk[name].as_str().expect("JWK member"));
        ASN1Block::Integer(0, BigInt::from_bytes_be(Sign::Plus, &bytes))
    };
    let mut fields = vec![ASN1Block::Integer(0, BigInt::from(0))];
    fields.extend(["n", "e", "d", "p", "q", "dp", "dq", "qi"].map(int));
    simple_asn1::to_der(&ASN1Block::Sequence(0, fields)).expect("DER")
}

#[test]
fn rfc7520_rs256_signature_is_reproduced_byte_for_byte() {
    let Some(dir) = corpus() else { return };
    let vector = json(&dir.join("ietf-jose-cookbook/jws/4_1.rsa_v15_signature.json"));
    assert_eq!(vector["input"]["alg"], "RS256");
    let key = SigningKey::from_der(&jwk_to_pkcs1_der(&vector["input"]["key"])).expect("key");
    let input = vector["signing"]["sig-input"].as_str().expect("sig-input");
    let signature = key.sign(input.as_bytes()).expect("signature");
    assert_eq!(signature, vector["signing"]["sig"].as_str().expect("sig"));
    // The same key as a separate JWK file gives the same signature.
    let jwk = json(&dir.join("ietf-jose-cookbook/jwk/3_4.rsa_private_key.json"));
    let again = SigningKey::from_der(&jwk_to_pkcs1_der(&jwk)).expect("key");
    assert_eq!(again.sign(input.as_bytes()).expect("signature"), signature);
}

#[test]
fn google_auth_service_account_assertion_is_reproduced_byte_for_byte() {
    let Some(dir) = corpus() else { return };
    let vector = json(&dir.join("DERIVED_google-auth_service_account_assertion.json"));
    let file = dir.join(vector["service_account_file"].as_str().expect("file"));
    let Some(Credential::ServiceAccount(sa)) = credentials::read_file(&file).expect("readable")
    else {
        panic!("not a service account file")
    };
    let now = vector["frozen_now_unix"].as_u64().expect("now");
    let assertion =
        jwt::service_account_assertion(&sa.key, sa.key_id.as_deref(), &sa.client_email, now)
            .expect("assertion");
    let parts: Vec<&str> = assertion.expose().split('.').collect();
    assert_eq!(parts[0], vector["header_b64u"]);
    assert_eq!(parts[1], vector["claims_b64u"]);
    assert_eq!(parts[2], vector["signature_b64u"]);
    assert_eq!(assertion.expose(), vector["assertion"]);
    let claims: Value = serde_json::from_slice(&b64url(parts[1])).expect("claims");
    assert_eq!(claims, vector["claims"]);
    assert_eq!(jwt_bearer_form(&assertion), vector["token_request"]["body"]);
    assert_eq!(
        vector["token_request"]["content_type"],
        "application/x-www-form-urlencoded"
    );
    // The file's own private key PEM is the same key.
    let pem = fs::read_to_string(dir.join("google-auth-library-python-tests-data/privatekey.pem"))
        .expect("pem");
    let from_pem = SigningKey::from_pem(&pem).expect("PKCS#1 PEM");
    let input = vector["signing_input"].as_str().expect("signing input");
    assert_eq!(
        from_pem.sign(input.as_bytes()).expect("signature"),
        vector["signature_b64u"]
    );
}
