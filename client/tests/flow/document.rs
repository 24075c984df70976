//! The client is generated from the document the runtime serves, and every
//! service operation (and its HEAD) answers through it.

use shop_client::ApiError;

use crate::{etag, is_not_modified, refused, start};

#[tokio::test]
async fn the_client_is_generated_from_the_served_document() {
    let (app, client) = start().await;
    let served: serde_json::Value = app.get("/openapi.json").await.json();
    let compiled: serde_json::Value =
        serde_json::from_str(shop_client::DOCUMENT).expect("the compiled document");
    assert_eq!(served, compiled);
    let info = client.index().send().await.expect("200").into_inner();
    assert_eq!(info.routes.len(), 36);
    let health = client.health().send().await.expect("200");
    assert_eq!(health.status().as_u16(), 200);
    let db = client.db_check().send().await.expect("200");
    assert_eq!(db.status().as_u16(), 200);
    let metrics = client.metrics().send().await.expect("200");
    assert_eq!(metrics.status().as_u16(), 200);
    let document = client.openapi_json().send().await.expect("200");
    let tag = etag(&document);
    let unchanged = refused(client.openapi_json().if_none_match(&tag).send().await).await;
    assert!(
        matches!(&unchanged, ApiError::NotModified { etag: Some(now) } if *now == tag),
        "{unchanged:?}"
    );
    let yaml = client.openapi_yaml().send().await.expect("200");
    assert_eq!(yaml.status().as_u16(), 200);
    assert!(client.index_head().send().await.is_ok());
    assert!(client.health_head().send().await.is_ok());
    assert!(client.db_check_head().send().await.is_ok());
    assert!(client.metrics_head().send().await.is_ok());
    assert!(client.openapi_json_head().send().await.is_ok());
    assert!(client.openapi_yaml_head().send().await.is_ok());
    assert!(is_not_modified(
        client.openapi_json_head().if_none_match(tag).send().await
    ));
}
