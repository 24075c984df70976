use test_support::TestApp;

fn names(body: &serde_json::Value) -> Vec<String> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn lists_products_with_money_as_numbers() {
    let app = TestApp::start(&[products_list::FUNCTION]).await;
    let body = app.get("/api/products").await.assert_status(200).json();
    assert_eq!(names(&body), ["Laptop", "Mouse", "Keyboard"]);
    assert_eq!(body[0]["price"], 1299.99);
    assert_eq!(body[0]["stock_quantity"], 8);
    assert_eq!(body[0]["description"], "High-end laptop");
}

#[tokio::test]
async fn filters_combine() {
    let app = TestApp::start(&[products_list::FUNCTION]).await;
    app.sql("UPDATE products SET stock_quantity = 0 WHERE name = 'Mouse'")
        .await;
    app.sql(
        "INSERT INTO products (name, price, stock_quantity) VALUES ('100% cotton_shirt', 20, 5)",
    )
    .await;
    let get = |query: &'static str| app.get(query);
    assert_eq!(
        names(&get("/api/products?in_stock=true").await.json()),
        ["Laptop", "Keyboard", "100% cotton_shirt"]
    );
    assert_eq!(
        names(&get("/api/products?in_stock=false").await.json()),
        ["Mouse"]
    );
    assert_eq!(
        names(
            &get("/api/products?min_price=50&max_price=1000")
                .await
                .json()
        ),
        ["Keyboard"]
    );
    assert_eq!(
        names(&get("/api/products?max_price=29.99").await.json()),
        ["Mouse", "100% cotton_shirt"]
    );
    assert_eq!(names(&get("/api/products?q=LAP").await.json()), ["Laptop"]);
    // % and _ are plain characters in a search.
    assert_eq!(
        names(&get("/api/products?q=0%25%20cotton_").await.json()),
        ["100% cotton_shirt"]
    );
    assert_eq!(
        names(&get("/api/products?q=%25").await.json()),
        ["100% cotton_shirt"]
    );
    assert_eq!(
        names(
            &get("/api/products?q=o&in_stock=true&min_price=50")
                .await
                .json()
        ),
        ["Laptop", "Keyboard"]
    );
}

#[tokio::test]
async fn next_link_keeps_the_filters() {
    let app = TestApp::start(&[products_list::FUNCTION]).await;
    let page = app.get("/api/products?in_stock=true&limit=1").await;
    assert_eq!(
        page.header("link"),
        Some("</api/products?in_stock=true&limit=1&after=1>; rel=\"next\"")
    );
}

#[tokio::test]
async fn malformed_filters_are_400() {
    let app = TestApp::start(&[products_list::FUNCTION]).await;
    for query in [
        "in_stock=maybe",
        "min_price=cheap",
        "max_price=1e400x",
        "limit=-5",
    ] {
        app.get(&format!("/api/products?{query}"))
            .await
            .problem(400);
    }
    let long = "q".repeat(201);
    app.get(&format!("/api/products?q={long}"))
        .await
        .problem(400);
}

#[tokio::test]
async fn a_bad_or_repeated_filter_is_400_naming_it() {
    let app = TestApp::start(&[products_list::FUNCTION]).await;
    for (query, name) in [
        ("in_stock=yes", "in_stock"),
        ("in_stock=true&in_stock=true", "in_stock"),
        ("min_price=cheap", "min_price"),
        ("q=a&q=b", "q"),
    ] {
        let problem = app
            .get(&format!("/api/products?{query}"))
            .await
            .problem(400);
        assert_eq!(problem["errors"][0]["field"], name, "{query}: {problem}");
    }
}
