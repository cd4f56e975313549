//! The OpenID Connect client (openidconnect, over reqwest): discovery, the
//! authorization URL with PKCE, state and nonce, and the code exchange with
//! the ID token checked against the provider's keys (signature, issuer,
//! audience, expiry, nonce).
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use std::time::Duration;

/// Why talking to the provider failed, in words for the owner or the person signing in.
#[derive(Debug)]
pub struct Failure(pub String);

#[derive(Debug)]
struct HttpError(String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

/// The HTTP client the OpenID Connect calls use: no redirects followed
/// (RFC 6749 endpoints answer directly), short timeouts.
fn http() -> Result<reqwest::Client, Failure> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Failure(format!("cannot make an HTTP client: {e}")))
}

async fn send(client: reqwest::Client, req: openidconnect::HttpRequest) -> Result<openidconnect::HttpResponse, HttpError> {
    let req = reqwest::Request::try_from(req).map_err(|e| HttpError(e.to_string()))?;
    let res = client.execute(req).await.map_err(|e| HttpError(e.to_string()))?;
    let mut out = openidconnect::http::Response::builder().status(res.status());
    for (k, v) in res.headers() {
        out = out.header(k, v);
    }
    let body = res.bytes().await.map_err(|e| HttpError(e.to_string()))?;
    out.body(body.to_vec()).map_err(|e| HttpError(e.to_string()))
}

/// The organisation's provider, as configured.
pub struct Provider<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect: String,
}

async fn metadata(p: &Provider<'_>, client: &reqwest::Client) -> Result<CoreProviderMetadata, Failure> {
    let issuer = IssuerUrl::new(p.issuer.to_string()).map_err(|e| Failure(format!("the issuer is not a URL: {e}")))?;
    let c = client.clone();
    let call = move |r| send(c.clone(), r);
    CoreProviderMetadata::discover_async(issuer, &call).await.map_err(|e| Failure(format!("the provider's discovery document could not be read: {e}")))
}

/// Checks that the issuer answers with a discovery document (when an owner saves the settings).
pub async fn check(p: &Provider<'_>) -> Result<(), Failure> {
    metadata(p, &http()?).await.map(|_| ())
}

/// Where to send the browser, and what to keep until it comes back.
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The authorization URL (code flow, PKCE S256, state, nonce), asking for
/// the e-mail address; `login_hint` tells the provider who is signing in.
pub async fn start(p: &Provider<'_>, login_hint: &str) -> Result<Started, Failure> {
    let client = http()?;
    let meta = metadata(p, &client).await?;
    let redirect = RedirectUrl::new(p.redirect.clone()).map_err(|e| Failure(e.to_string()))?;
    let oidc = CoreClient::from_provider_metadata(meta, ClientId::new(p.client_id.into()), Some(ClientSecret::new(p.client_secret.into()))).set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = oidc
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_extra_param("login_hint", login_hint)
        .set_pkce_challenge(challenge)
        .url();
    Ok(Started { url: url.to_string(), state: state.secret().clone(), nonce: nonce.secret().clone(), pkce_verifier: verifier.secret().clone() })
}

/// Who the provider says signed in.
#[derive(Debug)]
pub struct Identity {
    pub email: String,
    pub name: Option<String>,
    pub subject: String,
}

/// Exchanges the code (with the PKCE verifier) and checks the ID token:
/// signed by the provider's keys, for this client, not expired, with the
/// nonce of this sign-in, carrying a verified e-mail address.
pub async fn finish(p: &Provider<'_>, code: &str, nonce: &str, pkce_verifier: &str) -> Result<Identity, Failure> {
    let client = http()?;
    let meta = metadata(p, &client).await?;
    let redirect = RedirectUrl::new(p.redirect.clone()).map_err(|e| Failure(e.to_string()))?;
    let oidc = CoreClient::from_provider_metadata(meta, ClientId::new(p.client_id.into()), Some(ClientSecret::new(p.client_secret.into()))).set_redirect_uri(redirect);
    let c = client.clone();
    let call = move |r| send(c.clone(), r);
    let token = oidc
        .exchange_code(AuthorizationCode::new(code.into()))
        .map_err(|e| Failure(format!("the provider has no token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.into()))
        .request_async(&call)
        .await
        .map_err(|e| Failure(format!("the provider refused the sign-in code: {e}")))?;
    let _ = token.access_token();
    let id_token = token.id_token().ok_or_else(|| Failure("the provider sent no ID token".into()))?;
    let claims = id_token
        .claims(&oidc.id_token_verifier(), &Nonce::new(nonce.into()))
        .map_err(|e| Failure(format!("the provider's ID token was refused: {e}")))?;
    let email = claims.email().map(|e| e.as_str().to_lowercase()).ok_or_else(|| Failure("the provider sent no e-mail address".into()))?;
    if claims.email_verified() != Some(true) {
        return Err(Failure("the provider has not verified this e-mail address".into()));
    }
    let name = claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string());
    Ok(Identity { email, name, subject: claims.subject().as_str().to_string() })
}
