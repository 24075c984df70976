//! `GET /api/products`: products by id, a page at a time (`?after=`,
//! `?limit=`, `?offset=`), filtered by `?in_stock=`, `?min_price=`,
//! `?max_price=` and `?q=` (name contains, case-insensitive, served by a
//! trigram index).

use contract::db::{ToSql, Type};
use contract::model::Product;
use contract::{query, Decimal, FromRow, Function, Limits, Method, Outcome, Page, Request};
use serde::Deserialize;

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Get],
    path: "/api/products",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
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

const COLUMNS: &str = "id, name, description, price, stock_quantity, created_at, updated_at";

// The common filters, prepared once: each on an index that serves it in id
// order (the primary key, or a partial index on the ids in or out of stock).
pub const ALL: &str = "SELECT id, name, description, price, stock_quantity, created_at, updated_at
    FROM products WHERE id > $3 ORDER BY id LIMIT $1 OFFSET $2";
pub const IN_STOCK: &str =
    "SELECT id, name, description, price, stock_quantity, created_at, updated_at
    FROM products WHERE stock_quantity > 0 AND id > $3 ORDER BY id LIMIT $1 OFFSET $2";
pub const OUT_OF_STOCK: &str =
    "SELECT id, name, description, price, stock_quantity, created_at, updated_at
    FROM products WHERE stock_quantity = 0 AND id > $3 ORDER BY id LIMIT $1 OFFSET $2";

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
    let (limit, offset, after) = (page.fetch_limit(), page.offset, page.after);
    let rows = if filters.min_price.is_none() && filters.max_price.is_none() && filters.q.is_none()
    {
        let sql = match filters.in_stock {
            None => ALL,
            Some(true) => IN_STOCK,
            Some(false) => OUT_OF_STOCK,
        };
        conn.query(sql, &[&limit, &offset, &after]).await?
    } else {
        // A search or a price range: how many rows match decides the plan
        // (the trigram or price index, or the primary key with a filter),
        // so it is planned for the values at hand, not prepared once.
        let pattern = filters.q.as_deref().map(contains_pattern);
        let mut params: Vec<(&(dyn ToSql + Sync), Type)> = vec![
            (&limit, Type::INT8),
            (&offset, Type::INT8),
            (&after, Type::INT8),
        ];
        for price in [&filters.min_price, &filters.max_price]
            .into_iter()
            .flatten()
        {
            params.push((price, Type::NUMERIC));
        }
        if let Some(pattern) = &pattern {
            params.push((pattern, Type::TEXT));
        }
        let sql = search_sql(
            filters.in_stock,
            filters.min_price.is_some(),
            filters.max_price.is_some(),
            pattern.is_some(),
        );
        conn.query_planned(&sql, &params).await?
    };
    page.reply(&req, Product::from_rows(&rows)?)
}

/// The statement for a search or a price range: `$1` limit, `$2` offset,
/// `$3` after, then the minimum price, the maximum price and the `q`
/// pattern, each when given, in that order.
pub fn search_sql(in_stock: Option<bool>, min_price: bool, max_price: bool, q: bool) -> String {
    let mut filters = String::from("id > $3");
    match in_stock {
        Some(true) => filters.push_str(" AND stock_quantity > 0"),
        Some(false) => filters.push_str(" AND stock_quantity = 0"),
        None => {}
    }
    let mut range = String::from("id > $3");
    let mut next = 4;
    for (given, condition) in [(min_price, "price >="), (max_price, "price <=")] {
        if given {
            range.push_str(&format!(" AND {condition} ${next}"));
            filters.push_str(&format!(" AND {condition} ${next}"));
            next += 1;
        }
    }
    if q {
        filters.push_str(&format!(" AND name ILIKE ${next}"));
    }
    if !(min_price || max_price) {
        return format!(
            "SELECT {COLUMNS} FROM products WHERE {filters} ORDER BY id LIMIT $1 OFFSET $2"
        );
    }
    // A price range: walking the primary key in id order reads about
    // limit ÷ (share of products in the range) rows, a few for a wide range
    // and the whole table for a narrow one; the price index reads every
    // product in the range, then sorts them. The planner weighs the two
    // on estimates and, near the switch, walked 7,000 rows for 706
    // products. So count first, on the price index and capped: up to
    // SMALL_RANGE products, fetch them all and sort (`id + 0` takes id
    // order off the table); past it, the walk reads at most limit ÷ share
    // rows. Only one branch runs (each is gated by the count).
    format!(
        "WITH range AS (SELECT count(*) <= {SMALL_RANGE} AS small
            FROM (SELECT 1 FROM products WHERE {range} LIMIT {SMALL_RANGE} + 1) matching)
        SELECT * FROM (
            (SELECT {COLUMNS} FROM products WHERE (SELECT small FROM range) AND {filters}
             ORDER BY id + 0 LIMIT $1 OFFSET $2)
            UNION ALL
            (SELECT {COLUMNS} FROM products WHERE NOT (SELECT small FROM range) AND {filters}
             ORDER BY id LIMIT $1 OFFSET $2)) page
        ORDER BY id"
    )
}

/// How many products a price range may hold to be fetched whole and
/// sorted rather than found by walking the primary key.
const SMALL_RANGE: u32 = 2000;

/// `q` as an ILIKE pattern for "contains": `%`, `_` and the escape
/// character itself match only themselves.
pub fn contains_pattern(q: &str) -> String {
    let mut pattern = String::with_capacity(q.len() + 2);
    pattern.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}
