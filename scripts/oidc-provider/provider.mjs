// A local OpenID provider for tokengate's CI: panva's oidc-provider on 127.0.0.1:$PORT, with
// signing keys made at start (never stored) and two clients: `orders-service`, that gets JWT
// access tokens for the API `orders-api` with the client credentials grant, and
// `tokengate-demo`, that signs users in with the authorization code flow (PKCE) at the
// REDIRECT_URIS given. Its users are whoever types a login on its development login page
// (any password); the demo, a first-party client, is granted its scopes without a consent
// page.
//
// Environment: PORT, CLIENT_SECRET (both clients' secret, made per run by the caller),
// ACCESS_ALG (the access tokens' algorithm: ES256 by default, or RS256), REDIRECT_URIS
// (comma-separated callbacks of `tokengate-demo`).
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 18700);
const secret = process.env.CLIENT_SECRET;
if (!secret) {
  console.error('CLIENT_SECRET is required');
  process.exit(2);
}
const alg = process.env.ACCESS_ALG ?? 'ES256';
const redirects = (process.env.REDIRECT_URIS ?? '').split(',').filter(Boolean);

async function signingKey(algorithm, kid) {
  const { privateKey } = await generateKeyPair(algorithm, { extractable: true });
  return { ...(await exportJWK(privateKey)), alg: algorithm, use: 'sig', kid };
}

const suffix = Date.now().toString(36);
const keys = [await signingKey('RS256', `rs-${suffix}`), await signingKey('ES256', `es-${suffix}`)];

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  jwks: { keys },
  clients: [
    {
      client_id: 'orders-service',
      client_secret: secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    },
    {
      client_id: 'tokengate-demo',
      client_secret: secret,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: redirects,
      id_token_signed_response_alg: 'ES256',
    },
  ],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@users.example`, email_verified: true, name: `User ${id}` };
      },
    };
  },
  // The demo is this provider's own application: its scopes are granted without asking.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      return ctx.oidc.provider.Grant.find(grantId);
    }
    if (ctx.oidc.client.clientId !== 'tokengate-demo') {
      return undefined;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:orders-api',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== 'urn:orders-api') {
          throw new Error(`unknown resource ${resource}`);
        }
        return {
          scope: 'read write',
          audience: 'orders-api',
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        };
      },
    },
  },
});
provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider: ${issuer} (access tokens ${alg}, keys ${keys.map((k) => k.kid).join(', ')})`);
});
