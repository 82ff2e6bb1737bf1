//! The endpoints as a service of their own, for apps that wrap only some scopes.

use actix_web::dev::HttpServiceFactory;
use actix_web::{web, HttpResponse};
use tokengate_core::TokenGate;

/// The gate's endpoints as a service of their own (a scope at the configured prefix, wrapped
/// with the gate), for an app whose [`TokenGateTransform`](crate::TokenGateTransform) wraps
/// only scopes that do not cover the endpoints' paths. With `App::wrap`, or a scope at the
/// endpoints' prefix, it is not needed.
///
/// ```
/// use actix_web::{web, App, HttpResponse};
/// use tokengate::actix::{endpoints, TokenGateTransform};
/// use tokengate::credentials::MemoryDirectory;
/// use tokengate::{Config, TokenGate};
///
/// let config = Config::default().with_secret("an-example-secret-of-at-least-32-bytes");
/// let gate = TokenGate::builder(config).credentials(MemoryDirectory::new()).build()?;
/// let app = App::new()
///     .service(endpoints(gate.clone()))
///     .service(
///         web::scope("/v2")
///             .wrap(TokenGateTransform::new(gate))
///             .route("/me", web::get().to(|| async { HttpResponse::Ok().finish() })),
///     );
/// # drop(app);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn endpoints(gate: TokenGate) -> impl HttpServiceFactory {
    let prefix = gate.config().endpoints.prefix.clone();
    // The endpoints from the root (the discovery documents, with `discovery` on), each a
    // resource of its own, wrapped with the gate as the scope is.
    let at_root: Vec<_> = gate
        .endpoint_routes()
        .filter(|(row, _)| row.at_root)
        .map(|(_, path)| {
            web::resource(path)
                .wrap(crate::TokenGateTransform::new(gate.clone()))
                .default_service(web::to(HttpResponse::NotFound))
        })
        .collect();
    let scope = web::scope(&prefix)
        .wrap(crate::TokenGateTransform::new(gate))
        // The gate answers its endpoints itself; anything else under the prefix is not found.
        .default_service(web::to(HttpResponse::NotFound));
    (scope, at_root)
}
