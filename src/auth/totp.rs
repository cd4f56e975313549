//! Time-based one-time passwords for authenticator apps (RFC 6238 over
//! RFC 4226: HMAC-SHA-1, 30-second steps, six digits), the form every
//! authenticator app reads from an `otpauth://` address.
//!
//! A code is good for the step it was made in and one step either side (a
//! phone's clock may be a little off), and only once: `verify` answers the
//! step a code matched, which the caller keeps and passes back as
//! `last_used`, so a code seen over someone's shoulder cannot be replayed.
//!
//! This is the arithmetic only; `auth::factors` keeps secrets and steps,
//! `auth::two_factor` enrols, `auth::second_step` asks at sign-in.
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Steps either side of now a code may come from.
pub const DRIFT: i64 = 1;
/// Bytes of a secret (160 bits, as RFC 4226 recommends for HMAC-SHA-1).
pub const SECRET_LEN: usize = 20;

/// An authenticator's shared secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub [u8; SECRET_LEN]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn random() -> Secret {
        Secret(rand::random())
    }

    /// The secret as authenticator apps take it typed in: base32, no padding.
    pub fn base32(&self) -> String {
        base32(&self.0)
    }

    /// A secret as typed into an authenticator app (base32; spaces and case
    /// ignored), as the test suite's "phone" reads it off the set-up page.
    pub fn from_base32(typed: &str) -> Option<Secret> {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::with_capacity(SECRET_LEN));
        for c in typed.chars().filter(|c| !c.is_whitespace()) {
            let v = ALPHABET.iter().position(|a| char::from(*a) == c.to_ascii_uppercase())? as u32;
            buffer = (buffer << 5) | v;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push((buffer >> bits) as u8);
                buffer &= (1 << bits) - 1;
            }
        }
        Some(Secret(out.try_into().ok()?))
    }

    /// The `otpauth://` address a QR code carries: the app names the account
    /// `issuer: account`.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let label = format!("{issuer}:{account}");
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20");
        format!("otpauth://totp/{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}", enc(&label), self.base32(), enc(issuer))
    }

    /// The code for the step holding `unix_secs`.
    pub fn code_at(&self, unix_secs: i64) -> String {
        format!("{:0width$}", hotp(&self.0, step_of(unix_secs) as u64, DIGITS), width = DIGITS as usize)
    }

    /// The step `code` was made in, if it is one of the steps within `DRIFT`
    /// of `now_unix` and later than `last_used` (the step of the last code
    /// accepted). Spaces in the code are ignored; anything else not a digit
    /// fails it.
    pub fn verify(&self, code: &str, now_unix: i64, last_used: Option<i64>) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let given: u32 = code.parse().ok()?;
        let now = step_of(now_unix);
        (now - DRIFT..=now + DRIFT)
            .filter(|step| *step >= 0 && last_used.is_none_or(|last| *step > last))
            // Every candidate is computed, so the time taken does not say which matched.
            .fold(None, |found, step| if hotp(&self.0, step as u64, DIGITS) == given { Some(step) } else { found })
    }
}

fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// RFC 4226's HOTP: the `digits`-digit code for `counter`.
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    // Dynamic truncation: four bytes from the offset the last nibble gives.
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([hash[offset] & 0x7f, hash[offset + 1], hash[offset + 2], hash[offset + 3]]);
    bin % 10u32.pow(digits)
}

/// RFC 4648 base32 (upper case, no padding).
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_KEY: &[u8; 20] = b"12345678901234567890";

    #[test]
    fn hotp_matches_rfc_4226() {
        let expected = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_KEY, counter as u64, 6), *code, "counter {counter}");
        }
    }

    #[test]
    fn totp_matches_rfc_6238() {
        // Appendix B, SHA-1, eight digits.
        for (time, code) in [(59, 94287082), (1111111109, 7081804), (1111111111, 14050471), (1234567890, 89005924), (2000000000, 69279037), (20000000000, 65353130)] {
            assert_eq!(hotp(RFC_KEY, step_of(time) as u64, 8), code, "time {time}");
        }
        assert_eq!(Secret(*RFC_KEY).code_at(59), "287082");
        assert_eq!(Secret(*RFC_KEY).code_at(1111111109), "081804", "codes keep their leading zeros");
    }

    #[test]
    fn a_code_is_good_near_its_step_and_only_once() {
        let s = Secret(*RFC_KEY);
        let now = 1_700_000_000;
        let code = s.code_at(now);
        let step = step_of(now);
        assert_eq!(s.verify(&code, now, None), Some(step));
        assert_eq!(s.verify(&code, now + STEP_SECS, None), Some(step), "a step late is fine");
        assert_eq!(s.verify(&code, now - STEP_SECS, None), Some(step), "a step early is fine");
        assert_eq!(s.verify(&code, now + 2 * STEP_SECS, None), None, "two steps late is not");
        assert_eq!(s.verify(&code, now, Some(step)), None, "a code is used once");
        assert_eq!(s.verify(&s.code_at(now + STEP_SECS), now, Some(step)), Some(step + 1), "the next step's code still works");
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(s.verify(&spaced, now, None), Some(step), "spaces are ignored");
        for bad in ["", "12345", "1234567", "12345a", "-12345"] {
            assert_eq!(s.verify(bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_written_as_authenticator_apps_read_them() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b""), "");
        let s = Secret(*RFC_KEY);
        assert_eq!(s.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            s.uri("Mandate (Acme Ltd)", "ceo@acme.example"),
            "otpauth://totp/Mandate%20%28Acme%20Ltd%29%3Aceo%40acme.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Mandate%20%28Acme%20Ltd%29&algorithm=SHA1&digits=6&period=30"
        );
        assert_ne!(Secret::random(), Secret::random());
        let r = Secret::random();
        assert_eq!(Secret::from_base32(&r.base32().to_lowercase()), Some(r), "read back as typed");
        assert_eq!(Secret::from_base32("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"), Some(s.clone()));
        assert_eq!(Secret::from_base32("MZXW6YTBOI"), None, "too short");
        assert_eq!(Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1"), None, "not base32");
        assert_eq!(format!("{s:?}"), "Secret(…)", "a secret is never printed");
    }
}
