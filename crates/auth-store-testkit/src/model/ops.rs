//! The operations the model-based check generates, and their proptest strategies.

use auth_core::RevokeReason;
use proptest::prelude::*;
use proptest::strategy::SBoxedStrategy;

/// The subjects operations run under (one with braces, for hash-tagging stores).
pub(super) const SUBJECTS: [&str; 3] = ["alice", "bob", "carol{x}"];

/// Token lifetimes, in minutes: all long enough that no record vanishes in real time.
const TTL_MINUTES: [i64; 3] = [10, 60, 180];

/// Which id an operation names: a never-used one, or the `n`th most recent one the
/// reference store accepted (for a login, of the logging-in subject only). Counting from
/// the most recent keeps a pick's meaning when shrinking removes earlier operations.
#[derive(Debug, Clone)]
pub(super) enum Pick {
    Fresh,
    Recent(usize),
}

/// Under which subject an operation names an id: the one it was created under, or any.
#[derive(Debug, Clone, Copy)]
pub(super) enum Who {
    Owner,
    Subject(usize),
}

/// One generated step.
#[derive(Debug, Clone)]
pub(super) enum Op {
    Login {
        subject: usize,
        long_term: bool,
        ttl_minutes: i64,
        family: Pick,
        token: Pick,
    },
    Rotate {
        who: Who,
        token: Pick,
        ttl_minutes: i64,
    },
    RevokeToken {
        who: Who,
        token: Pick,
        reason: RevokeReason,
    },
    RevokeFamily {
        who: Who,
        family: Pick,
        reason: RevokeReason,
    },
    /// Revokes the subject `who` names for the picked token (usually its owner).
    RevokeSubject {
        who: Who,
        token: Pick,
        reason: RevokeReason,
    },
    TokenStatus {
        who: Who,
        token: Pick,
    },
    FamilyStatus {
        who: Who,
        family: Pick,
    },
    Purge,
    /// Moves the clock forward.
    Advance {
        minutes: i64,
        micros: i64,
    },
    /// Moves the clock to exactly the expiry of the `token`th most recent token, if that
    /// is ahead.
    AdvanceToExpiry {
        token: usize,
    },
}

/// How far back a pick reaches: the last few ids, parents and grandparents included.
fn recent() -> impl Strategy<Value = usize> {
    prop_oneof![3 => 0..3usize, 1 => 0..12usize]
}

/// Mostly ids seen before, so operations hit records; sometimes unknown ones.
fn known() -> impl Strategy<Value = Pick> {
    prop_oneof![
        1 => Just(Pick::Fresh),
        8 => recent().prop_map(Pick::Recent),
    ]
}

/// Mostly new ids, sometimes one the subject already has (to provoke `Conflict`).
fn fresh() -> impl Strategy<Value = Pick> {
    prop_oneof![
        12 => Just(Pick::Fresh),
        1 => recent().prop_map(Pick::Recent),
    ]
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        5 => Just(Who::Owner),
        1 => (0..SUBJECTS.len()).prop_map(Who::Subject),
    ]
}

fn subject() -> impl Strategy<Value = usize> {
    0..SUBJECTS.len()
}

fn reason() -> impl Strategy<Value = RevokeReason> {
    prop_oneof![
        Just(RevokeReason::Reuse),
        Just(RevokeReason::Revoked),
        Just(RevokeReason::Logout),
    ]
}

fn ttl() -> impl Strategy<Value = i64> {
    proptest::sample::select(&TTL_MINUTES[..])
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (subject(), any::<bool>(), ttl(), fresh(), fresh()).prop_map(
            |(subject, long_term, ttl_minutes, family, token)| Op::Login {
                subject,
                long_term,
                ttl_minutes,
                family,
                token,
            }
        ),
        7 => (who(), known(), ttl()).prop_map(|(who, token, ttl_minutes)| Op::Rotate {
            who,
            token,
            ttl_minutes,
        }),
        2 => (who(), known(), reason())
            .prop_map(|(who, token, reason)| Op::RevokeToken { who, token, reason }),
        1 => (who(), known(), reason())
            .prop_map(|(who, family, reason)| Op::RevokeFamily { who, family, reason }),
        2 => (who(), known(), reason())
            .prop_map(|(who, token, reason)| Op::RevokeSubject { who, token, reason }),
        2 => (who(), known()).prop_map(|(who, token)| Op::TokenStatus { who, token }),
        1 => (who(), known()).prop_map(|(who, family)| Op::FamilyStatus { who, family }),
        3 => Just(Op::Purge),
        3 => (prop_oneof![Just(1i64), Just(9), Just(35), Just(70), Just(200)], 0..1_000_000i64)
            .prop_map(|(minutes, micros)| Op::Advance { minutes, micros }),
        2 => recent().prop_map(|token| Op::AdvanceToExpiry { token }),
    ]
}

/// Sequences of up to `max_len` operations.
pub(super) fn sequences(max_len: usize) -> SBoxedStrategy<Vec<Op>> {
    proptest::collection::vec(op(), 1..=max_len).sboxed()
}
