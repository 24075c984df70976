use test_support::TestApp;

#[tokio::test]
async fn lists_users_by_id() {
    let app = TestApp::start(&[users_list::FUNCTION]).await;
    let response = app.get("/api/users").await;
    response.assert_status(200);
    let users = response.json();
    let names: Vec<_> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].clone())
        .collect();
    assert_eq!(names, ["john_doe", "jane_smith", "bob_wilson"]);
    let john = &users[0];
    assert_eq!(john["email"], "john@example.com");
    assert!(john["id"].is_i64());
    assert!(john["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(response.header("link").is_none());
}

#[tokio::test]
async fn pages_with_a_link_to_the_next_page() {
    let app = TestApp::start(&[users_list::FUNCTION]).await;
    app.sql("INSERT INTO users (username, email) SELECT 'u' || n, 'u' || n || '@example.com' FROM generate_series(1, 7) n")
        .await;
    // 10 users: pages of 4 are 4, 4, 2.
    let first = app.get("/api/users?limit=4").await;
    assert_eq!(first.json().as_array().unwrap().len(), 4);
    assert_eq!(
        first.header("link"),
        Some("</api/users?limit=4&after=4>; rel=\"next\"")
    );
    let second = app.get("/api/users?limit=4&after=4").await;
    assert_eq!(second.json()[0]["username"], "u2");
    assert_eq!(
        second.header("link"),
        Some("</api/users?limit=4&after=8>; rel=\"next\"")
    );
    let last = app.get("/api/users?limit=4&after=8").await;
    assert_eq!(last.json().as_array().unwrap().len(), 2);
    assert!(last.header("link").is_none());
    let beyond = app.get("/api/users?after=100").await;
    assert_eq!(beyond.json(), serde_json::json!([]));
    // offset, the old way, still pages; its Link moves on to `after=`.
    let by_offset = app.get("/api/users?limit=4&offset=4").await;
    assert_eq!(by_offset.json()[0]["username"], "u2");
    assert_eq!(
        by_offset.header("link"),
        Some("</api/users?limit=4&after=8>; rel=\"next\"")
    );
    assert_eq!(
        app.get("/api/users?offset=100").await.json(),
        serde_json::json!([])
    );
}

#[tokio::test]
async fn malformed_paging_is_400() {
    let app = TestApp::start(&[users_list::FUNCTION]).await;
    for query in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "offset=-1",
        "offset=1.5",
        "after=-1",
        "after=x",
    ] {
        let problem = app.get(&format!("/api/users?{query}")).await.problem(400);
        assert!(
            problem["detail"].as_str().unwrap().contains('`'),
            "{query}: {problem}"
        );
    }
}
