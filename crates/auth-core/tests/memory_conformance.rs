//! The conformance suite against the reference store itself.

use std::sync::Arc;

use auth_core::{DynTokenStore, MemoryStore};

async fn store() -> DynTokenStore {
    Arc::new(MemoryStore::new())
}

auth_store_testkit::conformance_tests!(store);
