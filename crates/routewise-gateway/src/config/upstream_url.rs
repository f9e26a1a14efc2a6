//! The rule an upstream's `endpoint` or `base_url` obeys. A URL is printed by `Debug`, by
//! errors and by the routing details, so it must not be able to carry a credential: user info
//! and query strings (`?api-key=…`) are refused, and no message here repeats the URL.

/// Why `value` cannot be an upstream URL, or `None` when it can.
pub(crate) fn url_problem(value: &str) -> Option<&'static str> {
    let Ok(url) = url::Url::parse(value.trim()) else {
        return Some("is not a URL");
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Some("must use http or https");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Some("has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Some("has user info; give the credential through an api_key_env variable");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Some("has a query or fragment; give the base URL only (a key goes in api_key_env)");
    }
    // The request URL is built as an `http::Uri`, which is stricter than `url` (no raw
    // non-ASCII hosts), so refuse here what would fail when the gateway is built.
    if value.trim().parse::<http::Uri>().is_err() {
        return Some("is not a valid request URI");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::url_problem;

    #[test]
    fn accepts_plain_base_urls() {
        for ok in [
            "https://my-res.openai.azure.com",
            "https://my-res.services.ai.azure.com/api/projects/p",
            "http://127.0.0.1:8000/v1/",
        ] {
            assert_eq!(url_problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn refuses_urls_that_could_carry_secrets_or_are_unusable() {
        for (bad, why) in [
            ("https://user:pw@h/v1", "user info"),
            ("https://token@h/v1", "user info"),
            ("https://h/v1?api-key=k", "query"),
            ("https://h/v1#frag", "query or fragment"),
            ("ftp://h/v1", "http or https"),
            ("not a url", "not a URL"),
            ("https://bücher.example/v1", "request URI"),
        ] {
            let p = url_problem(bad).unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(p.contains(why), "{bad}: {p}");
            assert!(!p.contains("pw") && !p.contains("api-key=k"), "{p}");
        }
    }
}
