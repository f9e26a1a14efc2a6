//! A key variable that yields no key is a config error naming the key path and the variable
//! (never its value): for a principal it would load with no key, for the legacy keys it would
//! turn access control off.

use routewise_gateway::Config;

const DEPLOYMENT: &str = "[[deployments]]\nname = \"d\"\nupstream = { kind = \"emulator\" }\n";

#[test]
fn a_variable_of_only_commas_and_spaces_is_refused() {
    for empty in [",", " , ", ",,,", "\t,\n"] {
        let env = |var: &str| match var {
            "EMPTY_KEYS" => Some(empty.to_owned()),
            "GOOD_KEYS" => Some("good-key".to_owned()),
            _ => None,
        };
        let cases = [
            (
                format!("[access]\napi_keys_env = [\"EMPTY_KEYS\"]\n{DEPLOYMENT}"),
                "access.api_keys_env[0]",
            ),
            (
                format!("[access]\napi_keys_env = [\"GOOD_KEYS\", \"EMPTY_KEYS\"]\n{DEPLOYMENT}"),
                "access.api_keys_env[1]",
            ),
            (
                format!(
                    "[[access.principals]]\nname = \"a\"\nkeys_env = \"GOOD_KEYS\"\nrole = \"user\"\n\
                     [[access.principals]]\nname = \"b\"\nkeys_env = \"EMPTY_KEYS\"\nrole = \"user\"\n\
                     {DEPLOYMENT}"
                ),
                "access.principals[1].keys_env",
            ),
        ];
        for (toml, key) in cases {
            let e = Config::from_toml_str_with_env(&toml, "routewise.toml", &env)
                .expect_err("no key must not load");
            assert!(e.is_invalid(), "{e}");
            assert_eq!(e.key_path, key, "{empty:?}: {e}");
            assert!(
                e.message
                    .contains("environment variable EMPTY_KEYS holds no key"),
                "{e}"
            );
            assert!(!e.to_string().contains("good-key"), "{e}");
        }
    }
}
