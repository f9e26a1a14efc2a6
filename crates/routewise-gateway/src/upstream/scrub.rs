//! Keeps the gateway's own upstream credentials out of what clients see of an upstream's
//! error. A misbehaving upstream (or a proxy in front of it) may echo the request headers in
//! its error body, and that body is passed on or quoted to the client; with access control the
//! client must never learn the key the gateway uses upstream.

use bytes::Bytes;
use http::HeaderValue;

/// What a credential is replaced with.
const MASK: &[u8] = b"***";

/// Shorter values are not credentials worth hunting for (and would mask ordinary text).
const MIN_SECRET: usize = 8;

/// `body` with the credential values this request sent (`sent`: its `authorization` and
/// `api-key` headers) masked. Only what was sent is masked: asking the credential again here
/// could start a token fetch on an error path (a 401 has just dropped the cached token).
pub(crate) fn scrub_credentials(body: Bytes, sent: &[Option<HeaderValue>]) -> Bytes {
    scrub(body, sent.iter().flatten())
}

/// `body` with each value (and, for `Scheme token` values, the token alone) masked.
fn scrub<'a>(body: Bytes, values: impl Iterator<Item = &'a HeaderValue>) -> Bytes {
    let mut secrets: Vec<&[u8]> = Vec::new();
    for value in values {
        let bytes = value.as_bytes();
        // `Bearer abc…`: the token may be echoed without its scheme.
        let token = bytes
            .iter()
            .position(|&b| b == b' ')
            .map_or(bytes, |i| &bytes[i + 1..]);
        for secret in [bytes, token] {
            if secret.len() >= MIN_SECRET && !secrets.contains(&secret) {
                secrets.push(secret);
            }
        }
    }
    // Longest first, so a token inside a masked header value is not left half shown.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out: Option<Vec<u8>> = None;
    for secret in secrets {
        let current = out.as_deref().unwrap_or(&body);
        if let Some(replaced) = replace_all(current, secret) {
            out = Some(replaced);
        }
    }
    out.map_or(body, Bytes::from)
}

/// `haystack` with every `needle` replaced by [`MASK`], or `None` when there is none.
fn replace_all(haystack: &[u8], needle: &[u8]) -> Option<Vec<u8>> {
    let mut found = haystack.windows(needle.len()).position(|w| w == needle)?;
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    loop {
        out.extend_from_slice(&rest[..found]);
        out.extend_from_slice(MASK);
        rest = &rest[found + needle.len()..];
        match rest.windows(needle.len()).position(|w| w == needle) {
            Some(next) => found = next,
            None => break,
        }
    }
    out.extend_from_slice(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: &[&'static str]) -> Vec<HeaderValue> {
        v.iter().map(|s| HeaderValue::from_static(s)).collect()
    }

    #[test]
    fn keys_and_bare_tokens_are_masked_and_other_text_is_kept() {
        let sent = values(&["Bearer sk-UPSTREAMSECRET999", "key-0123456789"]);
        let body = Bytes::from_static(
            b"upstream failure; headers: {'authorization': 'Bearer sk-UPSTREAMSECRET999', \
              'api-key': 'key-0123456789'} token sk-UPSTREAMSECRET999 again",
        );
        let out = scrub(body, sent.iter());
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(
            !text.contains("UPSTREAMSECRET") && !text.contains("0123456789"),
            "{text}"
        );
        assert_eq!(text.matches("***").count(), 3, "{text}");
        assert!(text.starts_with("upstream failure; headers:") && text.ends_with(" again"));
    }

    #[test]
    fn a_body_without_credentials_is_the_same_bytes() {
        let body = Bytes::from_static(br#"{"error":{"message":"nope"}}"#);
        let out = scrub(
            body.clone(),
            values(&["Bearer sk-UPSTREAMSECRET999", "short"]).iter(),
        );
        assert_eq!(
            out.as_ptr(),
            body.as_ptr(),
            "no copy when nothing is masked"
        );
        // Values under 8 bytes are not hunted for.
        let out = scrub(
            Bytes::from_static(b"a short word"),
            values(&["short"]).iter(),
        );
        assert_eq!(&out[..], b"a short word");
    }

    #[test]
    fn headers_not_sent_are_skipped() {
        let sent = [None, Some(HeaderValue::from_static("key-abcdefgh123"))];
        let out = scrub_credentials(Bytes::from_static(b"echo: key-abcdefgh123"), &sent);
        assert_eq!(&out[..], b"echo: ***");
    }
}
