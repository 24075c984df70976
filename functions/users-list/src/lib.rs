//! `GET /api/users`: users ordered by id, `?limit=`, `?after=` and `?offset=`.

use contract::model::{all, User};
use contract::{handler, Function, Limits, Method, Outcome, Page, Request};

pub const FUNCTION: Function = Function {
    name: "users-list",
    methods: &[Method::Get],
    path: "/api/users",
    limits: Limits::DEFAULT,
    handler: handler!(handle),
};

pub const LIST: &str = "SELECT id, username, email, created_at, updated_at FROM users \
                    WHERE id > $3 ORDER BY id LIMIT $1 OFFSET $2";

async fn handle(req: Request) -> Outcome {
    let page = Page::from_request(&req)?;
    let rows = req
        .db()
        .shared()
        .await?
        .query(LIST, &[&page.fetch_limit(), &page.offset, &page.after])
        .await?;
    page.reply(&req, all::<User>(&rows)?)
}
