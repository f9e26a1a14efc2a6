//! Test kit for routewise users: MockFoundry on wiremock, a chunked-SSE fault server and fixtures.
