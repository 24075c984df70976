//! `POST /api/products`: `{"name", "description"?, "price", "stock_quantity"}`
//! → 201 with the product and its `Location`.

use contract::model::Product;
use contract::{Decimal, FromRow, Function, Limits, Method, Outcome, Reply, Request, Validator};
use serde::Deserialize;

pub const FUNCTION: Function = Function {
    name: env!("CARGO_PKG_NAME"),
    methods: &[Method::Post],
    path: "/api/products",
    limits: Limits::DEFAULT,
    handler: |req| Box::pin(handle(req)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewProduct {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(deserialize_with = "contract::fields::amount")]
    price: Decimal,
    #[serde(deserialize_with = "contract::fields::whole")]
    stock_quantity: i32,
}

const INSERT: &str = "INSERT INTO products (name, description, price, stock_quantity)
    VALUES ($1, $2, $3, $4)
    RETURNING id, name, description, price, stock_quantity, created_at, updated_at";

async fn handle(req: Request) -> Outcome {
    let product: NewProduct = req.json()?;
    let mut rules = Validator::new();
    rules
        .text("name", &product.name, 200)
        .optional_text(
            "description",
            product.description.as_deref().unwrap_or_default(),
            2000,
        )
        .price("price", &product.price)
        .check(
            product.stock_quantity >= 0,
            "stock_quantity",
            "must not be negative",
        );
    rules.finish()?;

    let conn = req.db().exclusive().await?;
    let params: [&(dyn contract::db::ToSql + Sync); 4] = [
        &product.name,
        &product.description,
        &product.price,
        &product.stock_quantity,
    ];
    let product = Product::from_row(&conn.query_one(INSERT, &params).await?)?;
    Ok(
        Reply::created(format!("/api/products/{}", product.id), &product)
            .with_etag(product.id, product.updated_at),
    )
}
