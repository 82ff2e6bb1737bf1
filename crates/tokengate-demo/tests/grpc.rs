//! The gRPC demo's app with tonic's own client: refusals are gRPC statuses (never an HTTP
//! error the client would report as a transport failure), the methods read the caller's
//! claims, and the REST endpoints answer on the same port.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::{Ipv4Addr, SocketAddr};

use grpc_app::helloworld::greeter_client::GreeterClient;
use grpc_app::helloworld::HelloRequest;
use tokengate_demo::{demo, grpc_app};
use tonic::transport::Channel;
use tonic::Code;

const SECRET: &str = "a-grpc-test-only-secret-of-32-bytes-or-more";

/// The demo gate on the test secret, and a listener on a free port with its base URL.
async fn gate_and_listener() -> (tokengate::TokenGate, tokio::net::TcpListener, String) {
    let sources = tokengate::Config::sources(None, "default", [("TOKENGATE_SECRET", SECRET)])
        .expect("sources");
    let gate = demo::demo_gate(demo::demo_config_from(sources).expect("config")).expect("gate");
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    (gate, listener, base)
}

/// The gRPC demo's app on a free port; its base URL.
async fn serve() -> String {
    let (gate, listener, base) = gate_and_listener().await;
    tokio::spawn(async move {
        let app = grpc_app::router(gate);
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    base
}

async fn sign_in(base: &str, (login, password): (&str, &str)) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/rest/signin"))
        .form(&[("login", login), ("password", password)])
        .send()
        .await
        .expect("REST sign-in on the gRPC port")
        .json()
        .await
        .expect("JSON");
    answer["accessToken"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// The method's answer: the reply's message, or the status code and message.
async fn call(
    client: &mut GreeterClient<Channel>,
    admin: bool,
    token: Option<&str>,
) -> Result<String, (Code, String)> {
    let mut request = tonic::Request::new(HelloRequest {
        name: "tonic".to_owned(),
    });
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let answer = if admin {
        client.say_hello_admin(request).await
    } else {
        client.say_hello(request).await
    };
    answer
        .map(|reply| reply.into_inner().message)
        .map_err(|status| (status.code(), status.message().to_owned()))
}

/// `token` with its `exp` in the past, signed again with the test secret.
fn expired(token: &str) -> String {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let mut claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    let now = claims["iat"].as_i64().unwrap();
    claims["iat"] = (now - 600).into();
    claims["exp"] = (now - 120).into();
    // The same header (`typ`, `kid`): only the time has changed.
    let header = jsonwebtoken::decode_header(token).unwrap();
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn tonic_clients_get_grpc_statuses_and_the_methods_get_the_claims() {
    let base = serve().await;
    let john = sign_in(&base, demo::USER).await; // roles user, admin
    let jane = sign_in(&base, demo::SECOND_USER).await; // role user
    let mut client = GreeterClient::connect(base.clone()).await.expect("connect");
    let expired = expired(&jane);
    let denied = "the token lacks what this route requires: admin";
    let cases = [
        // (SayHelloAdmin?, token, answer)
        (
            false,
            None,
            Err((Code::Unauthenticated, "an access token is required")),
        ),
        (
            false,
            Some("not.a.token"),
            Err((Code::Unauthenticated, "the token is not a well-formed JWT")),
        ),
        (
            false,
            Some(jane.as_str()),
            Ok("Hello tonic, from jane.roe@email.org"),
        ),
        (
            true,
            Some(jane.as_str()),
            Err((Code::PermissionDenied, denied)),
        ),
        (
            true,
            Some(john.as_str()),
            Ok("Hello admin tonic, from john.doe@email.org"),
        ),
        (
            false,
            Some(expired.as_str()),
            Err((Code::Unauthenticated, "the token has expired")),
        ),
        (
            true,
            None,
            Err((Code::Unauthenticated, "an access token is required")),
        ),
    ];
    for (admin, token, answer) in cases {
        let expected = answer
            .map(str::to_owned)
            .map_err(|(code, message)| (code, message.to_owned()));
        assert_eq!(
            call(&mut client, admin, token).await,
            expected,
            "{admin} {token:?}"
        );
    }
    // A refresh token is no access token, over gRPC as over REST.
    let refresh: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/rest/signin"))
        .form(&[("login", demo::USER.0), ("password", demo::USER.1)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = refresh["refreshToken"].as_str().unwrap();
    assert_eq!(
        call(&mut client, false, Some(refresh)).await.unwrap_err().0,
        Code::Unauthenticated
    );
    // The channel is still good after refusals: they were statuses, not broken streams.
    assert!(call(&mut client, false, Some(&john)).await.is_ok());
}

#[tokio::test]
async fn rest_and_grpc_share_the_port_and_the_sessions() {
    let base = serve().await;
    let answer = reqwest::Client::new()
        .post(format!("{base}/api/rest/signin"))
        .form(&[("login", demo::USER.0), ("password", demo::USER.1)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let tokens: serde_json::Value = answer.json().await.unwrap();
    let access = tokens["accessToken"].as_str().unwrap();
    let me: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/rest/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["sub"], demo::USER.0);
    let mut client = GreeterClient::connect(base.clone()).await.unwrap();
    assert!(call(&mut client, true, Some(access)).await.is_ok());
    // A REST call without a token still gets the REST answer: 401 with a JSON error.
    let refused = reqwest::get(format!("{base}/api/rest/me")).await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["content-type"],
        "application/json",
        "REST refusals stay JSON"
    );
}

#[tokio::test]
async fn the_layer_guards_a_plain_tonic_server_and_answers_the_endpoints_there() {
    let (gate, listener, base) = gate_and_listener().await;
    // No axum: tonic's own server, the layer around every service, HTTP/1.1 accepted for the
    // sign-in that the layer answers itself.
    let server = tonic::transport::Server::builder()
        .accept_http1(true)
        .layer(tokengate::axum::TokenGateLayer::new(gate))
        .add_service(grpc_app::helloworld::greeter_server::GreeterServer::new(
            grpc_app::Hello,
        ));
    tokio::spawn(server.serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)));
    let jane = sign_in(&base, demo::SECOND_USER).await;
    let mut client = GreeterClient::connect(base.clone()).await.expect("connect");
    assert_eq!(
        call(&mut client, false, None).await.unwrap_err().0,
        Code::Unauthenticated
    );
    assert_eq!(
        call(&mut client, false, Some(&jane)).await,
        Ok("Hello tonic, from jane.roe@email.org".to_owned())
    );
    // No route layer here: the method's own `grpc::authorize` refuses, in the same words.
    assert_eq!(
        call(&mut client, true, Some(&jane)).await,
        Err((
            Code::PermissionDenied,
            "the token lacks what this route requires: admin".to_owned()
        ))
    );
}
