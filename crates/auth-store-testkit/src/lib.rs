//! Conformance suite for TokenStore backends.
