//! Passkey-bound signatures, checked with nothing but the signed statement,
//! the passkey's public key and the authenticator's answer: what
//! `mandate verify-bundle` runs offline on every such signature in a
//! bundle, and what the server runs when one is made. No WebAuthn library
//! is involved, so the check is the one written out in docs/SIGNATURES.md
//! and can be repeated with standard tools.
//!
//! The authenticator signs `authenticatorData ‖ SHA-256(clientDataJSON)`;
//! clientDataJSON carries the challenge, which Mandate makes the SHA-256 of
//! the statement. So a valid signature over these bytes, by this key, for
//! this origin, with user presence and verification, is the holder of the
//! passkey approving exactly this statement.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A public key as a JSON Web Key (RFC 7517): P-256 or RSA.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "kty")]
pub enum Jwk {
    EC { crv: String, x: String, y: String },
    RSA { n: String, e: String },
}

impl Jwk {
    /// A P-256 key as PEM (SubjectPublicKeyInfo), what `openssl dgst -verify`
    /// reads; `None` for RSA keys (docs/SIGNATURES.md checks those with Python).
    pub fn pem(&self) -> Option<String> {
        let Jwk::EC { crv, x, y } = self else { return None };
        if crv != "P-256" {
            return None;
        }
        // The DER of SEQUENCE { AlgorithmIdentifier(id-ecPublicKey, prime256v1), BIT STRING } up to the point.
        const PREFIX: [u8; 26] = [
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        let (x, y) = (URL_SAFE_NO_PAD.decode(x).ok()?, URL_SAFE_NO_PAD.decode(y).ok()?);
        if x.len() != 32 || y.len() != 32 {
            return None;
        }
        let mut der = PREFIX.to_vec();
        der.push(0x04);
        der.extend(x);
        der.extend(y);
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
        Some(format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n")))
    }
}

/// The authenticator's answer, each part base64url as the browser gave it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Assertion {
    pub credential_id: String,
    pub authenticator_data: String,
    pub client_data_json: String,
    pub signature: String,
}

/// A signature bound to a passkey, as stored with the record and bundled.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BoundSignature {
    /// The statement the holder approved, word for word.
    pub statement: String,
    pub assertion: Assertion,
    pub public_key: Jwk,
    /// The relying party (Mandate's host name) and origin the browser saw.
    pub rp_id: String,
    pub origin: String,
}

/// What a leader signs: the record, its content and when, in plain lines.
#[derive(Debug, Clone)]
pub struct Statement<'a> {
    pub org_name: &'a str,
    pub org_id: uuid::Uuid,
    /// "policy version", "meeting minutes", "appointment", "risk acceptance".
    pub kind: &'a str,
    pub record_id: uuid::Uuid,
    /// What the record is, in words ("Information security policy, version 2.0").
    pub what: &'a str,
    /// The SHA-256 of the signed document, where there is one.
    pub document_sha256: Option<&'a str>,
    pub signer_name: &'a str,
    pub signer_email: &'a str,
    pub at: DateTime<Utc>,
}

impl Statement<'_> {
    pub fn text(&self) -> String {
        let mut s = String::from("Mandate signature 1\n");
        s.push_str(&format!("organisation: {} ({})\n", self.org_name, self.org_id));
        s.push_str(&format!("record: {} {}\n", self.kind, self.record_id));
        s.push_str(&format!("what: {}\n", self.what));
        if let Some(sha) = self.document_sha256 {
            s.push_str(&format!("document sha-256: {sha}\n"));
        }
        s.push_str(&format!("signer: {} <{}>\n", self.signer_name, self.signer_email));
        s.push_str(&format!("at: {}\n", self.at.format("%Y-%m-%dT%H:%M:%SZ")));
        s
    }
}

/// The WebAuthn challenge for a statement: its SHA-256.
pub fn challenge_of(statement: &str) -> [u8; 32] {
    Sha256::digest(statement.as_bytes()).into()
}

fn b64(what: &str, s: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| format!("the {what} is not base64url"))
}

#[derive(Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    type_: String,
    challenge: String,
    origin: String,
}

/// Checks a bound signature completely; the error says what failed.
pub fn verify(b: &BoundSignature) -> Result<(), String> {
    let auth_data = b64("authenticator data", &b.assertion.authenticator_data)?;
    let client_json = b64("client data", &b.assertion.client_data_json)?;
    let signature = b64("signature", &b.assertion.signature)?;
    let client: ClientData = serde_json::from_slice(&client_json).map_err(|_| "the client data is not the browser's JSON".to_string())?;
    if client.type_ != "webauthn.get" {
        return Err(format!("the client data is of type {:?}, not an assertion", client.type_));
    }
    if client.challenge != URL_SAFE_NO_PAD.encode(challenge_of(&b.statement)) {
        return Err("the authenticator signed a different statement (the challenge is not the statement's SHA-256)".into());
    }
    if client.origin != b.origin {
        return Err(format!("the browser was at {}, not {}", client.origin, b.origin));
    }
    if auth_data.len() < 37 {
        return Err("the authenticator data is too short".into());
    }
    if auth_data[..32] != Sha256::digest(b.rp_id.as_bytes())[..] {
        return Err(format!("the authenticator data is not for {}", b.rp_id));
    }
    let flags = auth_data[32];
    if flags & 0x01 == 0 || flags & 0x04 == 0 {
        return Err("the authenticator did not report the holder present and verified".into());
    }
    let mut signed = auth_data.clone();
    signed.extend_from_slice(&Sha256::digest(&client_json));
    let ok = match &b.public_key {
        Jwk::EC { crv, x, y } if crv == "P-256" => {
            let mut point = vec![0x04];
            point.extend(b64("key's x", x)?);
            point.extend(b64("key's y", y)?);
            ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, point).verify(&signed, &signature).is_ok()
        }
        Jwk::EC { crv, .. } => return Err(format!("keys on curve {crv} are not supported")),
        Jwk::RSA { n, e } => {
            let key = ring::signature::RsaPublicKeyComponents { n: b64("key's n", n)?, e: b64("key's e", e)? };
            key.verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256, &signed, &signature).is_ok()
        }
    };
    if ok { Ok(()) } else { Err("the signature does not match the key and the signed bytes".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

    /// A software authenticator: signs a statement as a passkey would.
    pub fn signed(statement: &str, flags: u8) -> BoundSignature {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let public = pair.public_key().as_ref();
        let jwk = Jwk::EC { crv: "P-256".into(), x: URL_SAFE_NO_PAD.encode(&public[1..33]), y: URL_SAFE_NO_PAD.encode(&public[33..65]) };
        let mut auth_data = Sha256::digest(b"mandate.example").to_vec();
        auth_data.push(flags);
        auth_data.extend_from_slice(&7u32.to_be_bytes());
        let client = serde_json::json!({"type": "webauthn.get", "challenge": URL_SAFE_NO_PAD.encode(challenge_of(statement)), "origin": "https://mandate.example", "crossOrigin": false});
        let client_json = serde_json::to_vec(&client).unwrap();
        let mut to_sign = auth_data.clone();
        to_sign.extend_from_slice(&Sha256::digest(&client_json));
        let sig = pair.sign(&rng, &to_sign).unwrap();
        BoundSignature {
            statement: statement.to_string(),
            assertion: Assertion {
                credential_id: "AQID".into(),
                authenticator_data: URL_SAFE_NO_PAD.encode(&auth_data),
                client_data_json: URL_SAFE_NO_PAD.encode(&client_json),
                signature: URL_SAFE_NO_PAD.encode(sig.as_ref()),
            },
            public_key: jwk,
            rp_id: "mandate.example".into(),
            origin: "https://mandate.example".into(),
        }
    }

    #[test]
    fn a_signature_verifies_and_any_change_breaks_it() {
        let good = signed("Mandate signature 1\nwhat: policy 1.0\n", 0x05);
        assert_eq!(verify(&good), Ok(()));
        let mut altered = good.clone();
        altered.statement = altered.statement.replace("1.0", "2.0");
        assert!(verify(&altered).unwrap_err().contains("different statement"));
        let mut other_key = good.clone();
        other_key.public_key = signed("x", 0x05).public_key;
        assert!(verify(&other_key).unwrap_err().contains("does not match"));
        let mut elsewhere = good.clone();
        elsewhere.rp_id = "evil.example".into();
        assert!(verify(&elsewhere).unwrap_err().contains("not for evil.example"));
        let mut origin = good.clone();
        origin.origin = "https://evil.example".into();
        assert!(verify(&origin).is_err());
        let mut flipped = good.clone();
        let mut sig = URL_SAFE_NO_PAD.decode(&flipped.assertion.signature).unwrap();
        let last = sig.len() - 1;
        sig[last] ^= 1;
        flipped.assertion.signature = URL_SAFE_NO_PAD.encode(sig);
        assert!(verify(&flipped).is_err());
        assert!(verify(&signed("s", 0x01)).unwrap_err().contains("verified"), "presence without verification is not enough");
    }

    #[test]
    fn a_p256_key_is_written_as_pem_that_ring_reads_back() {
        let b = signed("s", 0x05);
        let pem = b.public_key.pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n") && pem.ends_with("-----END PUBLIC KEY-----\n"), "{pem}");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
        assert_eq!(der.len(), 91, "SubjectPublicKeyInfo of a P-256 point");
        let Jwk::EC { x, .. } = &b.public_key else { unreachable!() };
        assert_eq!(&der[27..59], &URL_SAFE_NO_PAD.decode(x).unwrap()[..]);
        assert_eq!(Jwk::RSA { n: "AQAB".into(), e: "AQAB".into() }.pem(), None);
    }

    #[test]
    fn a_statement_names_the_record_its_content_the_signer_and_the_time() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap().with_timezone(&Utc);
        let s = Statement {
            org_name: "Acme",
            org_id: uuid::Uuid::nil(),
            kind: "policy version",
            record_id: uuid::Uuid::nil(),
            what: "Information security policy, version 1.0",
            document_sha256: Some("ab12"),
            signer_name: "Chief Executive",
            signer_email: "ceo@acme.example",
            at,
        };
        let text = s.text();
        assert!(text.starts_with("Mandate signature 1\n"));
        assert!(text.contains("document sha-256: ab12\n") && text.contains("signer: Chief Executive <ceo@acme.example>\n") && text.ends_with("at: 2026-12-07T10:00:00Z\n"));
    }
}
