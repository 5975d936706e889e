//! What the mock reads from a model request: only the few facts that change
//! the answer, never failing (a request the mock cannot read still gets an
//! answer, and is logged).

use serde::Deserialize;

use super::Platform;

/// A model request as the dialect sees it (scenario prefix removed).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub platform: Platform,
    pub path: &'a str,
    pub query: &'a str,
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// The `{model}:{method}` of a Google model call's URL.
    pub fn google_call(&self) -> Option<GoogleCall<'a>> {
        self.path.rsplit('/').next().and_then(GoogleCall::parse)
    }

    /// `name=value` among the query's parameters.
    pub fn has_param(&self, name: &str, value: &str) -> bool {
        form_urlencoded::parse(self.query.as_bytes()).any(|(k, v)| k == name && v == value)
    }
}

/// `{model}:{method}`, the last segment of every Google model call's URL.
#[derive(Debug)]
pub struct GoogleCall<'a> {
    pub model: String,
    pub method: &'a str,
}

impl<'a> GoogleCall<'a> {
    pub const GENERATE: &'static str = "generateContent";
    pub const STREAM_GENERATE: &'static str = "streamGenerateContent";
    pub const RAW_PREDICT: &'static str = "rawPredict";
    pub const STREAM_RAW_PREDICT: &'static str = "streamRawPredict";

    pub fn parse(segment: &'a str) -> Option<GoogleCall<'a>> {
        // Some clients percent-encode the colon.
        let (model, method) = segment.split_once(':').or_else(|| {
            let i = segment.to_ascii_lowercase().find("%3a")?;
            Some((&segment[..i], &segment[i + 3..]))
        })?;
        if model.is_empty() {
            return None;
        }
        let model = percent_encoding::percent_decode_str(model)
            .decode_utf8_lossy()
            .into_owned();
        Some(GoogleCall { model, method })
    }
}

/// The few request fields that change the response.
#[derive(Debug, Default, Deserialize)]
pub struct RequestInfo {
    #[serde(default, deserialize_with = "lenient")]
    pub model: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub stream: bool,
    #[serde(default, deserialize_with = "lenient")]
    pub stream_options: Option<StreamOptionsIn>,
    /// Gemini streaming without `alt=sse`: one JSON array, sent piece by piece.
    #[serde(skip)]
    pub json_array: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct StreamOptionsIn {
    #[serde(default, deserialize_with = "lenient_bool")]
    pub include_usage: bool,
}

impl RequestInfo {
    /// Never fails: a body that is not the expected JSON gets the defaults,
    /// because the mock must still answer (and record) it.
    pub fn parse(body: &[u8]) -> RequestInfo {
        serde_json::from_slice(body).unwrap_or_default()
    }

    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage)
    }
}

/// `"stream": null` or a non-boolean counts as not streaming instead of
/// failing the whole parse.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(matches!(
        serde_json::Value::deserialize(d)?,
        serde_json::Value::Bool(true)
    ))
}

/// A field of the wrong type (`"model": 3`) counts as missing, so the
/// other fields are still read.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(serde_json::from_value(serde_json::Value::deserialize(d)?).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_info_is_lenient() {
        let info = RequestInfo::parse(
            br#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#,
        );
        assert_eq!(info.model.as_deref(), Some("m"));
        assert!(info.stream && info.include_usage());
        let info = RequestInfo::parse(br#"{"stream":"yes"}"#);
        assert!(!info.stream);
        assert!(RequestInfo::parse(b"not json").model.is_none());
        // One field of the wrong type leaves the others read.
        let info = RequestInfo::parse(br#"{"model":3,"stream":true}"#);
        assert!(info.stream && info.model.is_none());
        let info = RequestInfo::parse(br#"{"model":"m","stream":true,"stream_options":"x"}"#);
        assert_eq!(info.model.as_deref(), Some("m"));
        assert!(info.stream && !info.include_usage());
    }
}
