//! Middleware every request passes (DESIGN.md §13): the security headers on every response, the
//! `Host` allow-list against DNS rebinding, the refusal of cross-site unsafe requests, and a
//! deadline, a size limit and no content coding on request bodies.
//! Depends only on the configuration; knows nothing about routes.

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Version;
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, ResponseError};
use futures_util::StreamExt;

use super::ApiError;
use crate::config::{host_of, Config};

/// How long a request body may take to arrive, from the end of its head.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// The largest request body accepted (DESIGN.md §7).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The headers of every response, with exactly these values (DESIGN.md §13).
const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
];

/// Put the security headers on every response, errors included: handlers, extractors, routing
/// and the middleware here all answer errors as responses, so every one passes through this.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    Ok(response)
}

/// The host names a request may address: loopback names, the bind address's host, the public
/// URL's host and `SIGNALDESK_ALLOWED_HOSTS`. Ports are not compared: a rebinding page can only
/// choose the name, and the name alone decides (see the README).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    pub fn from_config(config: &Config) -> AllowedHosts {
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let public = config.public_url.as_deref().and_then(|url| {
            let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
            host_of(rest.split('/').next().unwrap_or_default())
        });
        let extra = host_of(&config.bind).into_iter().chain(public);
        for name in extra.chain(config.allowed_hosts.iter().cloned()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        AllowedHosts(names)
    }

    /// Whether a `Host` value (`name[:port]`) names this server.
    pub fn allows(&self, host: &str) -> bool {
        host_of(host).is_some_and(|name| self.0.contains(&name))
    }

    /// Why a request is refused, if it is: a foreign or malformed `Host`, two of them, or none
    /// on HTTP/1.1 (RFC 9112 §3.2). HTTP/1.0 may omit it; no browser does, so it is let through.
    fn refusal(&self, req: &ServiceRequest) -> Option<String> {
        let mut given = req.headers().get_all(header::HOST);
        let host = given.next();
        if given.next().is_some() {
            return Some("more than one Host header".to_owned());
        }
        let names = host
            .map(|value| value.to_str().unwrap_or("\u{fffd}").to_owned())
            .into_iter()
            .chain(req.uri().authority().map(|a| a.as_str().to_owned()));
        let mut seen = false;
        for name in names {
            seen = true;
            if !self.allows(&name) {
                let shown: String = name.chars().take(100).collect();
                return Some(format!(
                    "Host {shown:?} is not a name of this server; add it to SIGNALDESK_ALLOWED_HOSTS"
                ));
            }
        }
        (!seen && req.version() != Version::HTTP_10)
            .then(|| "the Host header is required".to_owned())
    }
}

/// The explicit port of a `host[:port]` (IPv6 in brackets), if it has one.
fn explicit_port(authority: &str) -> Option<u16> {
    let rest = match authority.rfind(']') {
        Some(end) => &authority[end + 1..],
        None => authority,
    };
    rest.rsplit_once(':')?.1.parse().ok()
}

/// Why an unsafe request (anything but GET, HEAD, OPTIONS) from a browser is refused, if it is:
/// its `Origin` is not this server (another site's, `null`, or another port of this host), or
/// `Sec-Fetch-Site` says it comes from another origin (`cross-site`, or `same-site`: another port
/// or subdomain). Browsers send these on every cross-origin POST, scripts and TradingView send
/// neither. Without it a page anywhere, or on another port of localhost, could post wrong tokens
/// to `/login` or the webhook from its visitors' browsers (a simple request needs no CORS
/// preflight) and lock their addresses out, or log them in.
///
/// The Origin's port is compared with the `Host` header's when both name the same host and
/// `Host` has a port: a proxy that rewrites `Host` to its upstream, or drops the port, makes
/// that comparison impossible, and the name alone decides, as for `Host`.
fn cross_site(req: &ServiceRequest, hosts: &AllowedHosts) -> Option<String> {
    use actix_web::http::Method;
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let refused = || Some("cross-site requests are refused".to_owned());
    let fetch_site = req
        .headers()
        .get("sec-fetch-site")
        .map(HeaderValue::as_bytes);
    if matches!(fetch_site, Some(b"cross-site" | b"same-site")) {
        return refused();
    }
    let origin = req.headers().get(header::ORIGIN)?;
    let (authority, default_port) = match origin.to_str() {
        Ok(o) => match (o.strip_prefix("https://"), o.strip_prefix("http://")) {
            (Some(rest), _) => (rest, 443),
            (_, Some(rest)) => (rest, 80),
            _ => return refused(),
        },
        Err(_) => return refused(),
    };
    if authority.contains('/') || !hosts.allows(authority) {
        return refused();
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
    let other_port = host.is_some_and(|host| {
        host_of(&host) == host_of(authority)
            && explicit_port(&host)
                .is_some_and(|port| port != explicit_port(authority).unwrap_or(default_port))
    });
    if other_port {
        return refused();
    }
    None
}

/// Refuse requests for a host name that is not this server's (400), and unsafe requests from
/// another site's pages (403), in the API's error shape.
pub async fn allowed_host(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let refusal = req
        .app_data::<actix_web::web::Data<super::AppState>>()
        .map_or_else(
            || Some("server misconfigured: no host allow-list".to_owned()),
            |state| state.hosts.refusal(&req),
        );
    let refusal = refusal.map(|message| ApiError::Validation {
        field: None,
        message,
    });
    let refusal = refusal.or_else(|| {
        let state = req.app_data::<actix_web::web::Data<super::AppState>>()?;
        cross_site(&req, &state.hosts).map(ApiError::Forbidden)
    });
    match refusal {
        Some(error) => Ok(refuse(req, error)),
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}

fn refuse(req: ServiceRequest, error: ApiError) -> ServiceResponse<BoxBody> {
    let (request, _) = req.into_parts();
    let mut response = error.error_response();
    // A refused body is left unread: the connection cannot carry another request.
    response
        .head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    ServiceResponse::new(request, response)
}

enum BodyError {
    TooLarge,
    Broken(actix_web::error::PayloadError),
}

/// The content coding a request declares for its body, other than `identity`, if any (a value
/// that is not visible ASCII counts as an unknown coding).
fn content_coding(req: &ServiceRequest) -> Option<String> {
    req.headers()
        .get_all(header::CONTENT_ENCODING)
        .flat_map(|value| value.to_str().unwrap_or("\u{fffd}").split(','))
        .map(str::trim)
        .find(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"))
        .map(|coding| coding.chars().take(40).collect())
}

/// Read the whole body (at most [`MAX_BODY_BYTES`]) within [`BODY_DEADLINE`] before any handler
/// runs, so a client that trickles a body, or never sends the one it announced, holds its
/// connection for at most that long (actix's own timeout covers only the request head).
///
/// A body with a content coding (`Content-Encoding: gzip`, `deflate`) is refused unread (415):
/// actix's extractors would inflate it in one piece before any size limit applies, so 64 KiB of
/// deflate would take 64 MiB of memory, and a few hundred such requests at once all of it. No
/// client of this API compresses what it sends (TradingView does not). The header is removed
/// from every request let through, so nothing downstream decodes a body.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let too_large = || ApiError::PayloadTooLarge("request body is larger than 64 KiB".to_owned());
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Ok(refuse(req, too_large()));
    }
    let has_body = announced.is_some_and(|len| len > 0)
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    if let Some(coding) = content_coding(&req).filter(|_| has_body) {
        let message = format!(
            "compressed request bodies are not accepted (Content-Encoding: {coding}); send the body uncompressed"
        );
        return Ok(refuse(req, ApiError::UnsupportedMediaType(message)));
    }
    req.headers_mut().remove(header::CONTENT_ENCODING);
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    let read = async {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(BodyError::Broken)?;
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(BodyError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(())
    };
    match actix_web::rt::time::timeout(BODY_DEADLINE, read).await {
        Err(_) => Ok(refuse(
            req,
            ApiError::RequestTimeout(format!(
                "the request body did not arrive within {} s",
                BODY_DEADLINE.as_secs()
            )),
        )),
        Ok(Err(BodyError::TooLarge)) => Ok(refuse(req, too_large())),
        Ok(Err(BodyError::Broken(e))) => Ok(refuse(
            req,
            ApiError::Validation {
                field: None,
                message: format!("the request body could not be read: {e}"),
            },
        )),
        Ok(Ok(())) => {
            let body: Bytes = body.freeze();
            req.set_payload(Payload::from(body));
            Ok(next.call(req).await?.map_into_boxed_body())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let env = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Config::from_layers(None, env, &[]).unwrap()
    }

    #[test]
    fn hosts_are_matched_by_name_whatever_the_port() {
        let hosts = AllowedHosts::from_config(&config(&[
            ("SIGNALDESK_BIND", "0.0.0.0:9000"),
            ("SIGNALDESK_PUBLIC_URL", "https://Signals.Example.com/desk"),
            ("SIGNALDESK_ALLOWED_HOSTS", "box.lan"),
        ]));
        let cases: &[(&str, bool, &str)] = &[
            ("localhost", true, "loopback without port"),
            ("localhost:8080", true, "loopback with any port"),
            ("127.0.0.1:9000", true, "loopback address"),
            ("[::1]:9000", true, "IPv6 loopback"),
            ("0.0.0.0:9000", true, "the bind address"),
            ("signals.example.com", true, "the public URL's host"),
            ("box.lan:9000", true, "an allowed name"),
            ("BOX.LAN", true, "names are case-insensitive"),
            ("attacker.example", false, "a foreign name"),
            ("localhost.attacker.example", false, "a suffix trick"),
            ("127.0.0.1.nip.io", false, "a rebinding service"),
            ("localhost:80:80", false, "malformed"),
            ("", false, "empty"),
        ];
        for (host, allowed, reason) in cases {
            assert_eq!(hosts.allows(host), *allowed, "{reason}: {host}");
        }
    }

    #[test]
    fn explicit_ports_are_read_from_names_and_ipv6_addresses() {
        let cases: &[(&str, Option<u16>)] = &[
            ("localhost:8080", Some(8080)),
            ("localhost", None),
            ("[::1]:9000", Some(9000)),
            ("[::1]", None),
            ("127.0.0.1:1", Some(1)),
            ("desk.lan:99999", None),
        ];
        for (authority, port) in cases {
            assert_eq!(explicit_port(authority), *port, "{authority}");
        }
    }
}
