//! Users through the client: created, read (and 304), updated under
//! `If-Match` (412 with the current tag when stale), deleted; pages of the
//! list followed by `Link`.

use std::num::NonZeroU64;

use shop_client::{types, ApiError};

use crate::{etag, is_not_modified, new_user, refused, start};

#[tokio::test]
async fn a_user_is_created_read_updated_under_if_match_and_deleted() {
    let (_app, client) = start().await;
    let (user, tag) = new_user(&client, "rust-user").await;
    let id: NonZeroU64 = *user.id;
    let got = client.users_get().id(id).send().await.expect("200");
    assert_eq!(got.username.as_str(), "rust-user");
    let unchanged = refused(client.users_get().id(id).if_none_match(&tag).send().await).await;
    assert!(
        matches!(&unchanged, ApiError::NotModified { etag: Some(now) } if *now == tag),
        "{unchanged:?}"
    );
    assert!(is_not_modified(
        client
            .users_get_head()
            .id(id)
            .if_none_match(&tag)
            .send()
            .await
    ));
    let renamed =
        types::UserChanges::builder().username(Some("rust-renamed".try_into().expect("a name")));
    let put = client
        .users_update_put()
        .id(id)
        .if_match(tag.as_str())
        .body(renamed)
        .send()
        .await;
    let put = put.expect("200");
    assert_eq!(put.username.as_str(), "rust-renamed");
    // The tag the PUT replaced is stale now: 412, with the current tag.
    let email =
        types::UserChanges::builder().email(Some("rust@example.org".try_into().expect("an email")));
    let stale = client
        .users_update()
        .id(id)
        .if_match(tag.as_str())
        .body(email.clone())
        .send()
        .await;
    match refused(stale).await {
        ApiError::PreconditionFailed {
            problem,
            current_etag,
        } => {
            assert_eq!(current_etag, Some(etag(&put)));
            assert_eq!(problem.status, 412);
        }
        other => panic!("expected 412, got {other:?}"),
    }
    let patched = client
        .users_update()
        .id(id)
        .if_match("*")
        .body(email)
        .send()
        .await
        .expect("200");
    assert_eq!(patched.email.as_str(), "rust@example.org");
    let orders = client.users_orders().id(id).send().await.expect("200");
    assert!(orders.is_empty());
    assert!(client.users_orders_head().id(id).send().await.is_ok());
    assert!(client.users_list_head().send().await.is_ok());
    let stale_delete = client
        .users_delete()
        .id(id)
        .if_match(tag.as_str())
        .send()
        .await;
    let stale_delete = refused(stale_delete).await;
    assert!(
        matches!(stale_delete, ApiError::PreconditionFailed { .. }),
        "{stale_delete:?}"
    );
    let deleted = client
        .users_delete()
        .id(id)
        .if_match(etag(&patched).as_str())
        .send()
        .await;
    assert_eq!(deleted.expect("204").status().as_u16(), 204);
    match refused(client.users_get().id(id).send().await).await {
        ApiError::Problem {
            status, problem, ..
        } => {
            assert_eq!(status, 404);
            assert_eq!(problem.title, "Not Found");
        }
        other => panic!("expected 404, got {other:?}"),
    }
}

#[tokio::test]
async fn pages_follow_link_by_after() {
    let (_app, client) = start().await;
    for name in ["rust-page-1", "rust-page-2", "rust-page-3"] {
        new_user(&client, name).await;
    }
    let everyone = client.users_list().limit(1000).send().await.expect("200");
    let everyone: Vec<_> = everyone.iter().map(|u| *u.id).collect();
    let (mut seen, mut after) = (Vec::new(), 0_u64);
    for _ in 0..=everyone.len() {
        let page = client
            .users_list()
            .limit(2)
            .after(after)
            .send()
            .await
            .expect("200");
        seen.extend(page.iter().map(|u| *u.id));
        let Some(link) = page.headers().get("link") else {
            break;
        };
        let link = link.to_str().expect("an ASCII Link");
        let next = link
            .split("after=")
            .nth(1)
            .and_then(|rest| rest.split('>').next());
        after = next
            .and_then(|id| id.parse().ok())
            .expect("a next page's after");
    }
    assert_eq!(seen, everyone);
    assert!(seen.len() >= 6);
}
