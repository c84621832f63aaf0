//! Signing and verifying keys, the key set, and its JWKS.
//!
//! Signing uses aws-lc-rs key pairs parsed once: re-parsing an RSA key per token costs more
//! than the signature itself. aws-lc-rs is also the source of randomness and digests, so
//! the crate depends on one crypto provider.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaKeyPair, VerificationAlgorithm,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// A JWS algorithm this crate signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (the default for RSA keys).
    RS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    /// The JOSE name (`alg` header value).
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    fn is_rsa(self) -> bool {
        matches!(self, Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512)
    }

    fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
            Algorithm::EdDSA => &signature::ED25519,
        }
    }

    pub(crate) fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::RS384 => jsonwebtoken::Algorithm::RS384,
            Algorithm::RS512 => jsonwebtoken::Algorithm::RS512,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "RS256" => Algorithm::RS256,
            "RS384" => Algorithm::RS384,
            "RS512" => Algorithm::RS512,
            "ES256" => Algorithm::ES256,
            "EdDSA" => Algorithm::EdDSA,
            _ => return Err(Error::key(format!("unsupported algorithm {s:?}"))),
        })
    }
}

enum Signer {
    Rsa(RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A private key that signs tokens. Its `Debug` output never shows key material.
pub struct SigningKey {
    signer: Signer,
    public: VerifyingKey,
    pkcs8: Vec<u8>,
    header: String,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.public.kid)
            .field("alg", &self.public.alg)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl SigningKey {
    /// Loads a PEM private key: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1
    /// (`EC PRIVATE KEY`). RSA keys sign with `alg` (RS256/RS384/RS512, default RS512);
    /// P-256 keys with ES256 and Ed25519 keys with EdDSA, where `alg`, if given, must agree.
    ///
    /// # Errors
    /// [`Error::Key`] if the PEM cannot be parsed, the key type is unsupported, or `alg`
    /// does not fit the key.
    pub fn from_pem(pem: &[u8], alg: Option<Algorithm>) -> Result<Self> {
        let block = pem::parse(pem).map_err(|e| Error::key_with("not a PEM file", e))?;
        let der = block.contents();
        let rsa_alg = |alg: Option<Algorithm>| match alg {
            None => Ok(Algorithm::RS512),
            Some(a) if a.is_rsa() => Ok(a),
            Some(a) => Err(Error::key(format!("an RSA key cannot sign {a}"))),
        };
        match block.tag() {
            "RSA PRIVATE KEY" => {
                let kp = RsaKeyPair::from_der(der)
                    .map_err(|e| Error::key_with("bad PKCS#1 RSA key", e))?;
                Self::rsa(kp, rsa_alg(alg)?)
            }
            "EC PRIVATE KEY" => {
                let kp = EcdsaKeyPair::from_private_key_der(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    der,
                )
                .map_err(|e| Error::key_with("bad SEC1 key (only P-256 is supported)", e))?;
                Self::ecdsa(kp, alg)
            }
            "PRIVATE KEY" => {
                if let Ok(kp) = RsaKeyPair::from_pkcs8(der) {
                    Self::rsa(kp, rsa_alg(alg)?)
                } else if let Ok(kp) =
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                {
                    Self::ecdsa(kp, alg)
                } else if let Ok(kp) = Ed25519KeyPair::from_pkcs8(der) {
                    Self::ed25519(kp, alg)
                } else {
                    Err(Error::key(
                        "unsupported PKCS#8 key: expected RSA, EC P-256 or Ed25519",
                    ))
                }
            }
            other => Err(Error::key(format!(
                "expected a PEM private key, found {other:?}"
            ))),
        }
    }

    /// Generates a fresh RSA-2048 key signing with `alg` (RS256/RS384/RS512).
    ///
    /// # Errors
    /// [`Error::Key`] if `alg` is not an RSA algorithm or generation fails.
    pub fn generate_rsa(alg: Algorithm) -> Result<Self> {
        if !alg.is_rsa() {
            return Err(Error::key(format!("{alg} is not an RSA algorithm")));
        }
        let kp = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|e| Error::key_with("RSA key generation failed", e))?;
        Self::rsa(kp, alg)
    }

    /// Generates a fresh P-256 key (ES256).
    ///
    /// # Errors
    /// [`Error::Key`] if generation fails.
    pub fn generate_p256() -> Result<Self> {
        let kp = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|e| Error::key_with("P-256 key generation failed", e))?;
        Self::ecdsa(kp, None)
    }

    /// Generates a fresh Ed25519 key (EdDSA).
    ///
    /// # Errors
    /// [`Error::Key`] if generation fails.
    pub fn generate_ed25519() -> Result<Self> {
        let kp = Ed25519KeyPair::generate()
            .map_err(|e| Error::key_with("Ed25519 key generation failed", e))?;
        Self::ed25519(kp, None)
    }

    /// Generates a fresh key for `alg` (RSA-2048 for the RS algorithms).
    ///
    /// # Errors
    /// [`Error::Key`] if generation fails.
    pub fn generate(alg: Algorithm) -> Result<Self> {
        match alg {
            Algorithm::ES256 => Self::generate_p256(),
            Algorithm::EdDSA => Self::generate_ed25519(),
            rsa => Self::generate_rsa(rsa),
        }
    }

    fn rsa(kp: RsaKeyPair, alg: Algorithm) -> Result<Self> {
        let encoding: &'static dyn signature::RsaEncoding = match alg {
            Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
            Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
            _ => &signature::RSA_PKCS1_SHA512,
        };
        if kp.public_modulus_len() < 256 {
            return Err(Error::key("RSA keys must have at least 2048 bits"));
        }
        let pkcs8 = kp
            .as_der()
            .map_err(|e| Error::key_with("cannot encode RSA key", e))?
            .as_ref()
            .to_vec();
        let public = VerifyingKey::rsa(kp.public_key(), alg)?;
        Ok(Self::assemble(Signer::Rsa(kp, encoding), public, pkcs8))
    }

    fn ecdsa(kp: EcdsaKeyPair, alg: Option<Algorithm>) -> Result<Self> {
        check_fixed(alg, Algorithm::ES256)?;
        let pkcs8 = kp
            .to_pkcs8v1()
            .map_err(|e| Error::key_with("cannot encode EC key", e))?
            .as_ref()
            .to_vec();
        // An uncompressed SEC1 point: 0x04 || x || y.
        let point = kp.public_key().as_ref();
        let (x, y) = point
            .get(1..)
            .filter(|xy| xy.len() == 64)
            .map(|xy| xy.split_at(32))
            .ok_or_else(|| Error::key("unexpected P-256 public key encoding"))?;
        let jwk = JwkParams::Ec {
            x: B64.encode(x),
            y: B64.encode(y),
        };
        let public = VerifyingKey::new(Algorithm::ES256, jwk, point)?;
        Ok(Self::assemble(Signer::Ecdsa(kp), public, pkcs8))
    }

    fn ed25519(kp: Ed25519KeyPair, alg: Option<Algorithm>) -> Result<Self> {
        check_fixed(alg, Algorithm::EdDSA)?;
        let pkcs8 = kp
            .to_pkcs8v1()
            .map_err(|e| Error::key_with("cannot encode Ed25519 key", e))?
            .as_ref()
            .to_vec();
        let raw = kp.public_key().as_ref();
        let jwk = JwkParams::Okp { x: B64.encode(raw) };
        let public = VerifyingKey::new(Algorithm::EdDSA, jwk, raw)?;
        Ok(Self::assemble(Signer::Ed25519(kp), public, pkcs8))
    }

    fn assemble(signer: Signer, public: VerifyingKey, pkcs8: Vec<u8>) -> Self {
        let header = jws_header(&public);
        SigningKey {
            signer,
            public,
            pkcs8,
            header,
            rng: SystemRandom::new(),
        }
    }

    /// Replaces the key id (default: the RFC 7638 thumbprint).
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.public.kid = kid.into();
        self.header = jws_header(&self.public);
        self
    }

    /// The encoded JWS header segment, computed once per key.
    pub(crate) fn header(&self) -> &str {
        &self.header
    }

    /// The public half.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// The algorithm it signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.public.alg
    }

    /// The private key as a PKCS#8 PEM document (to persist a generated key).
    pub fn to_pkcs8_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PRIVATE KEY", self.pkcs8.clone()))
    }

    /// Signs `message` (the JWS signing input).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        match &self.signer {
            Signer::Rsa(kp, encoding) => {
                let mut sig = vec![0; kp.public_modulus_len()];
                kp.sign(*encoding, &self.rng, message, &mut sig)
                    .map_err(|e| Error::key_with("RSA signing failed", e))?;
                Ok(sig)
            }
            Signer::Ecdsa(kp) => kp
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| Error::key_with("ECDSA signing failed", e)),
            Signer::Ed25519(kp) => Ok(kp.sign(message).as_ref().to_vec()),
        }
    }
}

fn jws_header(key: &VerifyingKey) -> String {
    let header = serde_json::json!({"alg": key.alg.as_str(), "kid": key.kid, "typ": "JWT"});
    B64.encode(header.to_string())
}

fn check_fixed(requested: Option<Algorithm>, actual: Algorithm) -> Result<()> {
    match requested {
        Some(a) if a != actual => Err(Error::key(format!("this key signs with {actual}, not {a}"))),
        _ => Ok(()),
    }
}

/// The public parameters of a JWK, by key type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum JwkParams {
    Rsa { n: String, e: String },
    Ec { x: String, y: String },
    Okp { x: String },
}

impl JwkParams {
    /// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
    fn thumbprint(&self) -> String {
        let canonical = match self {
            JwkParams::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
            JwkParams::Ec { x, y } => {
                format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#)
            }
            JwkParams::Okp { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
        };
        B64.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            canonical.as_bytes(),
        ))
    }
}

/// A public key that verifies tokens, with its `kid` and pinned algorithm.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: String,
    alg: Algorithm,
    jwk: JwkParams,
    parsed: Arc<ParsedPublicKey>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// `raw` is the public key as aws-lc-rs verifies with it: a PKCS#1 `RSAPublicKey`, an
    /// uncompressed P-256 point, or the 32 Ed25519 bytes. Parsed here, once.
    fn new(alg: Algorithm, jwk: JwkParams, raw: &[u8]) -> Result<Self> {
        let parsed = ParsedPublicKey::new(alg.verification(), raw)
            .map_err(|e| Error::key_with("unusable public key", e))?;
        Ok(VerifyingKey {
            kid: jwk.thumbprint(),
            alg,
            jwk,
            parsed: Arc::new(parsed),
        })
    }

    fn rsa(public: &aws_lc_rs::rsa::PublicKey, alg: Algorithm) -> Result<Self> {
        let jwk = JwkParams::Rsa {
            n: B64.encode(public.modulus().big_endian_without_leading_zero()),
            e: B64.encode(public.exponent().big_endian_without_leading_zero()),
        };
        VerifyingKey::new(alg, jwk, public.as_ref())
    }

    /// Verifies a JWS signature over `message`.
    pub(crate) fn verify_signature(&self, message: &[u8], signature: &[u8]) -> bool {
        self.parsed.verify_sig(message, signature).is_ok()
    }

    /// Loads a verify-only key from a PEM file: a private key as [`SigningKey::from_pem`]
    /// takes (an old signing key), or an RSA `PUBLIC KEY` (SPKI) / `RSA PUBLIC KEY`.
    ///
    /// # Errors
    /// [`Error::Key`] if the PEM cannot be parsed or the key is unsupported.
    pub fn from_pem(pem: &[u8], alg: Option<Algorithm>) -> Result<Self> {
        let block = pem::parse(pem).map_err(|e| Error::key_with("not a PEM file", e))?;
        match block.tag() {
            "PUBLIC KEY" | "RSA PUBLIC KEY" => {
                let key = aws_lc_rs::rsa::PublicKey::from_der(block.contents()).map_err(|e| {
                    Error::key_with("unsupported public key (only RSA public keys; pass the old private key for EC/Ed25519)", e)
                })?;
                let alg = match alg {
                    None => Algorithm::RS512,
                    Some(a) if a.is_rsa() => a,
                    Some(a) => return Err(Error::key(format!("an RSA key cannot verify {a}"))),
                };
                VerifyingKey::rsa(&key, alg)
            }
            _ => SigningKey::from_pem(pem, alg).map(|k| k.public),
        }
    }

    /// Replaces the key id.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key accepts.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// This key as a JWK (public parameters only).
    pub fn jwk(&self) -> Value {
        let mut v = match &self.jwk {
            JwkParams::Rsa { n, e } => json!({"kty": "RSA", "n": n, "e": e}),
            JwkParams::Ec { x, y } => json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
            JwkParams::Okp { x } => json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
        };
        v["kid"] = json!(self.kid);
        v["use"] = json!("sig");
        v["alg"] = json!(self.alg.as_str());
        v
    }
}

/// One signing key and any number of verify-only keys (older keys kept during rotation).
#[derive(Debug)]
pub struct KeySet {
    signing: SigningKey,
    verify_only: Vec<VerifyingKey>,
    jwks: Value,
}

impl KeySet {
    /// A key set that signs with `signing`.
    pub fn new(signing: SigningKey) -> Self {
        let mut set = KeySet {
            signing,
            verify_only: Vec::new(),
            jwks: Value::Null,
        };
        set.jwks = set.build_jwks();
        set
    }

    /// Adds a verify-only key.
    ///
    /// # Errors
    /// [`Error::Key`] if its `kid` is already in the set.
    pub fn with_verify_key(mut self, key: VerifyingKey) -> Result<Self> {
        if self.get(&key.kid).is_some() {
            return Err(Error::key(format!("duplicate key id {:?}", key.kid)));
        }
        self.verify_only.push(key);
        self.jwks = self.build_jwks();
        Ok(self)
    }

    /// The key that signs new tokens.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The verifying key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        std::iter::once(&self.signing.public)
            .chain(&self.verify_only)
            .find(|k| k.kid == kid)
    }

    /// The JWKS document (`{"keys": [...]}`) of every key in the set.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    fn build_jwks(&self) -> Value {
        let keys: Vec<Value> = std::iter::once(&self.signing.public)
            .chain(&self.verify_only)
            .map(VerifyingKey::jwk)
            .collect();
        json!({ "keys": keys })
    }
}
