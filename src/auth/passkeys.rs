//! Passkeys (WebAuthn, through webauthn-rs): several per account, named and
//! revocable. A passkey signs in on its own (it is something held and,
//! with user verification, something known or been), stands in for the
//! authenticator app's code as the second step and at step-up, and binds a
//! leader's signature to their authenticator (`auth::assertion`).
//!
//! Every ceremony starts with a POST that answers the browser's options as
//! JSON and keeps the server's half in `webauthn_ceremonies` (used once,
//! five minutes); the page's form then carries the ceremony's id and the
//! browser's answer (static/app.js fills them in).
use crate::auth::assertion::{Assertion, BoundSignature, Jwk};
use crate::error::{AppError, AppResult};
use crate::ids::UserId;
use crate::state::AppState;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;
use webauthn_rs::prelude::{
    COSEKeyType, DiscoverableAuthentication, DiscoverableKey, ECDSACurve, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
};

/// How long a ceremony may take.
const CEREMONY_SECS: i64 = 300;

/// The relying party: Mandate's host name and origin, from its base URL.
pub fn relying_party(state: &AppState) -> (String, String) {
    let url = &state.config.base_url;
    let origin = url.origin().ascii_serialization();
    (url.host_str().unwrap_or("localhost").to_string(), origin)
}

fn webauthn(state: &AppState) -> AppResult<Webauthn> {
    let (rp_id, origin) = relying_party(state);
    let origin = Url::parse(&origin).map_err(|e| AppError::Internal(e.into()))?;
    WebauthnBuilder::new(&rp_id, &origin)
        .and_then(|b| b.rp_name("Mandate").build())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("passkeys cannot work with the base URL {origin}: {e}")))
}

/// One of an account's passkeys, as listed.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub async fn list(db: impl sqlx::PgExecutor<'_>, user_id: UserId) -> anyhow::Result<Vec<Row>> {
    Ok(sqlx::query_as!(Row, "SELECT id, name, created_at, last_used_at FROM passkeys WHERE user_id = $1 ORDER BY created_at, id", user_id.0)
        .fetch_all(db)
        .await?)
}

async fn passkeys_of(db: &PgPool, user_id: UserId) -> AppResult<Vec<Passkey>> {
    let rows = sqlx::query_scalar!("SELECT passkey FROM passkeys WHERE user_id = $1", user_id.0).fetch_all(db).await?;
    rows.into_iter().map(|v| serde_json::from_value(v).map_err(|e| AppError::Internal(e.into()))).collect()
}

/// The public key as a JWK, for signatures anyone can check.
fn jwk_of(p: &Passkey) -> Option<Jwk> {
    match &p.get_public_key().key {
        COSEKeyType::EC_EC2(k) if matches!(k.curve, ECDSACurve::SECP256R1) => {
            Some(Jwk::EC { crv: "P-256".into(), x: URL_SAFE_NO_PAD.encode(&k.x), y: URL_SAFE_NO_PAD.encode(&k.y) })
        }
        COSEKeyType::RSA(k) => Some(Jwk::RSA { n: URL_SAFE_NO_PAD.encode(&k.n), e: URL_SAFE_NO_PAD.encode(k.e) }),
        _ => None,
    }
}

// ---------- ceremonies ----------

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    SignIn,
    SecondStep,
    StepUp,
    Signature,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign_in",
            Purpose::SecondStep => "second_step",
            Purpose::StepUp => "step_up",
            Purpose::Signature => "signature",
        }
    }
}

async fn keep(db: &PgPool, user_id: Option<UserId>, purpose: Purpose, state: Value, statement: Option<&str>, now: DateTime<Utc>) -> AppResult<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query!("DELETE FROM webauthn_ceremonies WHERE created_at < $1", now - Duration::seconds(CEREMONY_SECS)).execute(db).await?;
    sqlx::query!(
        "INSERT INTO webauthn_ceremonies (id, user_id, purpose, state, statement, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        id,
        user_id.map(|u| u.0),
        purpose.as_str(),
        state,
        statement,
        now
    )
    .execute(db)
    .await?;
    Ok(id)
}

/// A ceremony's kept half, taken (so used once); `None` when unknown,
/// expired, for another purpose or another account.
async fn take(conn: &mut PgConnection, id: &str, user_id: Option<UserId>, purpose: Purpose, now: DateTime<Utc>) -> AppResult<Option<(Value, Option<String>)>> {
    let Ok(id) = Uuid::parse_str(id.trim()) else { return Ok(None) };
    let row = sqlx::query!(
        r#"DELETE FROM webauthn_ceremonies WHERE id = $1 AND purpose = $2 AND created_at > $3
                 AND user_id IS NOT DISTINCT FROM $4
           RETURNING state, statement"#,
        id,
        purpose.as_str(),
        now - Duration::seconds(CEREMONY_SECS),
        user_id.map(|u| u.0)
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.state, r.statement)))
}

fn to_json<T: serde::Serialize>(v: &T) -> AppResult<Value> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.into()))
}

fn from_json<T: serde::de::DeserializeOwned>(v: Value) -> AppResult<T> {
    serde_json::from_value(v).map_err(|e| AppError::Internal(e.into()))
}

/// What the browser is sent: the ceremony's id and its options.
fn options(ceremony: Uuid, public_key: Value) -> Value {
    json!({ "ceremony": ceremony, "publicKey": public_key })
}

// ---------- registration ----------

/// Starts adding a passkey to the account: discoverable (so it can sign in
/// without an e-mail address), user-verifying, not one it already has.
pub async fn start_registration(state: &AppState, user_id: UserId, email: &str, name: &str) -> AppResult<Value> {
    let wa = webauthn(state)?;
    let existing: Vec<_> = passkeys_of(&state.db, user_id).await?.iter().map(|p| p.cred_id().clone()).collect();
    let (ccr, reg) = wa
        .start_passkey_registration(user_id.0, email, name, Some(existing))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("passkey registration: {e}")))?;
    let mut public_key = to_json(&ccr)?["publicKey"].take();
    public_key["authenticatorSelection"]["residentKey"] = json!("required");
    public_key["authenticatorSelection"]["requireResidentKey"] = json!(true);
    let id = keep(&state.db, Some(user_id), Purpose::Register, to_json(&reg)?, None, state.clock.now()).await?;
    Ok(options(id, public_key))
}

/// Why a passkey was not added or not accepted, in the user's words.
#[derive(Debug)]
pub struct Refused(pub String);

const STARTED_AGAIN: &str = "The passkey request expired or was already used. Try again.";

/// Finishes adding a passkey named `name`; `Err` says why not.
pub async fn finish_registration(state: &AppState, conn: &mut PgConnection, user_id: UserId, ceremony: &str, credential: &str, name: &str) -> AppResult<Result<Uuid, Refused>> {
    let now = state.clock.now();
    let Some((kept, _)) = take(&mut *conn, ceremony, Some(user_id), Purpose::Register, now).await? else {
        return Ok(Err(Refused(STARTED_AGAIN.into())));
    };
    let Ok(credential) = serde_json::from_str::<RegisterPublicKeyCredential>(credential) else {
        return Ok(Err(Refused("Your browser did not create a passkey. Passkeys need JavaScript and a browser or device that supports them.".into())));
    };
    let reg: PasskeyRegistration = from_json(kept)?;
    let passkey = match webauthn(state)?.finish_passkey_registration(&credential, &reg) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(error = %e, "passkey registration refused");
            return Ok(Err(Refused("The passkey could not be checked, so it was not added. Try again, or use another device.".into())));
        }
    };
    let Some(jwk) = jwk_of(&passkey) else {
        return Ok(Err(Refused("This authenticator uses a kind of key Mandate cannot check signatures with. Use another device.".into())));
    };
    let id = Uuid::new_v4();
    let done = sqlx::query!(
        "INSERT INTO passkeys (id, user_id, name, credential_id, passkey, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (credential_id) DO NOTHING",
        id,
        user_id.0,
        name,
        AsRef::<[u8]>::as_ref(passkey.cred_id()),
        to_json(&passkey)?,
        to_json(&jwk)?,
        now
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(Err(Refused("This passkey is already registered.".into())));
    }
    Ok(Ok(id))
}

/// Removes one of the account's passkeys; its name when it was there.
pub async fn remove(conn: &mut PgConnection, user_id: UserId, id: Uuid) -> AppResult<Option<String>> {
    Ok(sqlx::query_scalar!("DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name", id, user_id.0).fetch_optional(conn).await?)
}

// ---------- authentication ----------

/// Starts a passwordless sign-in: any passkey of any account may answer.
pub async fn start_sign_in(state: &AppState) -> AppResult<Value> {
    let (rcr, auth) = webauthn(state)?.start_discoverable_authentication().map_err(|e| AppError::Internal(anyhow::anyhow!("passkey sign-in: {e}")))?;
    let id = keep(&state.db, None, Purpose::SignIn, to_json(&auth)?, None, state.clock.now()).await?;
    // A button, not the autofill prompt webauthn-rs prepares for.
    Ok(options(id, to_json(&rcr)?["publicKey"].take()))
}

/// Starts an assertion by one of the account's own passkeys (second step,
/// step-up); `None` when it has none.
pub async fn start_for_user(state: &AppState, user_id: UserId, purpose: Purpose) -> AppResult<Option<Value>> {
    let keys = passkeys_of(&state.db, user_id).await?;
    if keys.is_empty() {
        return Ok(None);
    }
    let (rcr, auth) = webauthn(state)?.start_passkey_authentication(&keys).map_err(|e| AppError::Internal(anyhow::anyhow!("passkey: {e}")))?;
    let id = keep(&state.db, Some(user_id), purpose, to_json(&auth)?, None, state.clock.now()).await?;
    Ok(Some(options(id, to_json(&rcr)?["publicKey"].take())))
}

/// A passkey answer refused for `user_id`: to the security log (where the
/// authenticator app's wrong codes go too).
async fn log_failure(conn: &mut PgConnection, state: &AppState, user_id: UserId, detail: &str) -> AppResult<()> {
    use crate::security_log::model::{Event, Kind, record};
    let email = sqlx::query_scalar!("SELECT email FROM users WHERE id = $1", user_id.0).fetch_one(&mut *conn).await?;
    let event = Event { org_id: None, user_id: Some(user_id), email: &email, client_addr: "", kind: Kind::FactorFailed, detail: detail.to_string() };
    record(&mut *conn, state.clock.now(), event).await?;
    Ok(())
}

async fn stored(conn: &mut PgConnection, credential_id: &[u8]) -> AppResult<Option<(Uuid, UserId, Passkey)>> {
    let row = sqlx::query!(r#"SELECT id, user_id AS "user_id: UserId", passkey FROM passkeys WHERE credential_id = $1"#, credential_id).fetch_optional(conn).await?;
    row.map(|r| Ok((r.id, r.user_id, from_json(r.passkey)?))).transpose()
}

async fn used(conn: &mut PgConnection, id: Uuid, passkey: &Passkey, now: DateTime<Utc>) -> AppResult<()> {
    sqlx::query!("UPDATE passkeys SET passkey = $2, last_used_at = $3 WHERE id = $1", id, to_json(passkey)?, now).execute(conn).await?;
    Ok(())
}

/// Finishes a passwordless sign-in: the account whose passkey answered.
pub async fn finish_sign_in(state: &AppState, conn: &mut PgConnection, ceremony: &str, credential: &str) -> AppResult<Result<UserId, Refused>> {
    let now = state.clock.now();
    let Some((kept, _)) = take(&mut *conn, ceremony, None, Purpose::SignIn, now).await? else { return Ok(Err(Refused(STARTED_AGAIN.into()))) };
    let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Ok(Err(Refused("Your browser gave no passkey. Passkeys need JavaScript and a browser or device that supports them.".into())));
    };
    let wa = webauthn(state)?;
    let unknown = || Ok(Err(Refused("That passkey is not registered with Mandate (it may have been removed).".into())));
    let Ok((handle, cred_id)) = wa.identify_discoverable_authentication(&credential) else { return unknown() };
    let Some((id, user_id, mut passkey)) = stored(&mut *conn, cred_id).await? else { return unknown() };
    if user_id.0 != handle {
        return unknown();
    }
    let auth: DiscoverableAuthentication = from_json(kept)?;
    match wa.finish_discoverable_authentication_v2(&credential, auth, DiscoverableKey::from(&passkey)) {
        Ok(result) => {
            passkey.update_credential(&result);
            used(&mut *conn, id, &passkey, now).await?;
            Ok(Ok(user_id))
        }
        Err(e) => {
            tracing::info!(error = %e, "passkey sign-in refused");
            Ok(Err(Refused("The passkey's answer could not be checked. Try again.".into())))
        }
    }
}

/// Finishes an assertion by one of `user_id`'s passkeys (second step, step-up).
pub async fn finish_for_user(state: &AppState, conn: &mut PgConnection, user_id: UserId, purpose: Purpose, ceremony: &str, credential: &str) -> AppResult<Result<String, Refused>> {
    let now = state.clock.now();
    let Some((kept, _)) = take(&mut *conn, ceremony, Some(user_id), purpose, now).await? else { return Ok(Err(Refused(STARTED_AGAIN.into()))) };
    let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Ok(Err(Refused("Your browser gave no passkey. Try again.".into())));
    };
    let Some((id, owner, mut passkey)) = stored(&mut *conn, credential.get_credential_id()).await? else {
        return Ok(Err(Refused("That passkey is not one of yours.".into())));
    };
    if owner != user_id {
        log_failure(&mut *conn, state, user_id, "Another account's passkey was offered.").await?;
        return Ok(Err(Refused("That passkey is not one of yours.".into())));
    }
    let auth: PasskeyAuthentication = from_json(kept)?;
    match webauthn(state)?.finish_passkey_authentication(&credential, &auth) {
        Ok(result) => {
            passkey.update_credential(&result);
            used(&mut *conn, id, &passkey, now).await?;
            let name = sqlx::query_scalar!("SELECT name FROM passkeys WHERE id = $1", id).fetch_one(&mut *conn).await?;
            Ok(Ok(name))
        }
        Err(e) => {
            tracing::info!(error = %e, "passkey assertion refused");
            log_failure(&mut *conn, state, user_id, "A passkey's answer did not verify.").await?;
            Ok(Err(Refused("The passkey's answer could not be checked. Try again.".into())))
        }
    }
}

// ---------- signatures ----------

/// Starts a signature: the authenticator is asked to sign the statement
/// (its SHA-256 is the challenge). `None` when the account has no passkey.
/// webauthn-rs makes its own challenges, so these options are written here.
pub async fn start_signature(state: &AppState, user_id: UserId, statement: &str) -> AppResult<Option<Value>> {
    let ids = sqlx::query_scalar!("SELECT credential_id FROM passkeys WHERE user_id = $1 ORDER BY created_at", user_id.0).fetch_all(&state.db).await?;
    if ids.is_empty() {
        return Ok(None);
    }
    let (rp_id, _) = relying_party(state);
    let challenge = URL_SAFE_NO_PAD.encode(crate::auth::assertion::challenge_of(statement));
    let allow: Vec<Value> = ids.iter().map(|id| json!({"type": "public-key", "id": URL_SAFE_NO_PAD.encode(id)})).collect();
    let public_key = json!({"challenge": challenge, "rpId": rp_id, "allowCredentials": allow, "userVerification": "required", "timeout": CEREMONY_SECS * 1000});
    let id = keep(&state.db, Some(user_id), Purpose::Signature, json!({}), Some(statement), state.clock.now()).await?;
    Ok(Some(options(id, public_key)))
}

/// Finishes a signature: the bound signature to keep with the record, once
/// `auth::assertion::verify` accepts it against one of `user_id`'s passkeys.
pub async fn finish_signature(state: &AppState, conn: &mut PgConnection, user_id: UserId, ceremony: &str, credential: &str) -> AppResult<Result<BoundSignature, Refused>> {
    let now = state.clock.now();
    let Some((_, Some(statement))) = take(&mut *conn, ceremony, Some(user_id), Purpose::Signature, now).await? else {
        return Ok(Err(Refused(STARTED_AGAIN.into())));
    };
    let bound = match bound_signature(state, &mut *conn, user_id, statement, credential).await? {
        Ok(b) => b,
        Err(refused) => return Ok(Err(refused)),
    };
    sqlx::query!("UPDATE passkeys SET last_used_at = $2 WHERE user_id = $1 AND credential_id = $3", user_id.0, now, &URL_SAFE_NO_PAD.decode(&bound.assertion.credential_id).unwrap_or_default())
        .execute(&mut *conn)
        .await?;
    Ok(Ok(bound))
}

/// A passkey signature in a form is a fresh proof of identity too, for the
/// route of the record it signs (`action` names the record's id): checked
/// here without using the ceremony up (the route then finishes it).
pub async fn signature_proves(state: &AppState, user_id: UserId, ceremony: &str, credential: &str, action: &str) -> AppResult<bool> {
    let Ok(id) = Uuid::parse_str(ceremony.trim()) else { return Ok(false) };
    let statement = sqlx::query_scalar!(
        "SELECT statement FROM webauthn_ceremonies WHERE id = $1 AND purpose = 'signature' AND user_id = $2 AND created_at > $3",
        id,
        user_id.0,
        state.clock.now() - Duration::seconds(CEREMONY_SECS)
    )
    .fetch_optional(&state.db)
    .await?
    .flatten();
    let Some(statement) = statement else { return Ok(false) };
    let record = statement.lines().find_map(|l| l.strip_prefix("record: ")).and_then(|r| r.rsplit(' ').next()).unwrap_or_default();
    let path = action.split('?').next().unwrap_or(action);
    if record.is_empty() || !path.split('/').any(|segment| segment == record) {
        return Ok(false);
    }
    let mut conn = state.db.acquire().await?;
    Ok(bound_signature(state, &mut conn, user_id, statement, credential).await?.is_ok())
}

/// The browser's answer to a signature ceremony, checked against the
/// account's passkey it names.
async fn bound_signature(state: &AppState, conn: &mut PgConnection, user_id: UserId, statement: String, credential: &str) -> AppResult<Result<BoundSignature, Refused>> {
    let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(credential) else {
        return Ok(Err(Refused("Your browser gave no passkey signature. Try again.".into())));
    };
    let jwk = sqlx::query_scalar!("SELECT public_jwk FROM passkeys WHERE credential_id = $1 AND user_id = $2", credential.get_credential_id(), user_id.0)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(jwk) = jwk else {
        log_failure(&mut *conn, state, user_id, "A signature by a passkey not of this account was offered.").await?;
        return Ok(Err(Refused("That passkey is not one of yours.".into())));
    };
    let (rp_id, origin) = relying_party(state);
    let r = &credential.response;
    let bound = BoundSignature {
        statement,
        assertion: Assertion {
            credential_id: URL_SAFE_NO_PAD.encode(credential.get_credential_id()),
            authenticator_data: URL_SAFE_NO_PAD.encode(&r.authenticator_data),
            client_data_json: URL_SAFE_NO_PAD.encode(&r.client_data_json),
            signature: URL_SAFE_NO_PAD.encode(&r.signature),
        },
        public_key: from_json(jwk)?,
        rp_id,
        origin,
    };
    if let Err(why) = crate::auth::assertion::verify(&bound) {
        tracing::info!(%why, "passkey signature refused");
        log_failure(&mut *conn, state, user_id, &format!("A passkey signature did not verify: {why}.")).await?;
        return Ok(Err(Refused("The passkey's signature could not be checked, so nothing was signed. Try again.".into())));
    }
    Ok(Ok(bound))
}

// ---------- binding an act to a passkey ----------

/// The fields a signing form carries when the signer holds a passkey
/// (static/app.js fills them in).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SignatureFields {
    #[serde(default)]
    pub passkey_ceremony: String,
    #[serde(default)]
    pub passkey_credential: String,
}

/// What a signing act gets from the signer's passkey.
#[derive(Debug)]
pub enum Binding {
    /// The signer holds no passkey: the act is made as before.
    NotHeld,
    Bound(Box<BoundSignature>),
    /// The signer holds a passkey and it did not sign what it should have: nothing is signed.
    Refused(String),
}

/// Whether the signer holds a passkey (their acts are then bound to it).
pub async fn holds(db: impl sqlx::PgExecutor<'_>, user_id: UserId) -> AppResult<bool> {
    Ok(sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1) AS "held!""#, user_id.0).fetch_one(db).await?)
}

/// Checks the passkey signature a signing form carries: it must be one of
/// the signer's passkeys over a statement of this act (`lines` it must
/// hold, such as its record line and the document's SHA-256).
pub async fn bind(state: &AppState, user_id: UserId, fields: &SignatureFields, lines: &[String]) -> AppResult<Binding> {
    if !holds(&state.db, user_id).await? {
        return Ok(Binding::NotHeld);
    }
    if fields.passkey_credential.is_empty() {
        return Ok(Binding::Refused("You hold a passkey, so you sign with it: press the button again and confirm with your passkey (this needs JavaScript).".into()));
    }
    let mut conn = state.db.acquire().await?;
    Ok(match finish_signature(state, &mut conn, user_id, &fields.passkey_ceremony, &fields.passkey_credential).await? {
        Ok(b) if lines.iter().all(|l| b.statement.lines().any(|s| s == l)) => Binding::Bound(Box::new(b)),
        Ok(_) => Binding::Refused("What you are signing changed after your passkey signed it, so nothing was signed. Read the page again, then sign.".into()),
        Err(Refused(why)) => Binding::Refused(format!("{why} Nothing was signed.")),
    })
}

/// The record kinds a passkey signature binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    PolicyVersion,
    Meeting,
    Appointment,
    RiskAcceptance,
}

impl Act {
    pub fn as_str(self) -> &'static str {
        match self {
            Act::PolicyVersion => "policy_version",
            Act::Meeting => "meeting",
            Act::Appointment => "appointment",
            Act::RiskAcceptance => "risk_acceptance",
        }
    }

    /// The words the statement names the record with.
    pub fn words(self) -> &'static str {
        match self {
            Act::PolicyVersion => "policy version",
            Act::Meeting => "meeting minutes",
            Act::Appointment => "appointment",
            Act::RiskAcceptance => "risk acceptance",
        }
    }

    /// The statement's record line for `id` (what `bind` insists on).
    pub fn record_line(self, id: Uuid) -> String {
        format!("record: {} {id}", self.words())
    }
}

/// The statement `me`'s passkey signs for an act on a record, at `at`
/// (`auth::assertion::Statement`): `what` names it in words, `sha` is the
/// SHA-256 of its content where it has one.
pub fn statement(me: &crate::auth::session::Member, act: Act, record_id: Uuid, what: &str, sha: Option<&str>, signer: &str, at: DateTime<Utc>) -> String {
    crate::auth::assertion::Statement {
        org_name: &me.org_name,
        org_id: me.org_id.0,
        kind: act.words(),
        record_id,
        what,
        document_sha256: sha,
        signer_name: signer,
        signer_email: &me.email,
        at,
    }
    .text()
}

/// Keeps a bound signature with its act, in the act's transaction.
pub async fn keep_signature(conn: &mut PgConnection, org_id: crate::ids::OrgId, act: Act, record_id: Uuid, user_id: UserId, b: &BoundSignature, now: DateTime<Utc>) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO passkey_signatures (id, org_id, record_kind, record_id, user_id, signature, signed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        Uuid::new_v4(),
        org_id.0,
        act.as_str(),
        record_id,
        user_id.0,
        to_json(b)?,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The statement of the latest passkey signature of a record, if any.
pub async fn statement_of(db: impl sqlx::PgExecutor<'_>, org_id: crate::ids::OrgId, act: Act, record_id: Uuid) -> AppResult<Option<String>> {
    Ok(sqlx::query_scalar!(
        "SELECT signature ->> 'statement' FROM passkey_signatures WHERE org_id = $1 AND record_kind = $2 AND record_id = $3 ORDER BY signed_at DESC, id LIMIT 1",
        org_id.0,
        act.as_str(),
        record_id
    )
    .fetch_optional(db)
    .await?
    .flatten())
}
