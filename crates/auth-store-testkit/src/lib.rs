//! The conformance suite every [`TokenStore`](auth_core::TokenStore) backend runs.
//!
//! One `check_*` function per clause of the `TokenStore` contract (the trait's doc
//! comments and DESIGN.md section 3). [`MemoryStore`](auth_core::MemoryStore) is the
//! reference: every backend must give exactly its outcomes, and
//! [`check_matches_memory_model`] compares the two on random operation sequences.
//!
//! # Running the suite for a backend
//!
//! In the backend crate, add this crate and tokio (with the `macros` and
//! `rt-multi-thread` features, as in `[workspace.dependencies]`) to `[dev-dependencies]`,
//! and write `tests/conformance.rs` with an async factory that returns a fresh, isolated,
//! empty store on every call (a new database or schema, a random Redis key prefix):
//!
//! ```no_run
//! // crates/auth-store-<name>/tests/conformance.rs
//! use std::sync::Arc;
//!
//! async fn store() -> auth_core::DynTokenStore {
//!     // A real backend connects here, and panics with how to start the service if it
//!     // cannot reach it: a backend test never skips.
//!     Arc::new(auth_core::MemoryStore::new())
//! }
//!
//! auth_store_testkit::conformance_tests!(store);
//! # fn main() {}
//! ```
//!
//! The macro stamps out one `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]`
//! per check, named after it, so a failure names the backend (the test binary) and the
//! clause (the test). A check can also be called directly, e.g. to run one clause against
//! a specially configured store.
//!
//! # Checks a backend calls itself
//!
//! Two checks need more than one fresh store, so [`conformance_tests!`] does not stamp
//! them; each backend calls them from its own test files:
//!
//! - [`check_cross_instance_race`] takes two independent instances over the same data
//!   (separate pools or clients, as two processes would have).
//! - [`check_cancelled_calls_leave_store_whole`] takes a store whose calls do real I/O and
//!   the backend's own inspection of what a cancelled call may leave behind (an open
//!   transaction, a held lock), which it awaits before using the store again.
//!
//! ```no_run
//! // crates/auth-store-<name>/tests/race.rs
//! # async fn open() -> auth_core::DynTokenStore { unimplemented!() }
//! #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! async fn two_pools_have_one_winner_per_token() {
//!     // Two connections to one database, not two clones sharing a pool.
//!     auth_store_testkit::check_cross_instance_race(open().await, open().await).await;
//! }
//!
//! // crates/auth-store-<name>/tests/cancel.rs
//! # async fn no_transaction_left_open() {}
//! #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! async fn cancelled_calls_leave_no_transaction_open() {
//!     let store = open().await;
//!     auth_store_testkit::check_cancelled_calls_leave_store_whole(
//!         store,
//!         no_transaction_left_open(),
//!     )
//!     .await;
//! }
//! # fn main() {}
//! ```
//!
//! # Time
//!
//! Stores take `now` as a parameter; the checks act as a fake clock, moving it by hand,
//! hours ahead of the wall clock. Times are anchored at [`fixtures::epoch`] (the wall
//! clock plus a sub-second offset) and every stored token lives at least ten minutes, so a
//! store that expires records by TTL (absolute, at `expires_at`) never loses one while a
//! check runs.
//!
//! # Ids
//!
//! Ids need only be unique per subject: `Conflict` is required for a family or token id
//! the same subject already has, and whether a store also refuses one that another subject
//! holds is unspecified (MemoryStore and SQL primary keys do, a store partitioned by
//! subject need not). So no check, and no sequence [`check_matches_memory_model`]
//! generates, reuses an id across subjects; the checks that look up a record under the
//! wrong subject still require it not to exist.
//!
//! # Purging
//!
//! `purge_expired` may return 0 in a store that expires records by TTL. The purge checks
//! therefore accept a store that reports deletions (and then must have deleted exactly the
//! expired tokens and emptied families, and counted them) or one that reports 0 (and then
//! must have changed nothing); both must keep everything reuse detection needs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations, rust_2018_idioms)]

mod checks;
pub mod fixtures;
mod model;
mod support;

pub use checks::cancellation::check_cancelled_calls_leave_store_whole;
pub use checks::concurrency::{
    RACE_ROUNDS, ROTATE_TASKS, check_concurrent_revocations_count_once,
    check_concurrent_revoke_subject_and_rotate, check_concurrent_rotate_has_one_winner,
};
pub use checks::expiry::check_expiry_follows_callers_clock;
pub use checks::insert::{
    check_insert_duplicate_family_conflicts, check_insert_duplicate_token_conflicts,
    check_insert_then_status_returns_it, check_status_of_unknown_is_none,
    check_subjects_are_opaque,
};
pub use checks::instances::check_cross_instance_race;
pub use checks::purge::{
    check_purge_keeps_what_reuse_detection_needs, check_purge_removes_expired_records,
    check_purge_respects_batch,
};
pub use checks::reuse::{check_reuse_revokes_whole_family, check_revocation_keeps_first_reason};
pub use checks::revoke::{
    check_revoke_family_revokes_one_family, check_revoke_subject_revokes_all_its_families,
    check_revoke_token_revokes_its_family, check_revoke_unknown_is_zero,
};
pub use checks::rotate::{
    check_rotate_consumed_reports_child, check_rotate_consumed_reports_child_current_state,
    check_rotate_expired, check_rotate_into_existing_id_conflicts, check_rotate_live_token_rotates,
    check_rotate_revoked_checked_first, check_rotate_unknown_is_not_found,
    check_rotate_wrong_subject_is_not_found,
};
pub use model::{MODEL_CASES, MODEL_MAX_OPS, check_matches_memory_model};

/// Stamps out the whole suite as tests for one backend.
///
/// `$factory` is a path to an `async fn() -> auth_core::DynTokenStore` that returns a
/// fresh, isolated, empty store on every call. Each check becomes a
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` named after it. The
/// calling crate needs `tokio` (features `macros`, `rt-multi-thread`) as a dev-dependency.
/// See the [crate docs](crate) for an example.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::__with_single_store_checks!($crate::__stamp_checks; $factory);

        #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn check_matches_memory_model() {
            $crate::check_matches_memory_model($factory).await;
        }
    };
}

/// The one list of every check that takes a single fresh store: calls `$callback!` with
/// the given arguments, a `;`, and the check names. [`conformance_tests!`] and
/// [`single_store_checks`] both read it, so they cannot drift apart.
#[doc(hidden)]
#[macro_export]
macro_rules! __with_single_store_checks {
    ($($callback:ident)::+; $($args:tt)*) => {
        $($callback)::+! {
            $($args)*;
            check_insert_then_status_returns_it,
            check_insert_duplicate_family_conflicts,
            check_insert_duplicate_token_conflicts,
            check_status_of_unknown_is_none,
            check_subjects_are_opaque,
            check_rotate_live_token_rotates,
            check_rotate_consumed_reports_child,
            check_rotate_consumed_reports_child_current_state,
            check_rotate_revoked_checked_first,
            check_rotate_expired,
            check_rotate_unknown_is_not_found,
            check_rotate_wrong_subject_is_not_found,
            check_rotate_into_existing_id_conflicts,
            check_reuse_revokes_whole_family,
            check_revocation_keeps_first_reason,
            check_revoke_token_revokes_its_family,
            check_revoke_family_revokes_one_family,
            check_revoke_subject_revokes_all_its_families,
            check_revoke_unknown_is_zero,
            check_expiry_follows_callers_clock,
            check_purge_keeps_what_reuse_detection_needs,
            check_purge_removes_expired_records,
            check_purge_respects_batch,
            check_concurrent_rotate_has_one_winner,
            check_concurrent_revoke_subject_and_rotate,
            check_concurrent_revocations_count_once,
        }
    };
}

/// A boxed single-store check, as [`single_store_checks`] lists them.
pub type Check = fn(auth_core::DynTokenStore) -> futures::future::BoxFuture<'static, ()>;

macro_rules! check_list {
    (; $($check:ident),+ $(,)?) => {
        vec![$((stringify!($check), (|s| futures::FutureExt::boxed($check(s))) as Check)),+]
    };
}

/// Every check that takes one fresh store, by name: what [`conformance_tests!`] stamps,
/// except the model-based check. For harnesses that run the suite themselves (e.g. to
/// show that a deliberately broken store fails it).
pub fn single_store_checks() -> Vec<(&'static str, Check)> {
    __with_single_store_checks!(check_list;)
}

/// One test per check that takes a single fresh store; used by [`conformance_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __stamp_checks {
    ($factory:path; $($check:ident),+ $(,)?) => {$(
        #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $check() {
            $crate::$check($factory().await).await;
        }
    )+};
}
