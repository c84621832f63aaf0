//! What minting, verifying and refreshing cost, beside the raw signature work they need.
//!
//! The floor is that signature work done directly with aws-lc-rs and a key parsed once:
//! 2 signs for a login, 1 verify for an access check, 1 verify + 2 signs for a refresh.
//! Criterion reports absolute times; the ratio table at the end comes from interleaved
//! rounds of operation and floor, so machine noise hits both alike.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_tokens::{Algorithm, KeySet, MemoryStore, RefreshKind, SigningKey, TokenService};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaKeyPair,
};
use criterion::Criterion;
use tokio::runtime::Runtime;

type SignFn = Box<dyn Fn(&[u8]) -> Vec<u8>>;
type VerifyFn = Box<dyn Fn(&[u8], &[u8])>;
type Row<'a> = (&'a str, &'a dyn Fn(), &'a dyn Fn());

/// The raw signature primitives for one algorithm, keys parsed once.
struct Floor {
    sign: SignFn,
    verify: VerifyFn,
}

fn floor(key: &SigningKey) -> Floor {
    let pem = key.to_pkcs8_pem();
    let der = pem::parse(pem).expect("pem").into_contents();
    let rng = SystemRandom::new();
    match key.algorithm() {
        alg @ (Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512) => {
            let (enc, ver): (&'static dyn signature::RsaEncoding, _) = match alg {
                Algorithm::RS256 => (
                    &signature::RSA_PKCS1_SHA256,
                    &signature::RSA_PKCS1_2048_8192_SHA256,
                ),
                Algorithm::RS384 => (
                    &signature::RSA_PKCS1_SHA384,
                    &signature::RSA_PKCS1_2048_8192_SHA384,
                ),
                _ => (
                    &signature::RSA_PKCS1_SHA512,
                    &signature::RSA_PKCS1_2048_8192_SHA512,
                ),
            };
            let kp = RsaKeyPair::from_pkcs8(&der).expect("rsa");
            let public = ParsedPublicKey::new(ver, kp.public_key().as_ref()).expect("parsed");
            Floor {
                sign: Box::new(move |m| {
                    let mut sig = vec![0; kp.public_modulus_len()];
                    kp.sign(enc, &rng, m, &mut sig).expect("sign");
                    sig
                }),
                verify: Box::new(move |m, s| public.verify_sig(m, s).expect("verify")),
            }
        }
        Algorithm::ES256 => {
            let kp = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .expect("ec");
            let public = ParsedPublicKey::new(
                &signature::ECDSA_P256_SHA256_FIXED,
                kp.public_key().as_ref(),
            )
            .expect("parsed");
            Floor {
                sign: Box::new(move |m| kp.sign(&rng, m).expect("sign").as_ref().to_vec()),
                verify: Box::new(move |m, s| public.verify_sig(m, s).expect("verify")),
            }
        }
        _ => {
            let kp = Ed25519KeyPair::from_pkcs8(&der).expect("ed25519");
            let public = ParsedPublicKey::new(&signature::ED25519, kp.public_key().as_ref())
                .expect("parsed");
            Floor {
                sign: Box::new(move |m| kp.sign(m).as_ref().to_vec()),
                verify: Box::new(move |m, s| public.verify_sig(m, s).expect("verify")),
            }
        }
    }
}

struct Subject {
    name: &'static str,
    rt: Runtime,
    service: TokenService,
    floor: Floor,
    /// A representative signing input (header.payload of a real refresh token).
    message: Vec<u8>,
    signature: Vec<u8>,
    access_token: String,
    refresh_token: std::cell::RefCell<String>,
}

impl Subject {
    fn new(name: &'static str, alg: Algorithm) -> Self {
        let key = SigningKey::generate(alg).expect("keygen");
        let floor = floor(&key);
        let service = TokenService::new(KeySet::new(key), Arc::new(MemoryStore::new()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let pair = rt
            .block_on(service.login("bench-user", RefreshKind::LongTerm))
            .expect("login");
        let (message, _) = pair.refresh_token.rsplit_once('.').expect("jws");
        let message = message.as_bytes().to_vec();
        let signature = (floor.sign)(&message);
        Subject {
            name,
            rt,
            service,
            floor,
            message,
            signature,
            access_token: pair.access_token,
            refresh_token: std::cell::RefCell::new(pair.refresh_token),
        }
    }

    fn login(&self) {
        black_box(
            self.rt
                .block_on(self.service.login("bench-user", RefreshKind::LongTerm))
                .expect("login"),
        );
    }
    fn verify(&self) {
        black_box(
            self.service
                .verify_access(&self.access_token)
                .expect("verify"),
        );
    }
    fn refresh(&self) {
        let old = self.refresh_token.borrow().clone();
        let pair = self
            .rt
            .block_on(self.service.refresh(&old))
            .expect("refresh");
        *self.refresh_token.borrow_mut() = pair.refresh_token;
    }
    fn floor_sign2(&self) {
        black_box((self.floor.sign)(&self.message));
        black_box((self.floor.sign)(&self.message));
    }
    fn floor_verify(&self) {
        (self.floor.verify)(&self.message, &self.signature);
    }
    fn floor_refresh(&self) {
        self.floor_verify();
        self.floor_sign2();
    }
}

fn subjects() -> Vec<Subject> {
    vec![
        Subject::new("RS512", Algorithm::RS512),
        Subject::new("RS256", Algorithm::RS256),
        Subject::new("ES256", Algorithm::ES256),
        Subject::new("EdDSA", Algorithm::EdDSA),
    ]
}

fn criterion_benches(c: &mut Criterion, subjects: &[Subject]) {
    for s in subjects {
        let mut g = c.benchmark_group(s.name);
        g.bench_function("login (mint pair)", |b| b.iter(|| s.login()));
        g.bench_function("floor: 2 signs", |b| b.iter(|| s.floor_sign2()));
        g.bench_function("verify access", |b| b.iter(|| s.verify()));
        g.bench_function("floor: 1 verify", |b| b.iter(|| s.floor_verify()));
        g.bench_function("refresh (memory store)", |b| b.iter(|| s.refresh()));
        g.bench_function("floor: 1 verify + 2 signs", |b| {
            b.iter(|| s.floor_refresh())
        });
        g.finish();
    }
}

/// Median per-call time of `op` and of `floor`, measured in alternating rounds.
fn interleaved(op: &dyn Fn(), floor: &dyn Fn(), budget: Duration) -> (Duration, Duration) {
    let per_round = {
        let t = Instant::now();
        op();
        floor();
        (Duration::from_millis(20).as_nanos() / t.elapsed().as_nanos().max(1)).clamp(1, 10_000)
            as u32
    };
    let (mut ops, mut floors) = (Vec::new(), Vec::new());
    let start = Instant::now();
    while start.elapsed() < budget || ops.len() < 15 {
        let t = Instant::now();
        for _ in 0..per_round {
            op();
        }
        ops.push(t.elapsed() / per_round);
        let t = Instant::now();
        for _ in 0..per_round {
            floor();
        }
        floors.push(t.elapsed() / per_round);
    }
    ops.sort();
    floors.sort();
    (ops[ops.len() / 2], floors[floors.len() / 2])
}

fn ratio_table(subjects: &[Subject], budget: Duration) {
    println!(
        "\n{:<6} {:<24} {:>12} {:>12} {:>7}",
        "alg", "operation", "time", "floor", "ratio"
    );
    for s in subjects {
        let rows: [Row<'_>; 3] = [
            ("login (mint pair)", &|| s.login(), &|| s.floor_sign2()),
            ("verify access", &|| s.verify(), &|| s.floor_verify()),
            ("refresh (memory store)", &|| s.refresh(), &|| {
                s.floor_refresh()
            }),
        ];
        for (name, op, fl) in rows {
            let (t, f) = interleaved(op, fl, budget);
            println!(
                "{:<6} {:<24} {:>10.1}µs {:>10.1}µs {:>6.2}x",
                s.name,
                name,
                t.as_secs_f64() * 1e6,
                f.as_secs_f64() * 1e6,
                t.as_secs_f64() / f.as_secs_f64()
            );
        }
    }
}

fn main() {
    let subjects = subjects();
    let mut c = Criterion::default().configure_from_args();
    // `cargo test --benches` runs each bench once to prove it works; skip the slow table then.
    let quick = std::env::args().any(|a| a == "--test" || a == "--list");
    criterion_benches(&mut c, &subjects);
    c.final_summary();
    if !quick {
        ratio_table(&subjects, Duration::from_secs(3));
    }
}
