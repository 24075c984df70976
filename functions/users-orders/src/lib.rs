//! `GET /api/users/{id}/orders`: a user's orders with their items, by id,
//! a page at a time; 404 when there is no such user.

use contract::model::{Order, User};
use contract::{Function, Limits, Method, Outcome, Page, Problem, Request};

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/api/users/{id}/orders",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

pub const ORDERS: &str = "WITH page AS (
        SELECT id, user_id, status, total_amount, created_at, updated_at FROM orders
        -- user_id = $3 AND id > $4, as a range of the (user_id, id) index:
        -- see orders-list.
        WHERE (user_id, id) > ($3, $4) AND user_id <= $3
        ORDER BY user_id, id LIMIT $1 OFFSET $2)
    SELECT page.*, i.id AS item_id, i.product_id, i.quantity, i.price
    FROM page LEFT JOIN order_items i ON i.order_id = page.id
    ORDER BY page.id, i.id";

async fn handle(req: Request) -> Outcome {
    let id = req.id("id")?;
    let page = Page::from_request(&req)?;
    let conn = req.db().read(page.cost()).await?;
    // Both statements go out together on the one connection.
    let (exists, rows) = tokio::try_join!(
        async { conn.query_one(User::EXISTS, &[&id]).await },
        async {
            conn.query(
                ORDERS,
                &[&page.fetch_limit(), &page.offset, &id, &page.after],
            )
            .await
        },
    )?;
    if !exists.try_get::<_, bool>(0)? {
        return Err(Problem::not_found_id("user", id));
    }
    page.reply(&req, Order::from_rows(&rows)?)
}
