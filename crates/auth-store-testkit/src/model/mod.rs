//! The model-based check: random operation sequences applied to the store under test and
//! to [`MemoryStore`](auth_core::MemoryStore), every outcome compared.
//!
//! proptest generates and shrinks the sequences, but its `TestRunner::run` wants a
//! synchronous test closure, and this check is async (and may already run inside a
//! runtime of either flavour). So the check drives proptest's value trees itself: it draws
//! a case, runs it with `.await`, and on failure walks `simplify`/`complicate` exactly as
//! `TestRunner` would, re-running each candidate on a fresh store.

use std::future::Future;

use auth_core::DynTokenStore;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};

mod ops;
mod run;

use ops::Op;

/// How many sequences are tried unless `AUTH_STORE_TESTKIT_CASES` says otherwise: few
/// enough to take seconds against a database over the network.
pub const MODEL_CASES: u32 = 32;
/// The longest generated sequence.
pub const MODEL_MAX_OPS: usize = 64;
/// How many candidate sequences shrinking may run after a failure.
const MAX_SHRINK_RUNS: u32 = 256;

const CLAUSE: &str = "the store gives MemoryStore's outcomes for any operation sequence";

fn cases() -> u32 {
    match std::env::var("AUTH_STORE_TESTKIT_CASES") {
        Err(_) => MODEL_CASES,
        Ok(v) => match v.parse() {
            Ok(n) => n,
            Err(_) => panic!("AUTH_STORE_TESTKIT_CASES must be a number of cases, not {v:?}"),
        },
    }
}

/// Random sequences of every store operation (logins, rotations of known and unknown
/// ids, under the owner's and other subjects, revocations of all three kinds, status
/// reads, purges) with a clock moving forward by minutes to hours and onto exact expiry
/// instants, applied to a fresh store from `factory` and to a fresh `MemoryStore`; every
/// outcome must match (`Ok` values exactly, errors by variant).
///
/// A purge may also be answered as a TTL-based store would: with 0, keeping the expired
/// records (see the purge checks). On a mismatch the sequence is shrunk and the failure
/// prints the smallest failing sequence with every call and outcome.
///
/// `factory` must return an empty store that no other test touches (ids repeat across
/// cases). The number of cases is [`MODEL_CASES`], or `AUTH_STORE_TESTKIT_CASES`.
pub async fn check_matches_memory_model<F, Fut>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = DynTokenStore>,
{
    let cases = cases();
    let mut config = Config::with_cases(cases);
    config.failure_persistence = None;
    let mut runner = TestRunner::new(config);
    let strategy = ops::sequences(MODEL_MAX_OPS);

    for case in 0..cases {
        let tree = match strategy.new_tree(&mut runner) {
            Ok(tree) => tree,
            Err(reason) => panic!("{CLAUSE}: could not generate a sequence: {reason}"),
        };
        let ops = tree.current();
        if let Err(trace) = run_on_fresh_store(&factory, &ops).await {
            let (smallest, trace, runs) = shrink(&factory, tree, ops.clone(), trace).await;
            panic!(
                "{CLAUSE}: case {case} of {cases} failed ({} operations, shrunk to {} in \
                 {runs} runs).\n\nOperations:\n{}\nCalls and the store's outcomes:\n{trace}",
                ops.len(),
                smallest.len(),
                numbered(&smallest),
            );
        }
    }
}

async fn run_on_fresh_store<F, Fut>(factory: &F, ops: &[Op]) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = DynTokenStore>,
{
    let store = factory().await;
    run::run(&*store, ops).await
}

/// The smallest failing sequence proptest's shrinking finds (within a bounded number of
/// runs), its failure, and how many runs it took.
async fn shrink<F, Fut, T>(
    factory: &F,
    mut tree: T,
    mut smallest: Vec<Op>,
    mut failure: String,
) -> (Vec<Op>, String, u32)
where
    F: Fn() -> Fut,
    Fut: Future<Output = DynTokenStore>,
    T: ValueTree<Value = Vec<Op>>,
{
    let mut runs = 0;
    if !tree.simplify() {
        return (smallest, failure, runs);
    }
    while runs < MAX_SHRINK_RUNS {
        runs += 1;
        let candidate = tree.current();
        match run_on_fresh_store(factory, &candidate).await {
            Err(trace) => {
                smallest = candidate;
                failure = trace;
                if !tree.simplify() {
                    break;
                }
            }
            Ok(()) => {
                if !tree.complicate() {
                    break;
                }
            }
        }
    }
    (smallest, failure, runs)
}

fn numbered(ops: &[Op]) -> String {
    ops.iter()
        .enumerate()
        .map(|(i, op)| format!("{i:>3}: {op:?}\n"))
        .collect()
}
