//! Pluggable HTTP transports for routewise (reqwest, hyper or your own), SSE decoding, timeouts and the retry policy.
