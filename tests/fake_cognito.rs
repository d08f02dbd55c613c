//! Tests of the fake Cognito service (`tests/fakes/cognito.rs`).

mod fakes;

#[tokio::test]
async fn placeholder_build() {
    let fake = fakes::cognito::FakeCognito::synthetic(1, 10, 2).await;
    assert_eq!(fake.pool_ids().len(), 1);
}
