//! BAML's `media_url_handler`: what a client does with a media part given
//! by URL — send the URL, send it with a media type, or fetch it and send
//! the bytes inline — per media kind, with BAML's defaults per provider.
//!
//! The option is a map of `image`, `audio`, `video` and `pdf` to a mode;
//! each key is optional and a missing one keeps the provider's default.
//! `image` governs image parts and `pdf` document parts; Switchboard has no
//! audio or video parts (the prompt parser refuses them), so `audio` and
//! `video` are checked and apply to no part. The fetch itself is the
//! engine's (`engine::media`): inside the attempt, through its transport.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::value::{shown, type_name};

/// The media kinds a handler names, as BAML's option keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Audio,
    Video,
    Pdf,
}

impl MediaKind {
    pub const ALL: [MediaKind; 4] = [
        MediaKind::Image,
        MediaKind::Audio,
        MediaKind::Video,
        MediaKind::Pdf,
    ];

    /// The option key.
    pub fn key(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Pdf => "pdf",
        }
    }

    /// How an error names a part of this kind.
    pub fn noun(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Pdf => "document",
        }
    }
}

/// What a client does with a media URL (`data:` URLs are inline already
/// and never fetched, whatever the mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Fetch it and send the bytes inline.
    SendBase64,
    /// Send the URL as is (with a media type where the dialect has a field
    /// for it and the part or the URL's extension tells it).
    SendUrl,
    /// Send the URL with a media type: the part's, the extension's, or the
    /// `Content-Type` of a fetch.
    SendUrlAddMimeType,
    /// `gs://` URLs as URLs, anything else as [`Mode::SendBase64`].
    SendBase64UnlessGoogleUrl,
}

const MODES: [(&str, Mode); 4] = [
    ("send_base64", Mode::SendBase64),
    ("send_url", Mode::SendUrl),
    ("send_url_add_mime_type", Mode::SendUrlAddMimeType),
    (
        "send_base64_unless_google_url",
        Mode::SendBase64UnlessGoogleUrl,
    ),
];

/// A client's mode per media kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaHandler {
    pub image: Mode,
    pub audio: Mode,
    pub video: Mode,
    pub pdf: Mode,
}

impl MediaHandler {
    /// The same mode for every kind.
    pub const fn all(mode: Mode) -> Self {
        MediaHandler {
            image: mode,
            audio: mode,
            video: mode,
            pdf: mode,
        }
    }

    pub fn mode(&self, kind: MediaKind) -> Mode {
        match kind {
            MediaKind::Image => self.image,
            MediaKind::Audio => self.audio,
            MediaKind::Video => self.video,
            MediaKind::Pdf => self.pdf,
        }
    }

    fn set(&mut self, kind: MediaKind, mode: Mode) {
        match kind {
            MediaKind::Image => self.image = mode,
            MediaKind::Audio => self.audio = mode,
            MediaKind::Video => self.video = mode,
            MediaKind::Pdf => self.pdf = mode,
        }
    }

    /// A leaf client's handler: the provider's defaults (`defaults`, for
    /// the client's options), each overridden by the key the client's
    /// `media_url_handler` sets. Anything else there is a `:config` error
    /// naming the client, the option and the allowed values.
    pub fn parse(
        ctx: &str,
        defaults: MediaDefaults,
        raw: &Map<String, Value>,
    ) -> Result<Self, Error> {
        let mut handler = defaults.resolve(raw);
        let given = match raw.get("media_url_handler") {
            None | Some(Value::Null) => return Ok(handler),
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(Error::config(format!(
                    "{ctx}: option \"media_url_handler\" must be a map of image, audio, video \
                     and pdf to a mode, got {}",
                    type_name(other)
                )))
            }
        };
        let modes = || {
            MODES
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (key, value) in given {
            let kind = MediaKind::ALL
                .into_iter()
                .find(|k| k.key() == key)
                .ok_or_else(|| {
                    Error::config(format!(
                        "{ctx}: option \"media_url_handler\" has an unknown key {} \
                         (allowed: image, audio, video, pdf)",
                        shown(key)
                    ))
                })?;
            let mode = match value {
                Value::Null => continue,
                Value::String(s) => MODES.iter().find(|(name, _)| name == s).map(|(_, m)| *m),
                _ => None,
            }
            .ok_or_else(|| {
                let got = match value {
                    Value::String(s) => shown(s),
                    other => type_name(other).to_owned(),
                };
                Error::config(format!(
                    "{ctx}: option \"media_url_handler\" {key}: {got} is not a mode \
                     (allowed: {})",
                    modes()
                ))
            })?;
            handler.set(kind, mode);
        }
        Ok(handler)
    }
}

/// A provider's default handler: fixed, or chosen by the client's options
/// (Vertex: Claude models take Anthropic's defaults).
#[derive(Clone, Copy)]
pub enum MediaDefaults {
    Fixed(MediaHandler),
    ByOptions(fn(&Map<String, Value>) -> MediaHandler),
}

impl MediaDefaults {
    pub fn resolve(self, raw: &Map<String, Value>) -> MediaHandler {
        match self {
            MediaDefaults::Fixed(h) => h,
            MediaDefaults::ByOptions(f) => f(raw),
        }
    }
}

/// BAML's defaults for the OpenAI dialects (chat, its platforms and
/// Responses).
pub const OPENAI_DEFAULTS: MediaDefaults = MediaDefaults::Fixed(MediaHandler {
    image: Mode::SendUrl,
    audio: Mode::SendBase64,
    video: Mode::SendUrl,
    pdf: Mode::SendUrl,
});

/// Anthropic's, and Claude's on Vertex (BAML's documented table: PDFs
/// inline, everything else by URL).
const ANTHROPIC_HANDLER: MediaHandler = MediaHandler {
    image: Mode::SendUrl,
    audio: Mode::SendUrl,
    video: Mode::SendUrl,
    pdf: Mode::SendBase64,
};

pub const ANTHROPIC_DEFAULTS: MediaDefaults = MediaDefaults::Fixed(ANTHROPIC_HANDLER);

pub const GOOGLE_AI_DEFAULTS: MediaDefaults = MediaDefaults::Fixed(MediaHandler {
    image: Mode::SendBase64UnlessGoogleUrl,
    audio: Mode::SendUrl,
    video: Mode::SendUrl,
    pdf: Mode::SendUrl,
});

pub const BEDROCK_DEFAULTS: MediaDefaults = MediaDefaults::Fixed(MediaHandler {
    image: Mode::SendBase64,
    audio: Mode::SendBase64,
    video: Mode::SendUrl,
    pdf: Mode::SendBase64,
});

/// Vertex: Anthropic's for a `claude` model, Gemini's own otherwise. The
/// client's `model` decides; a call's `model:` option does not change it.
pub const VERTEX_DEFAULTS: MediaDefaults = MediaDefaults::ByOptions(|raw| {
    let claude = raw
        .get("model")
        .and_then(Value::as_str)
        .is_some_and(crate::providers::is_vertex_claude_model);
    if claude {
        ANTHROPIC_HANDLER
    } else {
        MediaHandler {
            image: Mode::SendUrlAddMimeType,
            audio: Mode::SendUrlAddMimeType,
            video: Mode::SendUrl,
            pdf: Mode::SendUrl,
        }
    }
});

/// Strategies make no requests; their handler is never read.
pub const NO_MEDIA: MediaDefaults = MediaDefaults::Fixed(MediaHandler::all(Mode::SendUrl));

/// The media type of a URL by its extension, when it is a common one.
pub fn type_from_extension(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or(path);
    let ext = last.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

/// A URL as errors show it: without userinfo, query or fragment (a
/// presigned URL carries its credentials there).
pub fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "(a URL that does not parse)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(defaults: MediaDefaults, options: Value) -> Result<MediaHandler, Error> {
        MediaHandler::parse("client \"C\"", defaults, options.as_object().unwrap())
    }

    #[test]
    fn a_given_key_overrides_the_default_and_the_others_stay() {
        let h = parse(
            OPENAI_DEFAULTS,
            json!({"media_url_handler": {"pdf": "send_base64", "video": null}}),
        )
        .unwrap();
        assert_eq!(h.pdf, Mode::SendBase64);
        assert_eq!(h.image, Mode::SendUrl);
        assert_eq!(h.audio, Mode::SendBase64);
        assert_eq!(h.video, Mode::SendUrl);
    }

    #[test]
    fn defaults_follow_baml_per_provider() {
        let none = json!({});
        assert_eq!(
            parse(GOOGLE_AI_DEFAULTS, none.clone()).unwrap().image,
            Mode::SendBase64UnlessGoogleUrl
        );
        assert_eq!(
            parse(BEDROCK_DEFAULTS, none.clone()).unwrap(),
            MediaHandler {
                image: Mode::SendBase64,
                audio: Mode::SendBase64,
                video: Mode::SendUrl,
                pdf: Mode::SendBase64
            }
        );
        let gemini = parse(VERTEX_DEFAULTS, json!({"model": "gemini-2.5-pro"})).unwrap();
        assert_eq!(gemini.image, Mode::SendUrlAddMimeType);
        assert_eq!(gemini.pdf, Mode::SendUrl);
        // BAML's documented table: Google AI sends PDFs, audio and video by
        // URL; Anthropic sends PDFs inline, and Claude on Vertex as Anthropic.
        let google = parse(GOOGLE_AI_DEFAULTS, none.clone()).unwrap();
        assert_eq!((google.pdf, google.audio), (Mode::SendUrl, Mode::SendUrl));
        let anthropic = parse(ANTHROPIC_DEFAULTS, none).unwrap();
        assert_eq!(
            (anthropic.image, anthropic.pdf),
            (Mode::SendUrl, Mode::SendBase64)
        );
        for model in ["claude-sonnet-4", "models/claude-sonnet-4"] {
            let claude = parse(VERTEX_DEFAULTS, json!({ "model": model })).unwrap();
            assert_eq!(claude, anthropic, "{model}");
        }
    }

    #[test]
    fn bad_handlers_are_config_errors_naming_client_option_and_choices() {
        for (bad, says) in [
            (json!("send_url"), "must be a map"),
            (
                json!({"images": "send_url"}),
                "allowed: image, audio, video, pdf",
            ),
            (json!({"pdf": "inline"}), "allowed: send_base64, send_url"),
            (json!({"pdf": 1}), "an integer is not a mode"),
        ] {
            let e = parse(OPENAI_DEFAULTS, json!({"media_url_handler": bad})).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::Config);
            assert!(e.message.contains("client \"C\""), "{}", e.message);
            assert!(e.message.contains("media_url_handler"), "{}", e.message);
            assert!(e.message.contains(says), "{}", e.message);
        }
    }

    #[test]
    fn extensions_and_shown_urls() {
        assert_eq!(
            type_from_extension("https://x/a/cat.JPG?s=1"),
            Some("image/jpeg")
        );
        assert_eq!(type_from_extension("https://x.example/file"), None);
        assert_eq!(
            type_from_extension("gs://b/doc.pdf"),
            Some("application/pdf")
        );
        assert_eq!(
            shown_url("https://user:pw@x.example/a.png?X-Amz-Signature=s#f"),
            "https://x.example/a.png"
        );
    }
}
