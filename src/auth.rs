//! Who is calling ([`Caller`], what the store's login finds and every query is scoped to) and
//! gateway JWTs: issue and verify. Framework-free; the surfaces' extractors call it.
//!
//! Tokens look like the real gateway's (HS512; `sub`, `iss`/`aud` = `qas`, `portalUserId`,
//! `qwebUserId`, `usertype`, `modulesAllowed`) plus the customer, and expire 4 hours after
//! issue by the store clock. Expiry is checked here against that clock, not by the JWT
//! library against the system clock, so moving the clock expires tokens.
//!
//! A token whose signature, algorithm, issuer and audience checked out is kept (by its
//! exact text, a bounded number of them) so the next call with it skips the signature;
//! its expiry is still checked against the clock on every call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// How long a token lives, in seconds (4 hours, as documented).
pub const TOKEN_LIFETIME_S: i64 = 4 * 60 * 60;
/// Issuer and audience of gateway tokens.
pub const ISSUER: &str = "qas";

/// Who is calling: a user and the customer every query is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: i64,
    pub user_uuid: String,
    pub username: String,
    pub display_name: String,
    pub customer_id: i64,
    pub customer_uuid: String,
    /// The customer's name (per-customer stubs name it).
    pub customer_name: String,
    pub modules: Vec<String>,
    /// The user row's serial: unique over the store's life, so a token names this user
    /// and no user made later with the same id.
    pub serial: i64,
}

/// The claims of a gateway token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub portal_user_id: i64,
    pub qweb_user_id: i64,
    pub usertype: String,
    pub modules_allowed: Vec<String>,
    pub user_uuid: String,
    pub customer_id: i64,
    pub customer_uuid: String,
    /// The user row's serial (see [`Caller::serial`]): a user made later with the same id
    /// and uuid — after a reset, on a store that lives on — has another.
    pub user_serial: i64,
}

impl Claims {
    /// Whether these claims were issued to `caller` as the store holds it now: the same
    /// user row (id, uuid, serial) of the same customer (id, uuid). A token outliving its
    /// user or its customer names a row that no longer exists or is another.
    pub fn name(&self, caller: &Caller) -> bool {
        self.portal_user_id == caller.user_id
            && self.user_uuid == caller.user_uuid
            && self.user_serial == caller.serial
            && self.customer_id == caller.customer_id
            && self.customer_uuid == caller.customer_uuid
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("JWT expired")]
    Expired,
    #[error("Not authenticated")]
    Invalid,
}

/// Verified tokens kept at most (a token is about 1 KB with its claims); the set starts
/// over when full.
const MAX_VERIFIED: usize = 4_096;

/// The hash of the verified tokens' map: a token is a few hundred bytes, hashed on every
/// CAR call, and std's SipHash of it costs more than the rest of the lookup. Only tokens
/// whose signature verified are kept, and the map is bounded, so the keys are ours and
/// flooding it with colliding keys is not possible: a fast multiply-rotate hash, eight
/// bytes at a time, will do.
#[derive(Default, Clone, Copy)]
struct TokenHash;

impl std::hash::BuildHasher for TokenHash {
    type Hasher = TokenHasher;

    fn build_hasher(&self) -> TokenHasher {
        TokenHasher(0)
    }
}

struct TokenHasher(u64);

impl std::hash::Hasher for TokenHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The signing secret.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Tokens this secret verified, by their exact text: their claims, which no later call
    /// can make otherwise (the secret never changes). Refused tokens are not kept.
    verified: Mutex<HashMap<Box<str>, Arc<Claims>, TokenHash>>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(..)")
    }
}

impl JwtKeys {
    pub fn from_secret(secret: &[u8]) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS512);
        validation.validate_exp = false; // checked against the store clock in `verify`
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.set_audience(&[ISSUER]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "aud", "iss"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            verified: Mutex::new(HashMap::default()),
        }
    }

    /// A random 512-bit secret (per process).
    pub fn random() -> JwtKeys {
        let mut secret = Vec::with_capacity(64);
        for _ in 0..4 {
            secret.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        }
        JwtKeys::from_secret(&secret)
    }

    /// Issue a token for `caller` at `now_s` (epoch seconds).
    pub fn issue(&self, caller: &Caller, now_s: i64) -> String {
        let claims = Claims {
            sub: caller.username.clone(),
            iss: ISSUER.to_owned(),
            aud: ISSUER.to_owned(),
            iat: now_s,
            exp: now_s + TOKEN_LIFETIME_S,
            jti: uuid::Uuid::new_v4().to_string(),
            portal_user_id: caller.user_id,
            qweb_user_id: caller.user_id,
            usertype: "fo".to_owned(),
            modules_allowed: caller.modules.clone(),
            user_uuid: caller.user_uuid.clone(),
            customer_id: caller.customer_id,
            customer_uuid: caller.customer_uuid.clone(),
            user_serial: caller.serial,
        };
        // HMAC signing of a serialisable struct cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims, &self.encoding)
            .unwrap_or_default()
    }

    /// Verify signature, algorithm, issuer, audience (once per token: see the module's
    /// note), then expiry at `now_s` (on every call).
    pub fn verify(&self, token: &str, now_s: i64) -> Result<Arc<Claims>, TokenError> {
        let kept = self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned();
        let claims = match kept {
            Some(claims) => claims,
            None => {
                let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
                    .map_err(|_| TokenError::Invalid)?;
                let claims = Arc::new(data.claims);
                let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
                if verified.len() >= MAX_VERIFIED {
                    verified.clear();
                }
                verified.insert(token.into(), Arc::clone(&claims));
                claims
            }
        };
        if now_s >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            user_id: 7,
            user_uuid: "uu".into(),
            username: "acme_ss2".into(),
            display_name: "A".into(),
            customer_id: 1001,
            customer_uuid: "cu".into(),
            customer_name: "Acme".into(),
            modules: vec!["CAR".into()],
            serial: 3,
        }
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let keys = JwtKeys::random();
        let token = keys.issue(&caller(), 1_000);
        assert_eq!(token.split('.').count(), 3);
        let claims = keys.verify(&token, 1_000).unwrap();
        assert_eq!(claims.sub, "acme_ss2");
        assert_eq!(claims.exp - claims.iat, TOKEN_LIFETIME_S);
        assert_eq!(claims.customer_id, 1001);
        assert!(claims.name(&caller()));
        assert!(keys.verify(&token, 1_000 + TOKEN_LIFETIME_S - 1).is_ok());
        assert_eq!(
            keys.verify(&token, 1_000 + TOKEN_LIFETIME_S),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn claims_name_only_the_row_they_were_issued_for() {
        let keys = JwtKeys::random();
        let claims = keys.verify(&keys.issue(&caller(), 0), 0).unwrap();
        let changes: [fn(&mut Caller); 5] = [
            |c| c.user_id += 1,
            |c| c.user_uuid.push('x'),
            |c| c.serial += 1,
            |c| c.customer_id += 1,
            |c| c.customer_uuid.push('x'),
        ];
        for change in changes {
            let mut other = caller();
            change(&mut other);
            assert!(!claims.name(&other), "{other:?}");
        }
    }

    #[test]
    fn another_secret_is_refused() {
        let token = JwtKeys::random().issue(&caller(), 0);
        assert_eq!(
            JwtKeys::random().verify(&token, 0),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_kept_token_still_expires_by_the_clock_and_a_refused_one_is_never_kept() {
        let keys = JwtKeys::random();
        let token = keys.issue(&caller(), 1_000);
        assert!(keys.verify(&token, 1_000).is_ok());
        assert!(keys.verified.lock().unwrap().contains_key(token.as_str()));
        // The same call answers the same once the token is kept, up to its expiry.
        assert!(keys.verify(&token, 1_000 + TOKEN_LIFETIME_S - 1).is_ok());
        assert_eq!(
            keys.verify(&token, 1_000 + TOKEN_LIFETIME_S),
            Err(TokenError::Expired)
        );
        // A token of another secret, or this one's with its signature changed, is refused
        // and not kept, however often it comes.
        let foreign = JwtKeys::random().issue(&caller(), 1_000);
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        for _ in 0..2 {
            assert_eq!(keys.verify(&foreign, 1_000), Err(TokenError::Invalid));
            assert_eq!(keys.verify(&tampered, 1_000), Err(TokenError::Invalid));
        }
        assert_eq!(keys.verified.lock().unwrap().len(), 1);
    }

    #[test]
    fn the_kept_tokens_are_bounded() {
        let keys = JwtKeys::random();
        for i in 0..MAX_VERIFIED as i64 + 10 {
            let token = keys.issue(&caller(), i);
            assert!(keys.verify(&token, i).is_ok());
            assert!(keys.verified.lock().unwrap().len() <= MAX_VERIFIED);
        }
    }

    #[test]
    fn garbage_is_refused() {
        let keys = JwtKeys::random();
        for t in ["", "abc", "a.b.c", "..."] {
            assert_eq!(keys.verify(t, 0), Err(TokenError::Invalid), "{t}");
        }
    }
}
