// A local OpenID provider for tokengate's CI: panva's oidc-provider on 127.0.0.1:$PORT, with
// signing keys made at start (never stored) and one client, `orders-service`, that gets JWT
// access tokens for the API `orders-api` with the client credentials grant.
//
// Environment: PORT, CLIENT_SECRET (the client's secret, made per run by the caller),
// ACCESS_ALG (the access tokens' algorithm: ES256 by default, or RS256).
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 18700);
const secret = process.env.CLIENT_SECRET;
if (!secret) {
  console.error('CLIENT_SECRET is required');
  process.exit(2);
}
const alg = process.env.ACCESS_ALG ?? 'ES256';

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
  ],
  features: {
    devInteractions: { enabled: false },
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
