//! `GET /media/<name>` (in a scenario: `/s/<id>/media/<name>`): files for
//! the client's `media_url_handler` to fetch. What is served is told by
//! the URL's query, so a test needs no setup and a URL says what it does:
//!
//! - `type=<media type>`: the `Content-Type` (none when absent);
//! - `body=<text>`: the body (default `media:<name>`); `file=<path>`: a
//!   file under the mock's root instead; `size=<n>`: `n` bytes of `x`;
//! - `status=<n>`: that status, with a short text body;
//! - `redirect=<n>`: a 302 to the same URL with `redirect=<n-1>`, until 0;
//! - `stall=1`: a 200 head and a first piece, then nothing, until the
//!   client leaves.
//!
//! Every media request is logged in its scenario (under its `/media/`
//! path), uses no scripted step, and its outcome (completed, or dropped by
//! the client) is recorded like any other request's.

use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE, LOCATION};
use hyper::StatusCode;

use crate::body::{Ending, Gap, Piece};
use crate::files::FileRoot;
use crate::plan::{Action, Plan, ResponsePlan};

/// The largest `size=` served, a little over the client's 20 MiB cap.
const MAX_SIZE: usize = 32 * 1024 * 1024;

/// Whether `path` (the scenario's part) is a media file.
pub fn is_media(path: &str) -> bool {
    path.starts_with("/media/")
}

/// The answer for a media GET.
pub fn plan(path: &str, query: &str, root: &FileRoot) -> Plan {
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let number = |key: &str| param(key).and_then(|v| v.parse::<usize>().ok());
    if let Some(left) = number("redirect").filter(|n| *n > 0) {
        let next: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| {
                let v = if k == "redirect" {
                    (left - 1).to_string()
                } else {
                    v.clone()
                };
                (k.clone(), v)
            }))
            .finish();
        // Relative, as servers often send it: the client resolves it.
        let location = format!("{}?{next}", path.rsplit('/').next().unwrap_or_default());
        let mut plan = ResponsePlan::single(302, "text/plain", Bytes::from_static(b"moved"));
        if let Ok(value) = HeaderValue::from_str(&location) {
            plan.headers.insert(LOCATION, value);
        }
        return respond(plan);
    }
    if let Some(status) = number("status").filter(|s| !(200..300).contains(s)) {
        let status = u16::try_from(status).unwrap_or(500);
        return respond(ResponsePlan::single(
            status,
            "text/plain",
            Bytes::from(format!("media status {status}")),
        ));
    }
    let body = if let Some(size) = number("size") {
        Bytes::from(vec![b'x'; size.min(MAX_SIZE)])
    } else if let Some(file) = param("file") {
        match root.resolve(file).map(std::fs::read) {
            Ok(Ok(bytes)) => Bytes::from(bytes),
            Ok(Err(e)) => return text(404, format!("media file {file:?}: {e}")),
            Err(e) => return text(404, e.to_string()),
        }
    } else {
        let name = path.strip_prefix("/media/").unwrap_or(path);
        Bytes::from(param("body").map_or_else(|| format!("media:{name}"), str::to_owned))
    };
    let mut headers = HeaderMap::new();
    if let Some(value) = param("type").and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert(CONTENT_TYPE, value);
    }
    let stall = param("stall").is_some_and(|v| v == "1");
    let pieces = if stall {
        // A first piece, so the head is surely out before the stall.
        vec![Piece {
            gap: Gap::Immediate,
            data: body.slice(..body.len().min(1)),
        }]
    } else {
        vec![Piece {
            gap: Gap::Immediate,
            data: body,
        }]
    };
    respond(ResponsePlan {
        status: StatusCode::OK,
        headers,
        pieces,
        ending: if stall {
            Ending::Stall
        } else {
            Ending::Complete
        },
        content_length: None,
        chunked: stall,
        endless: None,
    })
}

fn respond(plan: ResponsePlan) -> Plan {
    Plan {
        delay: None::<Duration>,
        action: Action::Respond(plan),
    }
}

fn text(status: u16, message: String) -> Plan {
    respond(ResponsePlan::single(
        status,
        "text/plain",
        Bytes::from(message),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(query: &str) -> ResponsePlan {
        match plan("/media/cat.png", query, &FileRoot::default()).action {
            Action::Respond(r) => r,
            Action::Drop => panic!("dropped"),
        }
    }

    #[test]
    fn the_query_shapes_the_answer() {
        let ok = answer("type=image/png&body=PNG");
        assert_eq!(ok.status, 200);
        assert_eq!(ok.headers[CONTENT_TYPE], "image/png");
        assert_eq!(ok.pieces[0].data, Bytes::from_static(b"PNG"));
        let default = answer("");
        assert!(default.headers.get(CONTENT_TYPE).is_none());
        assert_eq!(default.pieces[0].data, Bytes::from_static(b"media:cat.png"));
        assert_eq!(answer("status=404").status, 404);
        let moved = answer("redirect=2&type=image/png");
        assert_eq!(moved.status, 302);
        assert_eq!(
            moved.headers[LOCATION],
            "cat.png?redirect=1&type=image%2Fpng"
        );
        assert_eq!(answer("size=10").pieces[0].data.len(), 10);
        assert_eq!(answer("stall=1&body=abc").ending, Ending::Stall);
        assert_eq!(answer("file=x.png").status, 404);
    }
}
