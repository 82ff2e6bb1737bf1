//! `runner <base URL>`: the client oas3-gen generated from a demo's served document, used as
//! it comes: JSON sign-in (oas3-gen sends the first encoding of a body, JSON), `/token`, `/me`
//! and the sessions list with the access token, sign-out, and a 401 and a 429 read as the
//! documented `Error`.

use client::*;
use serde_json::json;

const USER: &str = "john.doe@email.org";
const PASSWORD: &str = "#thePassword1234!";

fn fail(what: &str, answer: impl std::fmt::Debug) -> ! {
    eprintln!("generated Rust client: {what}: {answer:?}");
    std::process::exit(1)
}

async fn sign_in(client: &TokengateDemoClient, login: &str, password: &str) -> Tokens {
    let body = SignIn {
        login: json!(login),
        password: json!(password),
        cookieauth: Some(false),
        ..Default::default()
    };
    match client.signin(SigninRequest { body: Some(body) }).await {
        Ok(ApiResponse::Created(WithHeaders {
            body: SignedIn::Tokens(tokens),
            ..
        })) => tokens,
        other => fail("JSON sign-in", other),
    }
}

#[tokio::main]
async fn main() {
    let base = std::env::args().nth(1).unwrap_or_else(|| fail("usage", "runner <base URL>"));
    let client = TokengateDemoClient::with_base_url(format!("{base}/"))
        .unwrap_or_else(|error| fail("base URL", error));
    let signed_in = sign_in(&client, USER, PASSWORD).await;

    let request = TokenRequest {
        body: Some(Refresh {
            token: Some(json!(signed_in.refresh_token)),
            ..Default::default()
        }),
    };
    let renewed = match client.token(request).await {
        Ok(ApiResponse::Created(WithHeaders {
            body: SignedIn::Tokens(tokens),
            ..
        })) => tokens,
        other => fail("/token", other),
    };

    let bearer = client.clone().with_bearer_auth(renewed.access_token.clone());
    match bearer.me(MeRequest {}).await {
        Ok(ApiResponse::Ok(claims)) if claims.sub == USER => {}
        other => fail("/me", other),
    }
    match bearer.sessions(SessionsRequest {}).await {
        Ok(ApiResponse::Ok(listed)) if !listed.sessions.is_empty() => {}
        other => fail("sessions", other),
    }

    let out = SignOut::Scope(SignOutSignOutScope {
        token: Some(json!(signed_in.refresh_token)),
        ..Default::default()
    });
    match client.signout(SignoutRequest { body: Some(out) }).await {
        Ok(ApiResponse::Ok(signed_out)) if signed_out.sessions_ended == 1 => {}
        other => fail("sign-out", other),
    }

    match client.clone().with_bearer_auth("not-a-token").me(MeRequest {}).await {
        Ok(ApiResponse::Unauthorized(error)) if error.error == ErrorError::InvalidToken => {}
        other => fail("401", other),
    }
    let stranger = format!("stranger-{}@example.org", std::process::id());
    let mut last = None;
    for _ in 0..11 {
        let body = SignIn {
            login: json!(stranger),
            password: json!("wrong"),
            ..Default::default()
        };
        last = Some(client.signin(SigninRequest { body: Some(body) }).await);
    }
    match last {
        Some(Ok(ApiResponse::TooManyRequests(WithHeaders { headers, body })))
            if body.error == ErrorError::TooManyAttempts && headers.retry_after.is_some() => {}
        other => fail("429", other),
    }
    println!("generated Rust client: every call answered as documented");
}
