//! Signatures bound to a leader's passkey, end to end through the routes
//! with a software authenticator (a P-256 key, as a phone's passkey): the
//! statement the server asks for is signed, kept with the version, carried
//! by the bundle and checked offline; anything altered fails.
use crate::support::{PASSWORD, TestApp};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mandate::auth::policy::Role;
use mandate::policies::versions::model::{Bump, PolicyKind};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// A passkey held by the test: its key pair and credential id.
pub struct SoftPasskey {
    pair: EcdsaKeyPair,
    pub credential_id: Vec<u8>,
}

impl SoftPasskey {
    /// A new passkey, registered for `user` as the registration ceremony would.
    pub async fn register(app: &TestApp, user: Uuid, name: &str) -> SoftPasskey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let public = pair.public_key().as_ref().to_vec();
        let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(&public[1..33]), "y": URL_SAFE_NO_PAD.encode(&public[33..65])});
        let credential_id = Uuid::new_v4().as_bytes().to_vec();
        sqlx::query("INSERT INTO passkeys (id, user_id, name, credential_id, passkey, public_jwk, created_at) VALUES ($1, $2, $3, $4, '{}', $5, now())")
            .bind(Uuid::new_v4())
            .bind(user)
            .bind(name)
            .bind(&credential_id)
            .bind(jwk)
            .execute(app.db())
            .await
            .unwrap();
        SoftPasskey { pair, credential_id }
    }

    /// What the browser would send after the authenticator signed
    /// `challenge` (base64url) for `origin`, as `PublicKeyCredential.toJSON()`.
    pub fn answer(&self, challenge: &str, rp_id: &str, origin: &str) -> String {
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(0x05);
        auth_data.extend_from_slice(&1u32.to_be_bytes());
        let client = serde_json::to_vec(&serde_json::json!({"type": "webauthn.get", "challenge": challenge, "origin": origin, "crossOrigin": false})).unwrap();
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client));
        let sig = self.pair.sign(&SystemRandom::new(), &signed).unwrap();
        let id = URL_SAFE_NO_PAD.encode(&self.credential_id);
        serde_json::json!({
            "id": id, "rawId": id, "type": "public-key", "clientExtensionResults": {},
            "response": {
                "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(&client),
                "signature": URL_SAFE_NO_PAD.encode(sig.as_ref()),
                "userHandle": null
            }
        })
        .to_string()
    }
}

#[sqlx::test]
async fn a_leader_signs_with_a_passkey_and_the_bundle_proves_it(db: PgPool) {
    let app = TestApp::new(db).await;
    let ceo = app.user("ceo@a.example", "Chief Executive").await;
    let org = app.org("Acme Ltd", ceo).await;
    let person = app.person(org, "Chief Executive", "ceo@a.example", true).await;
    app.link(org, person, ceo).await;
    let policy = app.policy(org, "Information security policy", PolicyKind::IsPolicy, false).await;
    let v1 = app.draft(org, policy, "# Policy\n\nWe protect information.", None, Bump::Major).await;
    let key = SoftPasskey::register(&app, ceo, "Phone").await;
    let mut c = app.signed_in(ceo, Some(org)).await;

    let page = c.get(&format!("/policies/versions/{v1}")).await;
    assert!(page.has("#sign-with-passkey"), "a passkey holder signs with it");
    assert!(!page.has("#f-password"));
    let sha = page.attr("input[name=document_sha]", "value").unwrap();

    // Without the passkey's answer, nothing is signed (not even with the password).
    let res = c.post(&format!("/policies/versions/{v1}/sign"), &[("document_sha", &sha), ("password", PASSWORD)]).await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("you sign with it"), "{}", res.body);

    // The options ask the authenticator to sign the SHA-256 of a statement naming exactly this.
    let options = c.post(&format!("/policies/versions/{v1}/sign/passkey-options"), &[("document_sha", &sha)]).await;
    assert_eq!(options.status, 200, "{}", options.body);
    let options: serde_json::Value = serde_json::from_str(&options.body).unwrap();
    let ceremony = options["ceremony"].as_str().unwrap().to_string();
    let challenge = options["publicKey"]["challenge"].as_str().unwrap().to_string();
    assert_eq!(options["publicKey"]["rpId"], "localhost");
    assert_eq!(options["publicKey"]["allowCredentials"][0]["id"], URL_SAFE_NO_PAD.encode(&key.credential_id));

    // An answer for another statement (or site) is refused and uses the ceremony up.
    let forged = key.answer(&URL_SAFE_NO_PAD.encode(Sha256::digest(b"something else")), "localhost", "http://localhost:8080");
    let res = c.post(&format!("/policies/versions/{v1}/sign"), &[("document_sha", &sha), ("passkey_ceremony", &ceremony), ("passkey_credential", &forged)]).await;
    assert_eq!(res.status, 422, "{}", res.body);
    let again = key.answer(&challenge, "localhost", "http://localhost:8080");
    let res = c.post(&format!("/policies/versions/{v1}/sign"), &[("document_sha", &sha), ("passkey_ceremony", &ceremony), ("passkey_credential", &again)]).await;
    assert_eq!(res.status, 422, "a ceremony is used once");
    let signed: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar("SELECT approved_at FROM policy_versions WHERE id = $1").bind(v1).fetch_one(app.db()).await.unwrap();
    assert!(signed.is_none());

    // The real answer signs.
    let options = c.post(&format!("/policies/versions/{v1}/sign/passkey-options"), &[]).await;
    let options: serde_json::Value = serde_json::from_str(&options.body).unwrap();
    let answer = key.answer(options["publicKey"]["challenge"].as_str().unwrap(), "localhost", "http://localhost:8080");
    let res = c
        .post(&format!("/policies/versions/{v1}/sign"), &[("document_sha", &sha), ("passkey_ceremony", options["ceremony"].as_str().unwrap()), ("passkey_credential", &answer)])
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let page = c.get(&format!("/policies/versions/{v1}")).await;
    assert!(page.has("#passkey-bound"));
    let statement = page.texts("pre.statement").pop().unwrap();
    assert!(statement.contains(&format!("record: policy version {v1}")) && statement.contains(&format!("document sha-256: {sha}")), "{statement}");
    assert!(statement.contains("signer: Chief Executive <ceo@a.example>"), "{statement}");
    let stored: serde_json::Value = sqlx::query_scalar("SELECT signature FROM passkey_signatures WHERE record_id = $1").bind(v1).fetch_one(app.db()).await.unwrap();
    let bound: mandate::auth::assertion::BoundSignature = serde_json::from_value(stored).unwrap();
    assert_eq!(mandate::auth::assertion::verify(&bound), Ok(()));

    // The bundle carries it, and verify-bundle checks it offline.
    let out = std::env::temp_dir().join(format!("mandate-passkey-{}.zip", Uuid::new_v4().simple()));
    let url = crate::cli::database_url(app.db());
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_mandate"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("MANDATE_EVIDENCE_URL", format!("file://{}", app.state.store.description))
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        (o.status.code().unwrap(), String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
    };
    let (code, text) = run(&["export", "--org", "Acme Ltd", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = run(&["verify-bundle", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("1 passkey-bound signatures checked") && text.contains("every passkey-bound signature matches"), "{text}");

    // A statement altered in the bundle no longer verifies, whatever the lists say.
    let altered = crate::bundles::rewrite(
        &out,
        |name, data| {
            Some(if name == "signatures/passkey-signatures.json" {
                String::from_utf8(data).unwrap().replace("version 1.0", "version 9.0").into_bytes()
            } else {
                data
            })
        },
        None,
    )
    .await;
    let (code, text) = run(&["verify-bundle", altered.to_str().unwrap()]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains(&format!("PASSKEY SIGNATURE: policy version {v1}: the authenticator signed a different statement")), "{text}");
}

#[sqlx::test]
async fn another_accounts_passkey_is_not_found_and_signs_nothing(db: PgPool) {
    let app = TestApp::new(db).await;
    let ceo = app.user("ceo@a.example", "Chief Executive").await;
    let org = app.org("Acme Ltd", ceo).await;
    let lead = app.user("lead@a.example", "Lee Lead").await;
    app.member(org, lead, Role::Executive).await;
    let policy = app.policy(org, "Information security policy", PolicyKind::IsPolicy, false).await;
    let v1 = app.draft(org, policy, "# Policy\n\nText.", None, Bump::Major).await;
    let ceo_key = SoftPasskey::register(&app, ceo, "CEO phone").await;
    let _lead_key = SoftPasskey::register(&app, lead, "Lead phone").await;
    let ceo_passkey: Uuid = sqlx::query_scalar("SELECT id FROM passkeys WHERE user_id = $1").bind(ceo).fetch_one(app.db()).await.unwrap();
    let mut l = app.signed_in(lead, Some(org)).await;
    assert_eq!(l.post(&format!("/account/passkeys/{ceo_passkey}/remove"), &[]).await.status, 404);
    // The lead cannot sign with the CEO's passkey.
    let options = l.post(&format!("/policies/versions/{v1}/sign/passkey-options"), &[]).await;
    let options: serde_json::Value = serde_json::from_str(&options.body).unwrap();
    let answer = ceo_key.answer(options["publicKey"]["challenge"].as_str().unwrap(), "localhost", "http://localhost:8080");
    let res = l.post(&format!("/policies/versions/{v1}/sign"), &[("passkey_ceremony", options["ceremony"].as_str().unwrap()), ("passkey_credential", &answer)]).await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("not one of yours"), "{}", res.body);
    let failed: i64 = sqlx::query_scalar("SELECT count(*) FROM security_events WHERE kind = 'factor_failed' AND user_id = $1").bind(lead).fetch_one(app.db()).await.unwrap();
    assert_eq!(failed, 1, "the refused passkey is in the security log");
}

/// Asks for a passkey signature at `options` (posting `fields` as the form
/// would), lets the soft passkey answer, and sends the act at `act`.
async fn sign_with(c: &mut crate::support::Client, key: &SoftPasskey, options: &str, act: &str, fields: &[(&str, &str)]) -> crate::support::Resp {
    let res = c.post(options, fields).await;
    assert_eq!(res.status, 200, "{options}: {}", res.body);
    let o: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    let answer = key.answer(o["publicKey"]["challenge"].as_str().unwrap(), "localhost", "http://localhost:8080");
    let mut all = fields.to_vec();
    all.push(("passkey_ceremony", o["ceremony"].as_str().unwrap()));
    all.push(("passkey_credential", &answer));
    c.post(act, &all).await
}

#[sqlx::test]
async fn minutes_appointments_and_risk_acceptances_are_bound_to_the_leaders_passkey(db: PgPool) {
    let app = TestApp::new(db).await;
    let ceo_user = app.user("ceo@a.example", "Cleo Chief").await;
    let org = app.org("Acme Ltd", ceo_user).await;
    let ceo = app.person(org, "Cleo Chief", "ceo@a.example", true).await;
    app.link(org, ceo, ceo_user).await;
    let sam = app.person(org, "Sam Staff", "sam@a.example", false).await;
    let key = SoftPasskey::register(&app, ceo_user, "Phone").await;
    let mut c = app.signed_in(ceo_user, Some(org)).await;

    // Minutes signed off by the chair: without the passkey's answer nothing happens.
    let meeting = app.meeting(org, "Management review", ceo, "2026-10-20", "All inputs were discussed.").await;
    let page = c.get(&format!("/meetings/{meeting}")).await;
    assert!(page.has("#sign-off-with-passkey"), "{}", page.body);
    let plain = c.post(&format!("/meetings/{meeting}/sign-off"), &[]).await;
    assert_eq!(plain.status, 303);
    assert!(c.get(&format!("/meetings/{meeting}")).await.body.contains("you sign with it"));
    let res = sign_with(&mut c, &key, &format!("/meetings/{meeting}/sign-off/passkey-options"), &format!("/meetings/{meeting}/sign-off"), &[]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let page = c.get(&format!("/meetings/{meeting}")).await;
    assert!(page.has("#passkey-bound"), "{}", page.body);
    let sha = hex::encode(Sha256::digest(b"All inputs were discussed."));
    assert!(page.texts("pre.statement").pop().unwrap().contains(&format!("document sha-256: {sha}")));

    // An appointment the CEO made, confirmed with the passkey.
    let role = app.role(org, "ISMS manager", true, true).await;
    let (appointment, _) = app.appoint(org, role, sam, ceo).await;
    let res = sign_with(&mut c, &key, &format!("/appointments/{appointment}/confirm/passkey-options"), &format!("/appointments/{appointment}/confirm"), &[]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert!(c.get(&format!("/roles/{role}")).await.body.contains("<span class=\"tag ok\">passkey</span>"));

    // A risk accepted: the passkey signs the day and the reason; a different day is refused.
    mandate::findings::sync_org(&app.state, org).await.unwrap();
    let f = mandate::findings::model::list(app.db(), org).await.unwrap().into_iter().next().expect("a finding");
    let until = (app.state.clock.now().date_naive() + chrono::Duration::days(30)).to_string();
    let other_day = (app.state.clock.now().date_naive() + chrono::Duration::days(31)).to_string();
    let fields = [("reason", "Covered by the parent company meanwhile."), ("until", until.as_str())];
    let res = c.post(&format!("/findings/{}/accept/passkey-options", f.id), &fields).await;
    let o: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    let answer = key.answer(o["publicKey"]["challenge"].as_str().unwrap(), "localhost", "http://localhost:8080");
    let swapped = [("reason", "Covered by the parent company meanwhile."), ("until", other_day.as_str()), ("passkey_ceremony", o["ceremony"].as_str().unwrap()), ("passkey_credential", &answer)];
    let res = c.post(&format!("/findings/{}/accept", f.id), &swapped).await;
    assert_eq!(res.status, 422, "another day than the one signed");
    assert!(res.body.contains("changed after your passkey signed it"), "{}", res.body);
    let res = sign_with(&mut c, &key, &format!("/findings/{}/accept/passkey-options", f.id), &format!("/findings/{}/accept", f.id), &fields).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert!(c.get(&format!("/findings/{}", f.id)).await.has("#passkey-bound"));

    // All three are kept, final, and each verifies.
    let kinds: Vec<String> = sqlx::query_scalar("SELECT record_kind FROM passkey_signatures ORDER BY record_kind").fetch_all(app.db()).await.unwrap();
    assert_eq!(kinds, ["appointment", "meeting", "risk_acceptance"]);
    for s in sqlx::query_scalar::<_, serde_json::Value>("SELECT signature FROM passkey_signatures").fetch_all(app.db()).await.unwrap() {
        let b: mandate::auth::assertion::BoundSignature = serde_json::from_value(s).unwrap();
        assert_eq!(mandate::auth::assertion::verify(&b), Ok(()));
    }
    let change = sqlx::query("UPDATE passkey_signatures SET signed_at = now()").execute(app.db()).await;
    assert!(change.unwrap_err().to_string().contains("final"));
}
