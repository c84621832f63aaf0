//! The whole conformance suite, each check on a fresh store of its own.

mod common;

auth_store_testkit::conformance_tests!(common::store);
