//! Responses API wire types for routewise: requests, responses, items, stream events and errors. No IO.
