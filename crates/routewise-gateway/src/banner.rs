//! The start-up banner: where the gateway listens, what it serves, and who may call it.

use std::fmt::Write;
use std::net::SocketAddr;

use crate::config::{AccessControl, Config, RateLimits, Residency};

/// The text `routewise serve` prints at start-up; `{addr}` stands for the bound address.
///
/// ```
/// let cfg = routewise_gateway::Config::default_pool();
/// let text = routewise_gateway::banner(&cfg, "127.0.0.1:8080".parse().unwrap());
/// assert!(text.contains("model-router"));
/// assert!(text.contains("access control is OFF"));
/// ```
pub fn banner(config: &Config, addr: SocketAddr) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "routewise gateway listening on http://{{addr}}");
    let _ = writeln!(s, "  OpenAI base URL:   http://{{addr}}/openai/v1");
    let _ = writeln!(s, "  Foundry project:   http://{{addr}}/api/projects/<any>");
    let _ = writeln!(s, "  config:            {}", config.origin.display());
    for r in &config.routers {
        let _ = writeln!(
            s,
            "  router  {:<24} mode {} over {}{}{}",
            r.name,
            r.mode.as_str(),
            r.models.join(", "),
            limits_note(r.limits),
            residency_note(&r.residency)
        );
    }
    for d in &config.deployments {
        let dep = &d.deployment;
        let _ = writeln!(
            s,
            "  deploy  {:<24} {:<10} ${:.2}/${:.2} per 1M in/out tokens{}",
            dep.name,
            d.upstream.kind(),
            dep.price.input_per_1m,
            dep.price.output_per_1m,
            limits_note(d.limits)
        );
    }
    match &config.access {
        AccessControl::Off if addr.ip().is_loopback() => {
            let _ = write!(
                s,
                "  access control is OFF (any api-key or bearer token is accepted); loopback only"
            );
        }
        AccessControl::Off => {
            let _ = write!(
                s,
                "  WARNING: access control is OFF and {} is not a loopback address",
                addr.ip()
            );
        }
        AccessControl::Keys(k) => {
            let _ = write!(
                s,
                "  access control: {} key(s), sent as api-key or Authorization: Bearer",
                k.len()
            );
        }
        AccessControl::Principals(principals) => {
            let _ = write!(
                s,
                "  access control: {} principal(s), keys sent as api-key or Authorization: Bearer",
                principals.len()
            );
            for p in principals {
                let _ = write!(
                    s,
                    "\n  principal {:<22} role {}, {} key(s){}",
                    p.name,
                    p.role,
                    p.keys.len(),
                    p.data_zones
                        .as_ref()
                        .map(|z| format!(", data zones {}", z.join(", ")))
                        .unwrap_or_default()
                );
            }
        }
    }
    s
}

/// `; data zones eu` / `; regions swedencentral` for a router with a residency rule.
fn residency_note(r: &Residency) -> String {
    let mut out = String::new();
    if let Some(z) = &r.data_zones {
        let _ = write!(out, "; data zones {}", z.join(", "));
    }
    if let Some(regions) = &r.regions {
        let _ = write!(out, "; regions {}", regions.join(", "));
    }
    out
}

/// `; 600 RPM, 100000 TPM` for a limited deployment, nothing otherwise.
fn limits_note(limits: RateLimits) -> String {
    let mut out = String::new();
    if let Some(rpm) = limits.rpm {
        let _ = write!(out, "; {rpm} RPM");
    }
    if let Some(tpm) = limits.tpm {
        let _ = write!(out, "{} {tpm} TPM", if out.is_empty() { ";" } else { "," });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_and_router_zones_are_listed_without_keys() {
        let cfg = Config::from_toml_str_with_env(
            "[[access.principals]]\nname = \"team-eu\"\nkeys_env = \"K\"\nrole = \"user\"\n\
             data_zones = [\"eu\"]\n[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }\n\
             region = \"swedencentral\"\nsku = \"DataZoneStandard\"\n[[routers]]\nname = \"r\"\ndata_zones = [\"eu\"]\n",
            "t.toml",
            &|_| Some("the-key".into()),
        )
        .unwrap();
        let text = banner(&cfg, "127.0.0.1:8080".parse().unwrap());
        assert!(text.contains("1 principal(s)"), "{text}");
        assert!(
            text.contains("principal team-eu")
                && text.contains("role user, 1 key(s), data zones eu"),
            "{text}"
        );
        assert!(text.contains("over a; data zones eu"), "{text}");
        assert!(!text.contains("the-key"), "{text}");
    }

    #[test]
    fn limits_are_noted_only_when_set() {
        assert_eq!(limits_note(RateLimits::default()), "");
        assert_eq!(limits_note(RateLimits::new(Some(600), None)), "; 600 RPM");
        assert_eq!(
            limits_note(RateLimits::new(Some(600), Some(1000))),
            "; 600 RPM, 1000 TPM"
        );
        assert_eq!(limits_note(RateLimits::new(None, Some(1000))), "; 1000 TPM");
    }
}
