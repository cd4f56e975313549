// A small, real OpenID Connect provider for Mandate's integration tests.
//
// It is the npm package `oidc-provider` (see package.json), configured with one
// static confidential client and a NON-INTERACTIVE login: the authorization
// request names the account to log in as in `login_hint`, and the interaction
// step logs that account in and grants consent without showing any page.
//
// Environment:
//   PORT           port to listen on (default 0 = any free port; the real port
//                  is printed in the "listening on PORT" line)
//   HOST           address to bind (default 127.0.0.1)
//   ISSUER         issuer URL (default http://127.0.0.1:PORT, with the real
//                  port); must have no path, routes are served at the root
//   CLIENT_ID      client id (default "mandate")
//   CLIENT_SECRET  client secret (default "mandate-secret")
//   REDIRECT_URI   allowed redirect URIs, comma-separated
//                  (default http://127.0.0.1:8080/auth/oidc/callback)
//
// login_hint conventions (the account id IS the e-mail address):
//   ceo@acme.example            normal login; ID token carries sub, email,
//                               email_verified: true, name
//   wrong-aud:ceo@acme.example  ID token with aud "not-<CLIENT_ID>"
//   expired:ceo@acme.example    ID token with iat = now-7200, exp = now-3600
//   wrong-nonce:ceo@acme.example ID token whose nonce differs from the request
//   unverified:ceo@acme.example email_verified: false (token otherwise valid)
//   bad-sig:ceo@acme.example    ID token signed by another key (same kid)
//   deny / deny:anything        authorization ends with error=access_denied
// The tampered tokens are issued by the real flow, then re-signed with the
// provider's own key (except bad-sig), so only the tampered claim is wrong.
// For every <mode>: account the ID token's `sub` is the plain e-mail address
// (the account id, and so userinfo's and the access token's sub, keep the prefix).

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import { Provider, interactionPolicy } from 'oidc-provider';
import {
  SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair,
} from 'jose';

const MODES = new Set(['wrong-aud', 'expired', 'wrong-nonce', 'unverified', 'bad-sig', 'deny']);

// "expired:ceo@acme.example" -> { mode: 'expired', email: 'ceo@acme.example' }
function parseHint(hint) {
  const i = hint.indexOf(':');
  if (i !== -1 && MODES.has(hint.slice(0, i))) {
    return { mode: hint.slice(0, i), email: hint.slice(i + 1) };
  }
  if (MODES.has(hint)) return { mode: hint, email: '' };
  return { mode: undefined, email: hint };
}

// "jane.doe@acme.example" -> "Jane Doe"
function nameFrom(email) {
  const local = email.split('@')[0] || email;
  return local
    .split(/[._+-]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join(' ');
}

const env = process.env;
const HOST = env.HOST || '127.0.0.1';
const CLIENT_ID = env.CLIENT_ID || 'mandate';
const CLIENT_SECRET = env.CLIENT_SECRET || 'mandate-secret';
const REDIRECT_URIS = (env.REDIRECT_URI || 'http://127.0.0.1:8080/auth/oidc/callback')
  .split(',').map((s) => s.trim()).filter(Boolean);

// Signing key: fresh RS256 key per run, so the test can also hand-sign with it.
const KID = `test-${randomBytes(4).toString('hex')}`;
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
let otherKey; // for bad-sig, made on first use

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(env.PORT || 0), HOST, resolve);
});
const { port } = server.address();
const ISSUER = env.ISSUER || `http://127.0.0.1:${port}`;

const policy = interactionPolicy.base();
// A session for another account (reused cookie jar) must not silently win
// over login_hint: ask for a new login whenever they differ.
policy.get('login').checks.add(new interactionPolicy.Check(
  'login_hint_mismatch',
  'login_hint names another account than the session',
  (ctx) => {
    const hint = ctx.oidc.params.login_hint;
    const current = ctx.oidc.session.accountId;
    if (hint && current && hint !== current) return interactionPolicy.Check.REQUEST_PROMPT;
    return interactionPolicy.Check.NO_NEED_TO_PROMPT;
  },
));

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: REDIRECT_URIS,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    // oidc-provider accepts client_secret_post too for a client registered
    // with client_secret_basic (both are "client secret" methods).
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true }, // only S256 exists in oidc-provider 9
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  conformIdTokenClaims: false, // scope claims go into the ID token itself
  responseTypes: ['code'],
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
  },
  interactions: {
    policy,
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  async findAccount(ctx, id) {
    const { mode, email } = parseHint(id);
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email,
          email_verified: mode !== 'unverified',
          name: nameFrom(email),
        };
      },
    };
  },
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});

// Non-interactive interaction step: log in the login_hint account and grant
// everything requested, in one go.
provider.use(async (ctx, next) => {
  const m = ctx.method === 'GET' && /^\/interaction\/([^/]+)$/.exec(ctx.path);
  if (!m) return next();

  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { params, session } = details;
  const accountId = params.login_hint || session?.accountId;
  if (!accountId) {
    return provider.interactionFinished(ctx.req, ctx.res, {
      error: 'login_required',
      error_description: 'test provider: pass the account in login_hint',
    }, { mergeWithLastSubmission: false });
  }
  if (parseHint(accountId).mode === 'deny') {
    return provider.interactionFinished(ctx.req, ctx.res, {
      error: 'access_denied',
      error_description: 'test provider: login_hint asked for a denial',
    }, { mergeWithLastSubmission: false });
  }

  // Session of another account: drop it, so the resume step does not show
  // oidc-provider's "log out first?" form.
  if (session?.accountId && session.accountId !== accountId) {
    const old = await provider.Session.findByUid(session.uid);
    if (old) await old.destroy();
    details.session = undefined;
    details.grantId = undefined;
    await details.save(details.exp - Math.floor(Date.now() / 1000));
  }

  let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  if (!grant || grant.accountId !== accountId) {
    grant = new provider.Grant({ accountId, clientId: params.client_id });
  }
  if (params.scope) grant.addOIDCScope(params.scope);
  if (params.claims) {
    const claims = JSON.parse(params.claims);
    grant.addOIDCClaims([
      ...Object.keys(claims.id_token || {}),
      ...Object.keys(claims.userinfo || {}),
    ]);
  }
  const grantId = await grant.save();

  return provider.interactionFinished(ctx.req, ctx.res, {
    login: { accountId },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
});

// Test hooks: tamper with ID tokens of accounts named "<mode>:<email>".
const originalIssue = provider.IdToken.prototype.issue;
provider.IdToken.prototype.issue = async function issue(options = {}) {
  const jwt = await originalIssue.call(this, options);
  if (options.use !== 'idtoken') return jwt;
  const payload = decodeJwt(jwt);
  const { mode, email } = parseHint(String(payload.sub));
  if (!mode) return jwt;

  const now = Math.floor(Date.now() / 1000);
  payload.sub = email;
  switch (mode) {
    case 'wrong-aud': payload.aud = `not-${CLIENT_ID}`; break;
    case 'expired': payload.iat = now - 7200; payload.exp = now - 3600; break;
    case 'wrong-nonce': payload.nonce = `not-${payload.nonce ?? 'requested'}-${randomBytes(4).toString('hex')}`; break;
    default: break;
  }
  const header = decodeProtectedHeader(jwt);
  if (mode === 'bad-sig') otherKey ||= (await generateKeyPair('RS256')).privateKey;
  return new SignJWT(payload)
    .setProtectedHeader(header)
    .sign(mode === 'bad-sig' ? otherKey : privateKey);
};

provider.on('server_error', (ctx, err) => console.error('server_error', err));

server.on('request', provider.callback());
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

console.log(`listening on ${port}`);
