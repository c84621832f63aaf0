//! Running one generated sequence against the store under test and the reference.

use std::fmt::Write as _;

use auth_core::time::{Duration, OffsetDateTime};
use auth_core::uuid::Uuid;
use auth_core::{
    Error, Family, FamilyId, MemoryStore, NewToken, RevokeReason, Rotation, TokenId, TokenState,
    TokenStore,
};

use super::ops::{Op, Pick, SUBJECTS, Who};
use crate::fixtures::{epoch, whole_seconds};
use crate::support::describe;

/// Big enough that one purge deletes everything a sequence can create, so which records
/// a purge deletes does not depend on the order a store visits them in.
const PURGE_BATCH: u32 = 10_000;

/// One call on the store, with concrete ids and times.
#[derive(Debug, Clone)]
pub(super) enum Call {
    InsertFamily(Family, NewToken),
    Rotate(String, TokenId, NewToken, OffsetDateTime),
    RevokeToken(String, TokenId, RevokeReason, OffsetDateTime),
    RevokeFamily(String, FamilyId, RevokeReason, OffsetDateTime),
    RevokeSubject(String, RevokeReason, OffsetDateTime),
    TokenStatus(String, TokenId),
    FamilyStatus(String, FamilyId),
    Purge(OffsetDateTime, u32),
}

/// What a call returned. Errors compare by variant only.
#[derive(Debug)]
pub(super) enum Outcome {
    Inserted,
    Rotation(Rotation),
    Count(u64),
    Token(Option<TokenState>),
    Family(Option<Family>),
    Failed {
        variant: &'static str,
        #[expect(dead_code, reason = "read through Debug, in the failure trace")]
        detail: String,
    },
}

impl PartialEq for Outcome {
    fn eq(&self, other: &Self) -> bool {
        use Outcome::*;
        match (self, other) {
            (Inserted, Inserted) => true,
            (Rotation(a), Rotation(b)) => a == b,
            (Count(a), Count(b)) => a == b,
            (Token(a), Token(b)) => a == b,
            (Family(a), Family(b)) => a == b,
            (Failed { variant: a, .. }, Failed { variant: b, .. }) => a == b,
            _ => false,
        }
    }
}

fn failed(e: &Error) -> Outcome {
    let variant = match e {
        Error::InvalidToken(_) => "InvalidToken",
        Error::Unavailable { .. } => "Unavailable",
        Error::Conflict { .. } => "Conflict",
        Error::Corrupt { .. } => "Corrupt",
        Error::Backend { .. } => "Backend",
        Error::Key { .. } => "Key",
        _ => "(another variant)",
    };
    Outcome::Failed {
        variant,
        detail: describe(e),
    }
}

fn outcome<T>(result: auth_core::Result<T>, wrap: impl FnOnce(T) -> Outcome) -> Outcome {
    match result {
        Ok(v) => wrap(v),
        Err(e) => failed(&e),
    }
}

pub(super) async fn apply(store: &dyn TokenStore, call: &Call) -> Outcome {
    match call {
        Call::InsertFamily(f, t) => {
            outcome(store.insert_family(f, t).await, |()| Outcome::Inserted)
        }
        Call::Rotate(s, old, new, now) => {
            outcome(store.rotate(s, *old, new, *now).await, Outcome::Rotation)
        }
        Call::RevokeToken(s, id, r, now) => {
            outcome(store.revoke_token(s, *id, *r, *now).await, Outcome::Count)
        }
        Call::RevokeFamily(s, id, r, now) => {
            outcome(store.revoke_family(s, *id, *r, *now).await, Outcome::Count)
        }
        Call::RevokeSubject(s, r, now) => {
            outcome(store.revoke_subject(s, *r, *now).await, Outcome::Count)
        }
        Call::TokenStatus(s, id) => outcome(store.token_status(s, *id).await, Outcome::Token),
        Call::FamilyStatus(s, id) => outcome(store.family_status(s, *id).await, Outcome::Family),
        Call::Purge(now, batch) => outcome(store.purge_expired(*now, *batch).await, Outcome::Count),
    }
}

/// A token id the sequence has used, under which subject, and until when it lives.
#[derive(Debug, Clone, Copy)]
struct UsedToken {
    id: TokenId,
    subject: usize,
    expires_at: OffsetDateTime,
}

/// Turns generated operations into calls: keeps the clock and every id used so far.
///
/// Ids are numbered (tokens `…-8001-00000000000N`, families `…-8002-…`) so failure output
/// is readable; every case runs on a fresh store, so they never collide across cases.
#[derive(Debug)]
struct Resolver {
    now: OffsetDateTime,
    tokens: Vec<UsedToken>,
    families: Vec<(FamilyId, usize)>,
    next: u128,
}

impl Resolver {
    fn new() -> Self {
        Resolver {
            now: epoch(),
            tokens: Vec::new(),
            families: Vec::new(),
            next: 0,
        }
    }

    fn uuid(&mut self, kind: u128) -> Uuid {
        self.next += 1;
        Uuid::from_u128((0x4000_8000 | kind) << 48 | self.next)
    }

    /// `iat` and `exp` of a token minted now, in whole seconds like a JWT's.
    fn lifetime(&self, ttl_minutes: i64) -> (OffsetDateTime, OffsetDateTime) {
        let issued_at = whole_seconds(self.now);
        (issued_at, issued_at + Duration::minutes(ttl_minutes))
    }

    /// A never-used token id minted now for `subject`, remembered for later picks.
    fn new_token(&mut self, subject: usize, ttl_minutes: i64) -> NewToken {
        let (issued_at, expires_at) = self.lifetime(ttl_minutes);
        let token = NewToken {
            id: TokenId::from_uuid(self.uuid(1)),
            issued_at,
            expires_at,
        };
        self.tokens.push(UsedToken {
            id: token.id,
            subject,
            expires_at: token.expires_at,
        });
        token
    }

    /// A used token (and its subject), or a never-used id.
    fn token(&mut self, pick: &Pick) -> (TokenId, usize) {
        match pick {
            Pick::Known(ix) if !self.tokens.is_empty() => {
                let t = self.tokens[ix.index(self.tokens.len())];
                (t.id, t.subject)
            }
            _ => (TokenId::from_uuid(self.uuid(1)), 0),
        }
    }

    fn family(&mut self, pick: &Pick) -> (FamilyId, usize) {
        match pick {
            Pick::Known(ix) if !self.families.is_empty() => {
                self.families[ix.index(self.families.len())]
            }
            _ => (FamilyId::from_uuid(self.uuid(2)), 0),
        }
    }

    fn subject(who: Who, owner: usize) -> String {
        let index = match who {
            Who::Owner => owner,
            Who::Subject(i) => i,
        };
        SUBJECTS[index % SUBJECTS.len()].to_owned()
    }

    /// The call for `op`, or `None` if it only moves the clock.
    fn resolve(&mut self, op: &Op) -> Option<Call> {
        let now = self.now;
        Some(match op {
            Op::Login {
                subject,
                long_term,
                ttl_minutes,
                family,
                token,
            } => {
                let subject = *subject % SUBJECTS.len();
                let (family_id, _) = self.family(family);
                if matches!(family, Pick::Fresh) || self.families.is_empty() {
                    self.families.push((family_id, subject));
                }
                let first = match token {
                    Pick::Known(_) if !self.tokens.is_empty() => {
                        let (taken, _) = self.token(token);
                        let (issued_at, expires_at) = self.lifetime(*ttl_minutes);
                        NewToken {
                            id: taken,
                            issued_at,
                            expires_at,
                        }
                    }
                    _ => self.new_token(subject, *ttl_minutes),
                };
                let family = Family {
                    id: family_id,
                    subject: SUBJECTS[subject].to_owned(),
                    long_term: *long_term,
                    created_at: now,
                    revoked: None,
                };
                Call::InsertFamily(family, first)
            }
            Op::Rotate {
                who,
                token,
                ttl_minutes,
            } => {
                let (old, owner) = self.token(token);
                let new = self.new_token(owner, *ttl_minutes);
                Call::Rotate(Self::subject(*who, owner), old, new, now)
            }
            Op::RevokeToken { who, token, reason } => {
                let (id, owner) = self.token(token);
                Call::RevokeToken(Self::subject(*who, owner), id, *reason, now)
            }
            Op::RevokeFamily {
                who,
                family,
                reason,
            } => {
                let (id, owner) = self.family(family);
                Call::RevokeFamily(Self::subject(*who, owner), id, *reason, now)
            }
            Op::RevokeSubject { subject, reason } => {
                Call::RevokeSubject(Self::subject(Who::Subject(*subject), 0), *reason, now)
            }
            Op::TokenStatus { who, token } => {
                let (id, owner) = self.token(token);
                Call::TokenStatus(Self::subject(*who, owner), id)
            }
            Op::FamilyStatus { who, family } => {
                let (id, owner) = self.family(family);
                Call::FamilyStatus(Self::subject(*who, owner), id)
            }
            Op::Purge => Call::Purge(now, PURGE_BATCH),
            Op::Advance { minutes, micros } => {
                self.now += Duration::minutes(*minutes) + Duration::microseconds(*micros);
                return None;
            }
            Op::AdvanceToExpiry { token } => {
                if let Some(t) = self.tokens.get(token.index(self.tokens.len().max(1))) {
                    self.now = self.now.max(t.expires_at);
                }
                return None;
            }
        })
    }
}

/// Runs `ops` on `store` and on two fresh [`MemoryStore`]s: one that purges as told and
/// one that never purges. Each outcome of `store` must equal the purging reference's, or
/// the never-purging one's (a TTL-based store may keep expired records until their TTL
/// runs out in real time, and report 0 from `purge_expired`). Before the first purge
/// both references agree, so every outcome is then compared exactly.
///
/// Returns a description of the first disagreement with the trace so far.
pub(super) async fn run(store: &dyn TokenStore, ops: &[Op]) -> Result<(), String> {
    let purging = MemoryStore::new();
    let unpurged = MemoryStore::new();
    let mut resolver = Resolver::new();
    let mut trace = String::new();
    for (step, op) in ops.iter().enumerate() {
        let Some(call) = resolver.resolve(op) else {
            let _ = writeln!(trace, "{step:>3}: {op:?} -> now = {}", resolver.now);
            continue;
        };
        let got = apply(store, &call).await;
        let want = apply(&purging, &call).await;
        let alternative = match call {
            Call::Purge(..) => Outcome::Count(0),
            _ => apply(&unpurged, &call).await,
        };
        let _ = writeln!(trace, "{step:>3}: {call:?}\n     -> {got:?}");
        if got != want && got != alternative {
            let _ = write!(
                trace,
                "\nThe store under test disagrees with MemoryStore at step {step}.\n\
                 store under test: {got:?}\n\
                 MemoryStore:      {want:?}"
            );
            if want != alternative {
                let _ = write!(
                    trace,
                    "\nor, keeping expired records as a TTL store may: {alternative:?}"
                );
            }
            return Err(trace);
        }
    }
    Ok(())
}
