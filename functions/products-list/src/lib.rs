//! `GET /api/products`: products by id, a page at a time, filtered by
//! `?in_stock=`, `?min_price=`, `?max_price=` and `?q=` (name contains,
//! case-insensitive).

use contract::model::{all, Product};
use contract::{handler, query, Decimal, Function, Limits, Method, Outcome, Page, Request};
use serde::Deserialize;

pub const FUNCTION: Function = Function {
    name: "products-list",
    methods: &[Method::Get],
    path: "/api/products",
    limits: Limits::DEFAULT,
    handler: handler!(handle),
};

#[derive(Deserialize)]
struct Filters {
    in_stock: Option<bool>,
    #[serde(default, deserialize_with = "contract::money::from_query")]
    min_price: Option<Decimal>,
    #[serde(default, deserialize_with = "contract::money::from_query")]
    max_price: Option<Decimal>,
    q: Option<String>,
}

// `strpos` on lowered text: a plain substring test, so `%` and `_` in `q`
// mean themselves.
const LIST: &str = "SELECT id, name, description, price, stock_quantity, created_at, updated_at
    FROM products
    WHERE ($3::boolean IS NULL OR (stock_quantity > 0) = $3)
      AND ($4::numeric IS NULL OR price >= $4)
      AND ($5::numeric IS NULL OR price <= $5)
      AND ($6::text IS NULL OR strpos(lower(name), lower($6)) > 0)
    ORDER BY id LIMIT $1 OFFSET $2";

async fn handle(req: Request) -> Outcome {
    let page = Page::from_request(&req)?;
    let filters: Filters = req.query()?;
    if filters
        .q
        .as_deref()
        .is_some_and(|q| q.contains('\0') || q.chars().count() > 200)
    {
        return Err(query::invalid(
            "q",
            "must be at most 200 characters, without NUL",
        ));
    }
    let conn = req.db().shared().await?;
    let rows = conn
        .query(
            LIST,
            &[
                &page.fetch_limit(),
                &page.offset,
                &filters.in_stock,
                &filters.min_price,
                &filters.max_price,
                &filters.q,
            ],
        )
        .await?;
    page.reply(&req, all::<Product>(&rows)?)
}
