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

/// The index of the `n`th most recent of `len` (> 0) entries, wrapping around.
fn recent(len: usize, n: usize) -> usize {
    len - 1 - n % len
}

/// A token the reference store holds, whose, and until when it lives.
#[derive(Debug, Clone, Copy)]
struct KnownToken {
    id: TokenId,
    subject: usize,
    expires_at: OffsetDateTime,
}

/// Turns generated operations into calls: keeps the clock, and every token and family
/// the reference store accepted, for later operations to pick.
///
/// Ids are numbered (tokens `…-8001-00000000000N`, families `…-8002-…`) so failure output
/// is readable; every case runs on a fresh store, so they never collide across cases.
///
/// A login may reuse an id (to provoke `Conflict`) only of its own subject, and a
/// rotation's new id is always fresh: ids need only be unique per subject, so no generated
/// sequence depends on whether a store also refuses ids held by another subject.
#[derive(Debug)]
struct Resolver {
    now: OffsetDateTime,
    tokens: Vec<KnownToken>,
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

    /// A never-used token id, minted now, living `ttl_minutes` (whole seconds, like a JWT).
    fn new_token(&mut self, ttl_minutes: i64) -> NewToken {
        let issued_at = whole_seconds(self.now);
        NewToken {
            id: TokenId::from_uuid(self.uuid(1)),
            issued_at,
            expires_at: issued_at + Duration::minutes(ttl_minutes),
        }
    }

    /// A known token (and its owner), or a never-used id.
    fn token(&mut self, pick: &Pick) -> (TokenId, usize) {
        match pick {
            Pick::Recent(n) if !self.tokens.is_empty() => {
                let t = self.tokens[recent(self.tokens.len(), *n)];
                (t.id, t.subject)
            }
            _ => (TokenId::from_uuid(self.uuid(1)), 0),
        }
    }

    /// For a login by `subject`: one of that subject's own tokens, or a never-used id.
    /// Never another subject's: whether a store refuses an id that another subject holds
    /// is unspecified, and MemoryStore does.
    fn own_token(&mut self, pick: &Pick, subject: usize) -> TokenId {
        let own: Vec<TokenId> = self
            .tokens
            .iter()
            .filter(|t| t.subject == subject)
            .map(|t| t.id)
            .collect();
        match pick {
            Pick::Recent(n) if !own.is_empty() => own[recent(own.len(), *n)],
            _ => TokenId::from_uuid(self.uuid(1)),
        }
    }

    /// For a login by `subject`: one of that subject's own families, or a never-used id
    /// (see [`Resolver::own_token`]).
    fn own_family(&mut self, pick: &Pick, subject: usize) -> FamilyId {
        let own: Vec<FamilyId> = self
            .families
            .iter()
            .filter(|(_, owner)| *owner == subject)
            .map(|(id, _)| *id)
            .collect();
        match pick {
            Pick::Recent(n) if !own.is_empty() => own[recent(own.len(), *n)],
            _ => FamilyId::from_uuid(self.uuid(2)),
        }
    }

    fn family(&mut self, pick: &Pick) -> (FamilyId, usize) {
        match pick {
            Pick::Recent(n) if !self.families.is_empty() => {
                self.families[recent(self.families.len(), *n)]
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

    /// Remembers what the reference store accepted, so later picks hit real records.
    fn learn(&mut self, call: &Call, reference: &Outcome) {
        let subject = |name: &str| SUBJECTS.iter().position(|s| *s == name).unwrap_or(0);
        match (call, reference) {
            (Call::InsertFamily(family, first), Outcome::Inserted) => {
                let owner = subject(&family.subject);
                self.families.push((family.id, owner));
                self.tokens.push(KnownToken {
                    id: first.id,
                    subject: owner,
                    expires_at: first.expires_at,
                });
            }
            (Call::Rotate(_, _, new, _), Outcome::Rotation(Rotation::Rotated { family })) => {
                self.tokens.push(KnownToken {
                    id: new.id,
                    subject: subject(&family.subject),
                    expires_at: new.expires_at,
                });
            }
            _ => {}
        }
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
                let family = self.own_family(family, subject);
                let mut first = self.new_token(*ttl_minutes);
                if let Pick::Recent(_) = token {
                    first.id = self.own_token(token, subject);
                }
                let family = Family {
                    id: family,
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
                let new = self.new_token(*ttl_minutes);
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
            Op::RevokeSubject { who, token, reason } => {
                let (_, owner) = self.token(token);
                Call::RevokeSubject(Self::subject(*who, owner), *reason, now)
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
                if !self.tokens.is_empty() {
                    let t = self.tokens[recent(self.tokens.len(), *token)];
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
        resolver.learn(&call, &want);
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
