//! Credentials for routewise: API keys, bearer tokens and Entra ID through azure_identity, with a single-flight token cache.
