//! Response compression: brotli or gzip, as `Accept-Encoding` allows, for
//! bodies of 1 KiB or more. Smaller bodies fit in a packet or two as they
//! are; compressing them would cost more CPU than it saves on the wire.
//!
//! A request without `Accept-Encoding` costs one header lookup.
//!
//! Each encoding's bytes get a strong `ETag` of their own (the identity
//! tag plus `-br` or `-gzip`, [`contract::etag::encoded`]), and the 304 and
//! the `HEAD` that stand for such a response carry the same `ETag`, `Vary`
//! and length the `GET` would.

use std::io::Write;

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, ETAG, VARY};
use http::{HeaderMap, HeaderValue, StatusCode};

/// Bodies shorter than this are sent as they are.
pub const MIN_BYTES: usize = 1024;
/// Fast levels: a page of products compresses some 8× at these, in tens of
/// microseconds; the top levels cost many times that for a few percent.
const GZIP_LEVEL: u32 = 5;
const BROTLI_QUALITY: i32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }

    /// The encoding `Accept-Encoding` prefers among those served: the higher
    /// q-value, brotli on a tie; `q=0` refuses, `*` stands for the unnamed.
    pub fn negotiate(accept: &HeaderValue) -> Option<Encoding> {
        let accept = accept.to_str().ok()?;
        let (mut br, mut gzip, mut any) = (None, None, None);
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let token = parts.next().unwrap_or_default().trim();
            // Parameter names are case-insensitive: `Q=0` refuses too.
            let q = parts
                .filter_map(|p| p.split_once('='))
                .filter(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
                .find_map(|(_, q)| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match token.to_ascii_lowercase().as_str() {
                "br" => br = Some(q),
                "gzip" | "x-gzip" => gzip = Some(q),
                "*" => any = Some(q),
                _ => {}
            }
        }
        let br = br.or(any).unwrap_or(0.0);
        let gzip = gzip.or(any).unwrap_or(0.0);
        match (br > 0.0, gzip > 0.0) {
            (true, _) if br >= gzip => Some(Encoding::Brotli),
            (_, true) => Some(Encoding::Gzip),
            (true, false) => Some(Encoding::Brotli),
            (false, false) => None,
        }
    }

    fn encode(self, body: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(body.len() / 4 + 64);
        match self {
            Encoding::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(out, flate2::Compression::new(GZIP_LEVEL));
                encoder.write_all(body)?;
                encoder.finish()
            }
            Encoding::Brotli => {
                let params = brotli::enc::BrotliEncoderParams {
                    quality: BROTLI_QUALITY,
                    ..Default::default()
                };
                brotli::BrotliCompress(&mut &body[..], &mut out, &params)?;
                Ok(out)
            }
        }
    }
}

/// Compresses `body` in place when it is large enough and the client takes
/// an encoding; see [`negotiate`]. `HEAD` is treated as the `GET` it
/// stands for (hyper sends its headers, with the encoded length, and no
/// body).
pub fn apply(
    accept: Option<&HeaderValue>,
    status: StatusCode,
    headers: &mut HeaderMap,
    body: &mut Bytes,
) {
    if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return;
    }
    let Some(encoding) = negotiate(accept, body.len(), headers) else {
        return;
    };
    match encoding.encode(body) {
        Ok(encoded) => {
            *body = Bytes::from(encoded);
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding.token()));
            headers.remove(CONTENT_LENGTH);
            retag(headers, encoding);
        }
        Err(error) => tracing::warn!(%error, "compression failed; sent as it is"),
    }
}

/// The encoding for a representation of `length` bytes, if any, and
/// `Vary: Accept-Encoding` when its size makes it a candidate (a cache then
/// keeps the encodings apart, compressed or not). Also for a 304, whose
/// headers are those of the 200 it stands for, with [`retag`].
pub fn negotiate(
    accept: Option<&HeaderValue>,
    length: usize,
    headers: &mut HeaderMap,
) -> Option<Encoding> {
    if length < MIN_BYTES || headers.contains_key(CONTENT_ENCODING) {
        return None;
    }
    headers.append(VARY, HeaderValue::from_static("Accept-Encoding"));
    accept.and_then(Encoding::negotiate)
}

/// The encoding a body of `length` bytes would go out in, if any.
pub fn chosen(accept: Option<&HeaderValue>, length: usize) -> Option<Encoding> {
    if length < MIN_BYTES {
        return None;
    }
    accept.and_then(Encoding::negotiate)
}

/// `tag` for the body encoded with `encoding`.
pub fn encoded_tag(tag: &HeaderValue, encoding: Encoding) -> Option<HeaderValue> {
    contract::etag::encoded(tag, encoding.token())
}

/// The strong `ETag` of the body encoded with `encoding`.
pub fn retag(headers: &mut HeaderMap, encoding: Encoding) {
    if let Some(tag) = headers.get(ETAG).and_then(|tag| encoded_tag(tag, encoding)) {
        headers.insert(ETAG, tag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(value: &'static str) -> Option<Encoding> {
        Encoding::negotiate(&HeaderValue::from_static(value))
    }

    #[test]
    fn accept_encoding_is_negotiated_by_q() {
        assert_eq!(pick("gzip, deflate, br"), Some(Encoding::Brotli));
        assert_eq!(pick("gzip"), Some(Encoding::Gzip));
        assert_eq!(pick("br;q=0.5, gzip"), Some(Encoding::Gzip));
        assert_eq!(pick("br;q=0, gzip;q=0"), None);
        assert_eq!(pick("identity"), None);
        assert_eq!(pick("*"), Some(Encoding::Brotli));
        assert_eq!(pick("*;q=0, gzip"), Some(Encoding::Gzip));
        assert_eq!(pick("gzip;Q=0"), None);
        assert_eq!(pick("br; Q=0.1, gzip;q=0.9"), Some(Encoding::Gzip));
    }

    #[test]
    fn each_encoding_has_its_own_strong_tag_and_every_answer_varies() {
        let body = Bytes::from(vec![b'a'; MIN_BYTES]);
        let tagged = || {
            let mut headers = HeaderMap::new();
            headers.insert(ETAG, HeaderValue::from_static("\"1-a\""));
            headers
        };
        let mut tags = Vec::new();
        for accept in [None, Some("br"), Some("gzip")] {
            let accept = accept.map(HeaderValue::from_static);
            let (mut headers, mut encoded) = (tagged(), body.clone());
            apply(accept.as_ref(), StatusCode::OK, &mut headers, &mut encoded);
            assert_eq!(headers[VARY], "Accept-Encoding");
            tags.push(headers[ETAG].clone());
        }
        assert_eq!(tags, ["\"1-a\"", "\"1-a-br\"", "\"1-a-gzip\""]);
        // A small body keeps its tag and says nothing of encodings.
        let (mut headers, mut small) = (tagged(), Bytes::from_static(b"{}"));
        let br = HeaderValue::from_static("br");
        apply(Some(&br), StatusCode::OK, &mut headers, &mut small);
        assert_eq!(headers.get(VARY), None);
        assert_eq!(headers[ETAG], "\"1-a\"");
    }

    #[test]
    fn encoded_bodies_decode_to_the_original() {
        use std::io::Read;
        let body: Vec<u8> = br#"{"id":1,"name":"Widget"},"#.repeat(100);
        let gzipped = Encoding::Gzip.encode(&body).unwrap();
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gzipped[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, body);
        let brotli = Encoding::Brotli.encode(&body).unwrap();
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut &brotli[..], &mut decoded).unwrap();
        assert_eq!(decoded, body);
        assert!(brotli.len() < body.len() / 4);
    }
}
