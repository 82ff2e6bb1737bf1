// `node jose_peer.mjs <issuer URL> <port>`: a service with one route, `GET /check`, that
// verifies the bearer token with panva's jose from the issuer URL alone: the JWKS URL comes
// from the issuer's discovery document, the key set from `createRemoteJWKSet`. 200 with the
// subject when jose accepts the token as an access token (`typ: at+jwt`), 401 with jose's
// error code otherwise.
import http from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [issuer, port] = process.argv.slice(2);
const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
// A token of a key not in the set fetches it again, at most every five seconds (30 by default).
const keys = createRemoteJWKSet(new URL(discovery.jwks_uri), { cooldownDuration: 5_000 });

http
  .createServer(async (request, response) => {
    const token = (request.headers.authorization ?? '').replace(/^Bearer /, '');
    try {
      const { payload } = await jwtVerify(token, keys, { issuer, typ: 'at+jwt' });
      response.writeHead(200).end(payload.sub);
    } catch (error) {
      response.writeHead(401).end(error.code ?? String(error));
    }
  })
  .listen(Number(port), '127.0.0.1');
