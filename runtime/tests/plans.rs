//! Every list's statement runs on the index that serves its filter, in id
//! order, on tables big enough for the planner to care: prepared once and
//! reused (the generic plan) as well as planned for its values. A plan that
//! walks the primary key for a filter, or scans the table for a search, is
//! what made deep pages and filters cost as much as the table.

use runtime::registry::FUNCTIONS;
use test_support::TestApp;

/// A shop of a few hundred thousand rows, loaded set-based.
async fn big_shop() -> TestApp {
    let app = TestApp::start(FUNCTIONS).await;
    app.sql(
        "INSERT INTO users (username, email)
         SELECT 'user' || n, 'user' || n || '@example.com' FROM generate_series(1, 200000) n",
    )
    .await;
    app.sql(
        "INSERT INTO products (name, price, stock_quantity)
         SELECT (ARRAY['monitor', 'laptop', 'keyboard', 'mouse', 'cable'])[1 + n % 5]
                || ' ' || md5(n::text), (n % 100000) / 100.0, n % 7
         FROM generate_series(1, 200000) n",
    )
    .await;
    app.sql(
        "INSERT INTO orders (user_id, status, total_amount)
         SELECT 1 + (n::bigint * 7919) % 200000,
                (ARRAY['pending', 'confirmed', 'shipped', 'delivered', 'cancelled'])[1 + n % 5], 10
         FROM generate_series(1, 300000) n",
    )
    .await;
    app.sql("ANALYZE").await;
    app
}

/// The plan of `sql` with `args` (SQL literals), as PostgreSQL would run
/// it prepared (`generic`) or planned for these values.
async fn plan(app: &TestApp, sql: &str, args: &str, generic: bool) -> String {
    let mode = if generic {
        "force_generic_plan"
    } else {
        "force_custom_plan"
    };
    app.sql("DEALLOCATE ALL").await;
    app.sql(&format!("SET plan_cache_mode = {mode}")).await;
    app.sql(&format!("PREPARE list AS {sql}")).await;
    let rows = app.sql(&format!("EXPLAIN EXECUTE list({args})")).await;
    rows.iter()
        .map(|row| row.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

#[track_caller]
fn assert_uses(plan: &str, index: &str, table: &str) {
    assert!(plan.contains(index), "expected {index}:\n{plan}");
    assert!(
        !plan.contains(&format!("Seq Scan on {table}")),
        "a scan of {table}:\n{plan}"
    );
}

#[tokio::test]
async fn each_list_and_filter_runs_on_its_index() {
    let app = big_shop().await;
    // limit, offset, after: a page deep in the table.
    let deep = "51, 0, 150000";
    for generic in [true, false] {
        let users = plan(&app, users_list::LIST, deep, generic).await;
        assert_uses(&users, "users_pkey", "users");

        let orders = plan(&app, orders_list::ALL, deep, generic).await;
        assert_uses(&orders, "orders_pkey", "orders");
        let by_user = plan(&app, orders_list::BY_USER, "51, 0, 0, 4242", generic).await;
        assert_uses(&by_user, "orders_user_id_id_idx", "orders");
        let by_status = plan(
            &app,
            orders_list::BY_STATUS,
            "51, 0, 250000, 'shipped'",
            generic,
        )
        .await;
        assert_uses(&by_status, "orders_status_id_idx", "orders");
        let both = plan(
            &app,
            orders_list::BY_USER_AND_STATUS,
            "51, 0, 0, 4242, 'shipped'",
            generic,
        )
        .await;
        assert_uses(&both, "orders_user_id_status_id_idx", "orders");
        let of_user = plan(&app, users_orders::ORDERS, "51, 0, 4242, 0", generic).await;
        assert_uses(&of_user, "orders_user_id_id_idx", "orders");

        let products = plan(&app, products_list::ALL, "51, 0, 150000", generic).await;
        assert_uses(&products, "products_pkey", "products");
        let in_stock = plan(&app, products_list::IN_STOCK, "51, 0, 150000", generic).await;
        assert_uses(&in_stock, "products_pkey", "products");
        let out = plan(&app, products_list::OUT_OF_STOCK, "51, 0, 150000", generic).await;
        assert_uses(&out, "products_pkey", "products");
    }

    // Searches and price ranges are planned for their values (the function
    // runs them unprepared): a rare word on the trigram index, a narrow
    // price range on the price index.
    let rare = products_list::contains_pattern("zzzz");
    let search = plan(
        &app,
        &products_list::search_sql(None, false, false, true),
        &format!("51, 0, 0, '{rare}'"),
        false,
    )
    .await;
    assert_uses(&search, "products_name_trgm_idx", "products");
    let narrow = plan(
        &app,
        &products_list::search_sql(None, true, true, false),
        "51, 0, 0, 999.00, 999.10",
        false,
    )
    .await;
    assert_uses(&narrow, "products_price_id_idx", "products");

    // Around the planner's old switch (1,000 products of 200,000, 0.5%),
    // the page's ids come from the price index alone; a wide range walks
    // the primary key in id order.
    let ranged = products_list::search_sql(None, true, true, false);
    let near_switch = plan(&app, &ranged, "51, 0, 0, 995.00, 999.99", false).await;
    assert_uses(
        &near_switch,
        "Index Only Scan using products_price_id_idx",
        "products",
    );
    let wide = plan(&app, &ranged, "51, 0, 0, 1.00, 999.99", false).await;
    assert_uses(&wide, "products_pkey", "products");
    assert!(!wide.contains("products_price_id_idx"), "{wide}");
}

/// No index covers the stock (sql/06), so the update every order makes is
/// HOT: no entry written into any of products' indexes.
#[tokio::test]
async fn an_orders_stock_update_touches_no_index() {
    let app = TestApp::start(FUNCTIONS).await;
    let product = app.scalar("SELECT min(id) FROM products").await;
    app.sql("BEGIN").await;
    app.sql(&format!(
        "UPDATE products SET stock_quantity = stock_quantity - 1 WHERE id = {product}"
    ))
    .await;
    let hot = app
        .scalar("SELECT pg_stat_get_xact_tuples_hot_updated('products'::regclass)")
        .await;
    app.sql("ROLLBACK").await;
    assert_eq!(hot, 1, "the stock update was not HOT");
}
