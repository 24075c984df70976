//! GET /api/users. Listing and paging go through the typed client
//! (`shop-client`), reading `Link` from its response; malformed paging
//! parameters stay raw requests, since the typed client will not send them.

use test_support::shop_client::types::User;
use test_support::shop_client::ResponseValue;
use test_support::TestApp;

fn names(page: &ResponseValue<Vec<User>>) -> Vec<&str> {
    page.iter().map(|u| u.username.as_str()).collect()
}

fn link<T>(page: &ResponseValue<T>) -> Option<&str> {
    page.headers()
        .get("link")
        .map(|link| link.to_str().expect("an ASCII Link"))
}

#[tokio::test]
async fn lists_users_by_id() {
    let app = TestApp::start(&[users_list::FUNCTION]).await;
    let users = app.client().users_list().send().await.expect("200");
    assert_eq!(names(&users), ["john_doe", "jane_smith", "bob_wilson"]);
    let john = &users[0];
    assert_eq!(john.email.as_str(), "john@example.com");
    assert_eq!(john.id.get(), 1);
    assert!(link(&users).is_none());
    // The timestamp's wire form is UTC with a Z, which the typed value
    // cannot show: read it from the raw body.
    let raw = app.get("/api/users").await.json();
    assert!(raw[0]["created_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn pages_with_a_link_to_the_next_page() {
    let app = TestApp::start(&[users_list::FUNCTION]).await;
    app.sql("INSERT INTO users (username, email) SELECT 'u' || n, 'u' || n || '@example.com' FROM generate_series(1, 7) n")
        .await;
    let client = app.client();
    let limit = std::num::NonZeroU64::new(4).expect("4");
    // 10 users: pages of 4 are 4, 4, 2.
    let first = client.users_list().limit(limit).send().await.expect("200");
    assert_eq!(first.len(), 4);
    assert_eq!(
        link(&first),
        Some("</api/users?limit=4&after=4>; rel=\"next\"")
    );
    let second = client.users_list().limit(limit).after(4).send().await;
    let second = second.expect("200");
    assert_eq!(names(&second)[0], "u2");
    assert_eq!(
        link(&second),
        Some("</api/users?limit=4&after=8>; rel=\"next\"")
    );
    let last = client.users_list().limit(limit).after(8).send().await;
    let last = last.expect("200");
    assert_eq!(last.len(), 2);
    assert!(link(&last).is_none());
    let beyond = client.users_list().after(100).send().await.expect("200");
    assert!(beyond.is_empty());
    // offset, the old way, still pages; its Link moves on to `after=`.
    let by_offset = client.users_list().limit(limit).offset(4).send().await;
    let by_offset = by_offset.expect("200");
    assert_eq!(names(&by_offset)[0], "u2");
    assert_eq!(
        link(&by_offset),
        Some("</api/users?limit=4&after=8>; rel=\"next\"")
    );
    let past = client.users_list().offset(100).send().await.expect("200");
    assert!(past.is_empty());
}

#[tokio::test]
async fn malformed_paging_is_400() {
    // Raw: values the typed client refuses to send.
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
