//! Endpoint parsing: project, Azure resource, OpenAI and plain base URLs.

use std::fmt;
use std::sync::Arc;

use url::{Host, Url};

/// The Entra scope that `get_openai_client()` asks tokens for (digest §5).
pub const FOUNDRY_SCOPE: &str = "https://ai.azure.com/.default";

/// The public OpenAI base URL.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Why an endpoint string was rejected.
///
/// The `input` each variant carries (and so its `Display` and `Debug`) is redacted, since an
/// endpoint string can hold a secret: user info is removed and a query or fragment shows as
/// `?***` / `#***`. Input that does not even parse shows nothing after its first `?` or `#`,
/// and `***` for anything up to its last `@`.
///
/// ```
/// use routewise::Endpoint;
///
/// let err = Endpoint::base_url_of("https://gw.example.com/v1?sig=secret").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "endpoint `https://gw.example.com/v1?***` has a query or fragment; a base URL cannot carry one"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The string is not an absolute URL.
    #[error("endpoint `{input}` is not an absolute URL: {reason}")]
    Malformed {
        /// The rejected input, redacted (see [`EndpointError`]).
        input: String,
        /// What the URL parser said.
        reason: String,
    },
    /// The scheme is neither `https` nor `http`.
    #[error(
        "endpoint `{input}` has scheme `{scheme}`; expected `https` (or `http` for a local gateway)"
    )]
    Scheme {
        /// The rejected input, redacted (see [`EndpointError`]).
        input: String,
        /// The scheme found.
        scheme: String,
    },
    /// Plain `http` to a host that is not loopback: credentials and prompts would cross the
    /// network in cleartext.
    #[error(
        "endpoint `{input}` uses plain http to a non-loopback host, which would send credentials in cleartext; \
         use https, or opt in with ClientBuilder::allow_insecure_http(true) / EndpointOptions::allow_insecure_http(true)"
    )]
    InsecureHttp {
        /// The rejected input, redacted (see [`EndpointError`]).
        input: String,
    },
    /// The URL has no host.
    #[error("endpoint `{input}` has no host")]
    MissingHost {
        /// The rejected input, redacted (see [`EndpointError`]).
        input: String,
    },
    /// The URL embeds a user name or password, which would leak into logs.
    #[error("endpoint `{input}` embeds credentials; pass them as a Credential instead")]
    UserInfo {
        /// The rejected input, redacted (see [`EndpointError`]).
        input: String,
    },
    /// The URL carries a query string or a fragment, which a base URL cannot have.
    #[error("endpoint `{input}` has a query or fragment; a base URL cannot carry one")]
    QueryOrFragment {
        /// The rejected input, redacted (see [`EndpointError`]).
        input: String,
    },
    /// The path does not have the shape this kind of endpoint needs.
    #[error("endpoint `{input}` has path `{path}`; expected {expected}")]
    Path {
        /// The rejected input, redacted (see [`EndpointError`]).
        input: String,
        /// The path found.
        path: String,
        /// The shape expected, in words.
        expected: &'static str,
    },
}

/// What kind of endpoint a base URL was built from. Informational: it names the provider in
/// telemetry (`gen_ai.provider.name`) and changes nothing about the requests, not even the auth
/// header, which is always the credential's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointKind {
    /// A Foundry project: `https://<res>.services.ai.azure.com/api/projects/<project>`.
    Project,
    /// An Azure OpenAI or Foundry resource: `https://<res>.openai.azure.com`.
    AzureResource,
    /// The public OpenAI API.
    OpenAi,
    /// Any other base URL (a gateway, a proxy, a mock).
    Custom,
}

/// How endpoint strings are checked beyond their shape.
///
/// By default `http` is accepted only for loopback hosts (`127.0.0.0/8`, `::1`, `localhost`):
/// anything else would carry the credential in cleartext. A gateway on a private network can
/// opt in with [`allow_insecure_http`](Self::allow_insecure_http).
///
/// ```
/// use routewise::{EndpointError, EndpointOptions};
///
/// let strict = EndpointOptions::new();
/// assert!(strict.base_url_of("http://127.0.0.1:8000/v1").is_ok());
/// assert!(matches!(
///     strict.base_url_of("http://10.0.0.7:8000/v1"),
///     Err(EndpointError::InsecureHttp { .. })
/// ));
/// let lan = EndpointOptions::new().allow_insecure_http(true);
/// assert_eq!(lan.base_url_of("http://10.0.0.7:8000/v1").unwrap().base_url(), "http://10.0.0.7:8000/v1");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointOptions {
    allow_insecure_http: bool,
}

impl EndpointOptions {
    /// The defaults: `https`, or `http` to loopback only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts plain `http` to any host (default `false`).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// True when plain `http` to non-loopback hosts is accepted.
    pub fn allows_insecure_http(&self) -> bool {
        self.allow_insecure_http
    }

    /// [`Endpoint::project`] under these options.
    pub fn project(&self, endpoint: &str) -> Result<Endpoint, EndpointError> {
        Endpoint::project_with(endpoint, *self)
    }

    /// [`Endpoint::azure_resource`] under these options.
    pub fn azure_resource(&self, endpoint: &str) -> Result<Endpoint, EndpointError> {
        Endpoint::azure_resource_with(endpoint, *self)
    }

    /// [`Endpoint::base_url_of`] under these options.
    pub fn base_url_of(&self, base: &str) -> Result<Endpoint, EndpointError> {
        Endpoint::base_url_with(base, *self)
    }
}

/// A validated base URL that `/responses` paths are appended to.
///
/// Cheap to clone; never ends with `/`.
///
/// ```
/// use routewise::Endpoint;
///
/// let project = Endpoint::project("https://res.services.ai.azure.com/api/projects/proj/").unwrap();
/// assert_eq!(
///     project.base_url(),
///     "https://res.services.ai.azure.com/api/projects/proj/openai/v1"
/// );
/// let resource = Endpoint::azure_resource("https://res.openai.azure.com").unwrap();
/// assert_eq!(resource.base_url(), "https://res.openai.azure.com/openai/v1");
/// assert!(Endpoint::project("ftp://res/api/projects/p").is_err());
/// // Plain http only to loopback, unless EndpointOptions::allow_insecure_http says otherwise.
/// assert!(Endpoint::base_url_of("http://localhost:4000/v1").is_ok());
/// assert!(Endpoint::base_url_of("http://gateway.internal/v1").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: Arc<str>,
    kind: EndpointKind,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("base", &&*self.base)
            .field("kind", &self.kind)
            .finish()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

impl Endpoint {
    /// A Foundry project endpoint; the base URL becomes `{project}/openai/v1`, as `get_openai_client()` does.
    ///
    /// The path must be `/api/projects/<project>` (trailing slashes allowed); `http` only to a
    /// loopback host (see [`EndpointOptions`]).
    pub fn project(endpoint: &str) -> Result<Self, EndpointError> {
        Self::project_with(endpoint, EndpointOptions::new())
    }

    fn project_with(endpoint: &str, options: EndpointOptions) -> Result<Self, EndpointError> {
        let (url, path) = parse(endpoint, options)?;
        let segments: Vec<&str> = segments(&path);
        let shape_ok = matches!(segments.as_slice(), ["api", "projects", name] if !name.is_empty());
        if !shape_ok {
            let hint = if segments.ends_with(&["openai", "v1"]) {
                "`/api/projects/<project>` without `/openai/v1` (it is appended for you)"
            } else {
                "`/api/projects/<project>`"
            };
            return Err(EndpointError::Path {
                input: redacted(&url),
                path,
                expected: hint,
            });
        }
        Ok(Self::from_parts(
            &url,
            &path,
            "/openai/v1",
            EndpointKind::Project,
        ))
    }

    /// An Azure OpenAI or Foundry resource endpoint (`https://<res>.openai.azure.com` or
    /// `https://<res>.services.ai.azure.com`); the base URL becomes `{resource}/openai/v1`.
    ///
    /// A URL that already ends in `/openai/v1` is accepted as is; `http` only to a loopback
    /// host (see [`EndpointOptions`]).
    pub fn azure_resource(endpoint: &str) -> Result<Self, EndpointError> {
        Self::azure_resource_with(endpoint, EndpointOptions::new())
    }

    fn azure_resource_with(
        endpoint: &str,
        options: EndpointOptions,
    ) -> Result<Self, EndpointError> {
        let (url, path) = parse(endpoint, options)?;
        match segments(&path).as_slice() {
            [] => Ok(Self::from_parts(
                &url,
                "",
                "/openai/v1",
                EndpointKind::AzureResource,
            )),
            ["openai", "v1"] => Ok(Self::from_parts(
                &url,
                &path,
                "",
                EndpointKind::AzureResource,
            )),
            _ => Err(EndpointError::Path {
                input: redacted(&url),
                path,
                expected: "no path (or `/openai/v1`) on a resource endpoint",
            }),
        }
    }

    /// The public OpenAI API, `https://api.openai.com/v1`.
    pub fn openai() -> Self {
        Self {
            base: Arc::from(OPENAI_BASE_URL),
            kind: EndpointKind::OpenAi,
        }
    }

    /// Any base URL, used as given (minus trailing slashes): a gateway, a proxy or a mock
    /// server. `http` only to a loopback host (see [`EndpointOptions`]).
    pub fn base_url_of(base: &str) -> Result<Self, EndpointError> {
        Self::base_url_with(base, EndpointOptions::new())
    }

    fn base_url_with(base: &str, options: EndpointOptions) -> Result<Self, EndpointError> {
        let (url, path) = parse(base, options)?;
        let kind = if url.host_str() == Some("api.openai.com") {
            EndpointKind::OpenAi
        } else {
            EndpointKind::Custom
        };
        Ok(Self::from_parts(&url, &path, "", kind))
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The kind of endpoint this was built from.
    pub fn kind(&self) -> EndpointKind {
        self.kind
    }

    /// `{base}/{path}` where `path` has no leading slash.
    pub(crate) fn join(&self, path: &str) -> String {
        let mut s = String::with_capacity(self.base.len() + 1 + path.len());
        s.push_str(&self.base);
        s.push('/');
        s.push_str(path);
        s
    }

    fn from_parts(url: &Url, path: &str, suffix: &str, kind: EndpointKind) -> Self {
        let mut base = String::with_capacity(64);
        base.push_str(url.scheme());
        base.push_str("://");
        base.push_str(url.host_str().unwrap_or_default());
        if let Some(port) = url.port() {
            base.push(':');
            base.push_str(&port.to_string());
        }
        base.push_str(path);
        base.push_str(suffix);
        Self {
            base: Arc::from(base),
            kind,
        }
    }
}

/// Parses and checks scheme, host, user info, query and fragment. Returns the URL and its
/// path with trailing slashes trimmed (`""` for the root).
fn parse(input: &str, options: EndpointOptions) -> Result<(Url, String), EndpointError> {
    let trimmed = input.trim();
    // The parser's messages name the problem, never the input, so `reason` is safe to keep.
    let url = Url::parse(trimmed).map_err(|e| EndpointError::Malformed {
        input: redacted_unparsed(trimmed),
        reason: e.to_string(),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EndpointError::UserInfo {
            input: redacted(&url),
        });
    }
    match url.scheme() {
        "https" | "http" => {}
        other => {
            return Err(EndpointError::Scheme {
                input: redacted(&url),
                scheme: other.to_owned(),
            });
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(EndpointError::MissingHost {
            input: redacted(&url),
        });
    }
    if url.scheme() == "http" && !options.allow_insecure_http && !is_loopback(&url) {
        return Err(EndpointError::InsecureHttp {
            input: redacted(&url),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(EndpointError::QueryOrFragment {
            input: redacted(&url),
        });
    }
    let path = url.path().trim_end_matches('/').to_owned();
    if path.contains("//") {
        return Err(EndpointError::Path {
            input: redacted(&url),
            path,
            expected: "no empty path segments",
        });
    }
    Ok((url, path))
}

/// What stands in for a redacted part of an endpoint string.
const REDACTED: &str = "***";

/// An endpoint string as it may be shown in errors and `Debug` output: redacted like
/// [`EndpointError`]'s inputs, whether it parses or not.
pub(crate) fn redact_endpoint(input: &str) -> String {
    let trimmed = input.trim();
    Url::parse(trimmed).map_or_else(|_| redacted_unparsed(trimmed), |url| redacted(&url))
}

/// `url` without its user info, and with `***` for its query and fragment (signatures and
/// tokens travel there).
fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    // These fail only for URLs that cannot carry user info at all.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if shown.query().is_some() {
        shown.set_query(Some(REDACTED));
    }
    if shown.fragment().is_some() {
        shown.set_fragment(Some(REDACTED));
    }
    shown.into()
}

/// A string that did not parse as a URL, so its parts cannot be trusted: nothing after the
/// first `?` or `#` is kept, and everything of the authority up to the last `@` is replaced
/// (over-redacting an `@` in a path is the safe mistake; the password sits before the `@`).
fn redacted_unparsed(input: &str) -> String {
    let (head, mark) = match input.find(['?', '#']) {
        Some(i) => (&input[..i], input.get(i..=i)),
        None => (input, None),
    };
    let authority = head.find("://").map_or(0, |i| i + 3);
    let mut shown = String::with_capacity(head.len() + 2 * REDACTED.len());
    match head.rfind('@') {
        Some(at) => {
            shown.push_str(&head[..authority.min(at)]);
            shown.push_str(REDACTED);
            shown.push_str(&head[at..]);
        }
        None => shown.push_str(head),
    }
    if let Some(mark) = mark {
        shown.push_str(mark);
        shown.push_str(REDACTED);
    }
    shown
}

/// `127.0.0.0/8`, `::1` and `localhost`: traffic that never leaves the machine.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_shapes() {
        let e = Endpoint::project("https://r.services.ai.azure.com/api/projects/_project").unwrap();
        assert_eq!(
            e.base_url(),
            "https://r.services.ai.azure.com/api/projects/_project/openai/v1"
        );
        assert_eq!(e.kind(), EndpointKind::Project);
        assert_eq!(
            e.join("responses"),
            "https://r.services.ai.azure.com/api/projects/_project/openai/v1/responses"
        );
        let e = Endpoint::project("http://127.0.0.1:8080/api/projects//p").unwrap_err();
        assert!(matches!(e, EndpointError::Path { .. }), "{e}");
        let local = Endpoint::project("http://127.0.0.1:8080/api/projects/p//").unwrap();
        assert_eq!(
            local.base_url(),
            "http://127.0.0.1:8080/api/projects/p/openai/v1"
        );
    }

    #[test]
    fn project_rejects_bad_paths() {
        for bad in [
            "https://r.services.ai.azure.com",
            "https://r.services.ai.azure.com/api/projects",
            "https://r.services.ai.azure.com/api/projects/p/extra",
            "https://r.services.ai.azure.com/api/project/p",
        ] {
            assert!(
                matches!(Endpoint::project(bad), Err(EndpointError::Path { .. })),
                "{bad}"
            );
        }
        let err = Endpoint::project("https://r.services.ai.azure.com/api/projects/p/openai/v1")
            .unwrap_err();
        assert!(err.to_string().contains("appended for you"), "{err}");
    }

    #[test]
    fn rejects_scheme_host_userinfo_query() {
        assert!(matches!(
            Endpoint::project("ftp://r/api/projects/p"),
            Err(EndpointError::Scheme { .. })
        ));
        assert!(matches!(
            Endpoint::project("r.services.ai.azure.com/api/projects/p"),
            Err(EndpointError::Malformed { .. })
        ));
        assert!(matches!(
            Endpoint::project(""),
            Err(EndpointError::Malformed { .. })
        ));
        assert!(matches!(
            Endpoint::base_url_of("file:///tmp/x"),
            Err(EndpointError::Scheme { .. })
        ));
        let err = Endpoint::azure_resource("https://user:s3cret@r.openai.azure.com").unwrap_err();
        assert!(matches!(err, EndpointError::UserInfo { .. }));
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(matches!(
            Endpoint::azure_resource("https://r.openai.azure.com?api-version=v1"),
            Err(EndpointError::QueryOrFragment { .. })
        ));
        assert!(matches!(
            Endpoint::base_url_of("https://h/v1#frag"),
            Err(EndpointError::QueryOrFragment { .. })
        ));
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "http://127.0.0.1:8080/v1",
            "http://127.9.8.7/v1",
            "http://[::1]:4000/v1",
            "http://localhost:4000/v1",
            "http://LOCALHOST/v1",
            "https://10.0.0.7/v1",
        ] {
            assert!(Endpoint::base_url_of(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.7:8000/v1",
            "http://gateway.internal/v1",
            "http://128.0.0.1/v1",
            "http://[::2]/v1",
            "http://localhost.evil.com/v1",
            "http://api.openai.com/v1",
        ] {
            let err = Endpoint::base_url_of(bad).unwrap_err();
            assert!(
                matches!(err, EndpointError::InsecureHttp { .. }),
                "{bad}: {err}"
            );
            assert!(err.to_string().contains("allow_insecure_http"), "{err}");
        }
        assert!(matches!(
            Endpoint::project("http://r.services.ai.azure.com/api/projects/p"),
            Err(EndpointError::InsecureHttp { .. })
        ));
        assert!(matches!(
            Endpoint::azure_resource("http://r.openai.azure.com"),
            Err(EndpointError::InsecureHttp { .. })
        ));
        let lan = EndpointOptions::new().allow_insecure_http(true);
        assert!(lan.allows_insecure_http());
        assert_eq!(
            lan.base_url_of("http://10.0.0.7:8000/v1/")
                .unwrap()
                .base_url(),
            "http://10.0.0.7:8000/v1"
        );
        assert!(lan.project("http://h/api/projects/p").is_ok());
        assert!(lan.azure_resource("http://h").is_ok());
    }

    #[test]
    fn resource_and_openai_shapes() {
        let e = Endpoint::azure_resource("https://r.openai.azure.com/").unwrap();
        assert_eq!(e.base_url(), "https://r.openai.azure.com/openai/v1");
        let e = Endpoint::azure_resource("https://r.services.ai.azure.com/openai/v1/").unwrap();
        assert_eq!(e.base_url(), "https://r.services.ai.azure.com/openai/v1");
        assert!(matches!(
            Endpoint::azure_resource("https://r.openai.azure.com/openai/deployments/x"),
            Err(EndpointError::Path { .. })
        ));
        assert_eq!(Endpoint::openai().base_url(), "https://api.openai.com/v1");
        assert_eq!(
            Endpoint::base_url_of("https://api.openai.com/v1/")
                .unwrap()
                .kind(),
            EndpointKind::OpenAi
        );
        let gw = Endpoint::base_url_of("http://localhost:4000//v1").unwrap_err();
        assert!(matches!(gw, EndpointError::Path { .. }));
        let gw = Endpoint::base_url_of("http://localhost:4000/v1///").unwrap();
        assert_eq!(gw.base_url(), "http://localhost:4000/v1");
        assert_eq!(gw.kind(), EndpointKind::Custom);
    }

    /// Endpoint strings rejected for each reason that can be reached while the string still
    /// carries a secret in its user info, query or fragment. (`MissingHost` cannot be reached
    /// by an `http(s)` URL, and `Path` only after user info and query were rejected.)
    const SECRET_INPUTS: [&str; 12] = [
        // Malformed: the port is out of range, or there is no scheme, so nothing parses.
        "https://user:SUPERSECRET@host:99999/v1",
        "https://host:99999/v1?sig=SUPERSECRET",
        "https://host:99999/v1#access_token=SUPERSECRET",
        "SUPERSECRET@host/v1",
        "host/v1?sig=SUPERSECRET",
        // Scheme.
        "ftp://host/v1?sig=SUPERSECRET",
        "file:///tmp/x#SUPERSECRET",
        // InsecureHttp (checked before the query).
        "http://gateway.internal/v1?sig=SUPERSECRET",
        // UserInfo, with a query too.
        "https://user:SUPERSECRET@host/v1",
        "https://SUPERSECRET@host/v1?sig=SUPERSECRET",
        // QueryOrFragment.
        "https://gw.example.com/v1?sig=SUPERSECRET",
        "https://gw.example.com/v1#SUPERSECRET",
    ];

    #[test]
    fn rejected_inputs_never_echo_secrets() {
        let mut variants = std::collections::BTreeSet::new();
        for input in SECRET_INPUTS {
            let err = Endpoint::base_url_of(input).expect_err(input);
            let (display, debug) = (err.to_string(), format!("{err:?}"));
            assert!(!display.contains("SUPERSECRET"), "{input}: {display}");
            assert!(!debug.contains("SUPERSECRET"), "{input}: {debug}");
            let client = crate::Error::from(err.clone());
            assert!(!client.to_string().contains("SUPERSECRET"), "{client}");
            assert!(!format!("{client:?}").contains("SUPERSECRET"), "{client:?}");
            variants.insert(
                format!("{err:?}")
                    .split([' ', '{'])
                    .next()
                    .map(str::to_owned),
            );
        }
        let expected = [
            "InsecureHttp",
            "Malformed",
            "QueryOrFragment",
            "Scheme",
            "UserInfo",
        ];
        let expected = expected.map(|v| Some(v.to_owned())).into_iter().collect();
        assert_eq!(variants, expected);
    }

    #[test]
    fn redacted_inputs_still_say_where_the_problem_is() {
        let err = Endpoint::base_url_of("https://gw.example.com/v1?sig=SUPERSECRET").unwrap_err();
        assert!(matches!(err, EndpointError::QueryOrFragment { .. }));
        assert!(
            err.to_string().contains("https://gw.example.com/v1?"),
            "{err}"
        );
        let err = Endpoint::base_url_of("https://user:SUPERSECRET@host:99999/v1").unwrap_err();
        assert!(matches!(err, EndpointError::Malformed { .. }));
        assert!(err.to_string().contains("host:99999/v1"), "{err}");
        let err = Endpoint::base_url_of("http://gateway.internal/v1").unwrap_err();
        assert!(
            err.to_string().contains("http://gateway.internal/v1"),
            "{err}"
        );
    }

    #[test]
    fn the_builder_debug_never_shows_the_endpoint_secret() {
        let builder =
            crate::Client::builder().base_url("https://gw.example.com/v1?sig=SUPERSECRET");
        let debug = format!("{builder:?}");
        assert!(!debug.contains("SUPERSECRET"), "{debug}");
        assert!(debug.contains("gw.example.com"), "{debug}");
    }
}
