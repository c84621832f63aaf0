//! One `check_*` function per clause of the `TokenStore` contract, grouped by operation.

pub(crate) mod cancellation;
pub(crate) mod concurrency;
pub(crate) mod expiry;
pub(crate) mod insert;
pub(crate) mod instances;
pub(crate) mod purge;
pub(crate) mod reuse;
pub(crate) mod revoke;
pub(crate) mod rotate;
