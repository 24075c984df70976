//! `GET /api/users`: users ordered by id, `?limit=`, `?after=` and `?offset=`.

use contract::model::User;
use contract::{FromRow, Function, Limits, Method, Outcome, Page, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/api/users",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

pub const LIST: &str = "SELECT id, username, email, created_at, updated_at FROM users \
                    WHERE id > $3 ORDER BY id LIMIT $1 OFFSET $2";

async fn handle(req: Request) -> Outcome {
    let page = Page::from_request(&req)?;
    let rows = req
        .db()
        .read(page.cost())
        .await?
        .query(LIST, &[&page.fetch_limit(), &page.offset, &page.after])
        .await?;
    page.reply(&req, User::from_rows(&rows)?)
}
