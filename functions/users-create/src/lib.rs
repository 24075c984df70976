//! `POST /api/users`: `{"username", "email"}` → 201 with the user and its
//! `Location`; 409 when either is taken.

use contract::model::User;
use contract::{FromRow, Function, Limits, Method, Outcome, Reply, Request, Validator};
use serde::Deserialize;

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Post],
    path: "/api/users",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    email: String,
}

const INSERT: &str = "INSERT INTO users (username, email) VALUES ($1, $2) \
                      RETURNING id, username, email, created_at, updated_at";

async fn handle(req: Request) -> Outcome {
    let user: NewUser = req.json()?;
    let mut rules = Validator::new();
    rules
        .text("username", &user.username, 80)
        .email("email", &user.email);
    rules.finish()?;

    let conn = req.db().exclusive().await?;
    let row = conn
        .query_one(INSERT, &[&user.username, &user.email])
        .await
        .map_err(|error| error.or_taken(User::UNIQUE))?;
    let user = User::from_row(&row)?;
    Ok(
        Reply::created(format!("/api/users/{}", user.id), &user)
            .with_etag(user.id, user.updated_at),
    )
}
