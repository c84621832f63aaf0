//! Property tests standing in for a fuzzer on the token parser: arbitrary input never
//! panics and is never accepted, and no single-character change to a genuine token
//! survives verification.
#![allow(clippy::unwrap_used)] // a test may panic on what it did not expect

use std::sync::{Arc, OnceLock};

use auth_core::{Error, KeySet, MemoryStore, RefreshKind, SigningKey, TokenPair, TokenService};
use proptest::prelude::*;

fn service_and_pair() -> &'static (TokenService, TokenPair) {
    static CELL: OnceLock<(TokenService, TokenPair)> = OnceLock::new();
    CELL.get_or_init(|| {
        let service = TokenService::new(
            KeySet::new(SigningKey::generate_ed25519().unwrap()),
            Arc::new(MemoryStore::new()),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let pair = rt
            .block_on(service.login("alice", RefreshKind::ShortTerm))
            .unwrap();
        (service, pair)
    })
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";

proptest! {
    #[test]
    fn arbitrary_input_is_refused(input in ".{0,600}") {
        let (service, _) = service_and_pair();
        prop_assert!(matches!(service.verify_refresh(&input), Err(Error::InvalidToken(_))));
        prop_assert!(matches!(service.verify_access(&input), Err(Error::InvalidToken(_))));
    }

    #[test]
    fn arbitrary_three_part_tokens_are_refused(
        a in "[A-Za-z0-9_-]{0,200}", b in "[A-Za-z0-9_-]{0,400}", c in "[A-Za-z0-9_-]{0,120}"
    ) {
        let (service, _) = service_and_pair();
        let token = format!("{a}.{b}.{c}");
        prop_assert!(matches!(service.verify_refresh(&token), Err(Error::InvalidToken(_))));
    }

    #[test]
    fn any_single_character_change_is_refused(pos in any::<prop::sample::Index>(), pick in 0..ALPHABET.len(), access in any::<bool>()) {
        let (service, pair) = service_and_pair();
        let genuine = if access { &pair.access_token } else { &pair.refresh_token };
        let mut bytes = genuine.clone().into_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != ALPHABET[pick]);
        bytes[i] = ALPHABET[pick];
        let forged = String::from_utf8(bytes).unwrap();
        let result = if access {
            service.verify_access(&forged).map(|_| ())
        } else {
            service.verify_refresh(&forged).map(|_| ())
        };
        prop_assert!(matches!(result, Err(Error::InvalidToken(_))), "accepted {forged}");
    }
}
