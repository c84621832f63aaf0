//! The conformance suite on a standalone Redis (`AUTH_TEST_REDIS_URL`, default
//! redis://127.0.0.1:6379), each store under its own random key prefix.

mod common;

auth_store_testkit::conformance_tests!(common::standalone);
