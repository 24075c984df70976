//! `PUT` / `PATCH /api/users/{id}`: change the username and/or the email;
//! fields left out keep their value.

use contract::etag::{self, Condition};
use contract::fields::nullable;
use contract::model::User;
use contract::{FromRow, Function, Limits, Method, Outcome, Reply, Request, Validator};
use serde::Deserialize;

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Put, Method::Patch],
    path: "/api/users/{id}",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Changes {
    #[serde(default, deserialize_with = "nullable")]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    email: Option<Option<String>>,
}

const UPDATE: &str =
    "UPDATE users SET username = COALESCE($2, username), email = COALESCE($3, email)
    WHERE id = $1 AND ($4::timestamptz[] IS NULL OR updated_at = ANY($4))
        AND updated_at <> ALL($5)
    RETURNING id, username, email, created_at, updated_at";

async fn handle(req: Request) -> Outcome {
    let id = req.id("id")?;
    let changes: Changes = req.json()?;
    let mut rules = Validator::new();
    rules.check(
        changes.username.is_some() || changes.email.is_some(),
        "body",
        "give `username` and/or `email`",
    );
    rules.check(
        !matches!(changes.username, Some(None)),
        "username",
        "must not be null",
    );
    rules.check(
        !matches!(changes.email, Some(None)),
        "email",
        "must not be null",
    );
    let username = changes.username.flatten();
    let email = changes.email.flatten();
    if let Some(username) = &username {
        rules.text("username", username, 80);
    }
    if let Some(email) = &email {
        rules.email("email", email);
    }
    rules.finish()?;

    let condition = req.condition(id)?;
    let versions = condition.as_ref().and_then(Condition::versions);
    let refused = condition.as_ref().map_or(&[][..], Condition::refused);

    let conn = req.db().exclusive().await?;
    let row = conn
        .query_opt(UPDATE, &[&id, &username, &email, &versions, &refused])
        .await
        .map_err(|error| error.or_taken(User::UNIQUE))?;
    let Some(row) = row else {
        return Err(etag::unwritten(&conn, User::VERSION, "user", id, condition.as_ref()).await);
    };
    let user = User::from_row(&row)?;
    Ok(Reply::written(&user).with_etag(user.id, user.updated_at))
}
