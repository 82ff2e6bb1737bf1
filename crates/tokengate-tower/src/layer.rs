//! The layer.

use tokengate_core::TokenGate;
use tower_layer::Layer;

use crate::service::TokenGateService;

/// Wraps a service with the gate: the endpoints under the prefix are answered, every other
/// request is guarded.
#[derive(Debug, Clone)]
pub struct TokenGateLayer {
    gate: TokenGate,
}

impl TokenGateLayer {
    /// A layer for this gate.
    pub fn new(gate: TokenGate) -> Self {
        Self { gate }
    }
}

impl<S> Layer<S> for TokenGateLayer {
    type Service = TokenGateService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TokenGateService::new(inner, self.gate.clone())
    }
}
