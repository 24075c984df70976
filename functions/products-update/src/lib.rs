//! `PUT` / `PATCH /api/products/{id}`: change any of name, description,
//! price and stock_quantity; fields left out keep their value, and
//! `"description": null` clears it.

use contract::etag::{self, Condition};
use contract::fields::nullable;
use contract::model::Product;
use contract::{Decimal, FromRow, Function, Limits, Method, Outcome, Reply, Request, Validator};
use serde::Deserialize;

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Put, Method::Patch],
    path: "/api/products/{id}",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Changes {
    #[serde(default, deserialize_with = "nullable")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "contract::fields::amount_option")]
    price: Option<Decimal>,
    #[serde(default, deserialize_with = "contract::fields::whole_option")]
    stock_quantity: Option<i32>,
}

const UPDATE: &str = "UPDATE products SET
        name = COALESCE($2, name),
        description = CASE WHEN $3 THEN $4 ELSE description END,
        price = COALESCE($5, price),
        stock_quantity = COALESCE($6, stock_quantity)
    WHERE id = $1 AND ($7::timestamptz[] IS NULL OR updated_at = ANY($7))
        AND updated_at <> ALL($8)
    RETURNING id, name, description, price, stock_quantity, created_at, updated_at";

async fn handle(req: Request) -> Outcome {
    let id = req.id("id")?;
    let changes: Changes = req.json()?;
    let mut rules = Validator::new();
    rules.check(
        changes.name.is_some()
            || changes.description.is_some()
            || changes.price.is_some()
            || changes.stock_quantity.is_some(),
        "body",
        "give at least one of `name`, `description`, `price`, `stock_quantity`",
    );
    rules.check(
        !matches!(changes.name, Some(None)),
        "name",
        "must not be null",
    );
    let name = changes.name.flatten();
    if let Some(name) = &name {
        rules.text("name", name, 200);
    }
    let set_description = changes.description.is_some();
    let description = changes.description.flatten();
    if let Some(description) = &description {
        rules.optional_text("description", description, 2000);
    }
    if let Some(price) = &changes.price {
        rules.price("price", price);
    }
    if let Some(stock) = changes.stock_quantity {
        rules.check(stock >= 0, "stock_quantity", "must not be negative");
    }
    rules.finish()?;

    let condition = req.condition(id)?;
    let versions = condition.as_ref().and_then(Condition::versions);
    let refused = condition.as_ref().map_or(&[][..], Condition::refused);

    let conn = req.db().exclusive().await?;
    let params: [&(dyn contract::db::ToSql + Sync); 8] = [
        &id,
        &name,
        &set_description,
        &description,
        &changes.price,
        &changes.stock_quantity,
        &versions,
        &refused,
    ];
    let Some(row) = conn.query_opt(UPDATE, &params).await? else {
        return Err(
            etag::unwritten(&conn, Product::VERSION, "product", id, condition.as_ref()).await,
        );
    };
    let product = Product::from_row(&row)?;
    Ok(Reply::written(&product).with_etag(product.id, product.updated_at))
}
