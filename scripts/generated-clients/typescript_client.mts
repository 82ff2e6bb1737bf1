// The types openapi-typescript generated from a demo's served document (./schema.d.ts), with
// openapi-fetch, used as they come: sign-in in multipart, urlencoded and JSON; /token; /me and
// the sessions list with the access token; sign-out; a 401 and a 429 read as the documented
// Error. Type-checked by tsc before it runs. Usage: node typescript_client.mjs <base URL>
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];
const base = process.argv[2];
const user = "john.doe@email.org";
const password = "#thePassword1234!";
const client = createClient<paths>({ baseUrl: base });

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`generated TypeScript client: ${what}`);
}

// Multipart: a body serializer that makes FormData (fetch then sets the boundary).
function multipart(body: object | undefined): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(body ?? {})) {
    if (value !== undefined && value !== null) form.append(name, String(value));
  }
  return form;
}
const urlencoded = { "Content-Type": "application/x-www-form-urlencoded" } as const;

function tokens(what: string, answer: { data?: Schemas["Tokens"] | Schemas["CookieTokens"]; response: Response }): Schemas["Tokens"] {
  check(answer.data && "accessToken" in answer.data, `${what}: ${answer.response.status}`);
  return answer.data;
}

const multipartBody: Schemas["SignInMultipart"] = { login: user, password };
const byMultipart = tokens("multipart sign-in", await client.POST("/api/rest/signin", { body: multipartBody, bodySerializer: multipart }));
const formBody: Schemas["SignInForm"] = { login: user, password };
const byForm = tokens("urlencoded sign-in", await client.POST("/api/rest/signin", { body: formBody, headers: urlencoded }));
const jsonBody: Schemas["SignIn"] = { login: user, password, cookieauth: false };
const byJson = tokens("JSON sign-in", await client.POST("/api/rest/signin", { body: jsonBody }));

const renewed = tokens("/token", await client.POST("/api/rest/token", { body: { token: byJson.refreshToken } }));

const bearer = (token: string): Middleware => ({
  onRequest({ request }) {
    request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
});
const authed = createClient<paths>({ baseUrl: base });
authed.use(bearer(renewed.accessToken));
const me = await authed.GET("/api/rest/me");
check(me.data?.sub === user, `/me: ${me.response.status}`);
const listed = await authed.GET("/api/rest/sessions");
check(listed.data && listed.data.sessions.length >= 3, `sessions: ${listed.response.status}`);

let out = await client.POST("/api/rest/signout", { body: { token: byMultipart.refreshToken }, bodySerializer: multipart });
check(out.data?.sessionsEnded === 1, `multipart sign-out: ${out.response.status}`);
out = await client.POST("/api/rest/signout", { body: { token: byForm.refreshToken }, headers: urlencoded });
check(out.data?.sessionsEnded === 1, `urlencoded sign-out: ${out.response.status}`);

const stranger = createClient<paths>({ baseUrl: base });
stranger.use(bearer("not-a-token"));
const refused = await stranger.GET("/api/rest/me");
const unauthorized: Schemas["Error"] | undefined = refused.error;
check(refused.response.status === 401 && unauthorized?.error === "invalid_token", "401");
const login = `stranger-${Date.now()}@example.org`;
let last;
for (let attempt = 0; attempt < 11; attempt++) {
  last = await client.POST("/api/rest/signin", { body: { login, password: "wrong" }, bodySerializer: multipart });
}
const throttled: Schemas["Error"] | undefined = last?.error;
check(last?.response.status === 429 && throttled?.error === "too_many_attempts", "429");
console.log("generated TypeScript client: every call answered as documented");
