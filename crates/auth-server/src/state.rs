//! What the handlers share.

use auth_tokens::TokenService;
use axum::extract::FromRef;

use crate::users::Users;

/// The state of the token routes: the token service and the users who may log in.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    service: TokenService,
    users: Users,
}

impl AppState {
    /// State for [`router`](crate::router).
    pub fn new(service: TokenService, users: Users) -> Self {
        AppState { service, users }
    }

    /// The token service.
    pub fn service(&self) -> &TokenService {
        &self.service
    }

    /// The users.
    pub fn users(&self) -> &Users {
        &self.users
    }
}

impl FromRef<AppState> for TokenService {
    fn from_ref(state: &AppState) -> Self {
        state.service.clone()
    }
}
