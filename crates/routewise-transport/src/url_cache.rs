//! Parsed URLs for the reqwest transport, kept per thread.
//!
//! reqwest takes a `Url`, and turning an `http::Uri` into one (`Url::parse`, with IDNA) cost
//! about 6,500 instructions per request in the gateway, as much as a JSON check of the whole
//! answer. A client or a gateway sends to a handful of endpoints, so the last few are kept.
//! Per thread, so there is no lock; a task that moves to another thread only misses once.

use std::cell::RefCell;

use http::Uri;
use reqwest::Url;

/// Endpoints kept per thread; a miss replaces them in turn.
const SLOTS: usize = 4;

struct Cache {
    slots: [Option<(Uri, Url)>; SLOTS],
    next: usize,
}

thread_local! {
    static CACHE: RefCell<Cache> = const {
        RefCell::new(Cache { slots: [const { None }; SLOTS], next: 0 })
    };
}

/// `uri` as a `Url`, parsed once per thread while it stays among the last [`SLOTS`].
pub(crate) fn url_of(uri: &Uri) -> Result<Url, url::ParseError> {
    CACHE.with_borrow_mut(|cache| {
        if let Some((_, url)) = cache.slots.iter().flatten().find(|(known, _)| known == uri) {
            return Ok(url.clone());
        }
        let url = Url::parse(&uri.to_string())?;
        let at = cache.next;
        cache.slots[at] = Some((uri.clone(), url.clone()));
        cache.next = (at + 1) % SLOTS;
        Ok(url)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_uri_gets_its_own_url_however_many_there_are() {
        let uris: Vec<Uri> = (0..(2 * SLOTS + 1))
            .map(|i| format!("http://host{i}.example:80{i}/v1/responses?api-version={i}"))
            .map(|s| s.parse().unwrap())
            .collect();
        for _ in 0..3 {
            for uri in &uris {
                let url = url_of(uri).unwrap();
                assert_eq!(url.as_str(), Url::parse(&uri.to_string()).unwrap().as_str());
            }
        }
        // A hit is the same answer as a parse, not the last entry's.
        let first = &uris[uris.len() - 1];
        assert_eq!(
            url_of(first).unwrap().as_str(),
            url_of(first).unwrap().as_str()
        );
        assert_ne!(
            url_of(&uris[uris.len() - 2]).unwrap(),
            url_of(first).unwrap()
        );
    }

    #[test]
    fn a_bad_uri_is_an_error_and_not_kept() {
        let relative: Uri = "/v1/responses".parse().unwrap();
        assert!(url_of(&relative).is_err());
        assert!(url_of(&relative).is_err());
    }
}
