//! Fetching a set of pools concurrently (export-and-package.md §5.2) into
//! a [`UserSpill`]: identity providers, groups, users and group members.
//!
//! Per pool, in parallel with the other pools: `ListIdentityProviders` +
//! `DescribeIdentityProvider` (when SSO or organizations need them),
//! `ListGroups` (roles), then every listing chain at once: `ListUsers`
//! (split into 16 chains `sub ^= "0"` … `"f"` when `DescribeUserPool`
//! estimates at least `split_threshold` users: `sub` is a lowercase UUID,
//! so the chains are disjoint and cover the pool; a service refusing the
//! filter (`InvalidParameterException` on the first page) gets one chain)
//! and one
//! `ListUsersInGroup` chain per group. Pages within a chain follow the
//! pagination token; all chains share the client's `UserList` budget.
//! Every chain is its own task on the runtime's worker threads, so the
//! decoding of one page (the SDK's deserialisation, the spill records)
//! runs beside the requests of the other chains instead of on the one
//! thread that drives the export.
//!
//! Requests per export: per pool 1 `DescribeUserPool` (users listed), plus
//! ⌈users/60⌉ `ListUsers` (up to 16 more when split: one last page per
//! chain), plus ⌈groups/60⌉ `ListGroups` and Σ⌈members(g)/60⌉ (at least 1
//! per group) `ListUsersInGroup`, plus ⌈idps/60⌉ `ListIdentityProviders` and
//! one `DescribeIdentityProvider` per IdP; and 1 `ListUserPools` probe per
//! run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::future::try_join_all;
use tokio::task::JoinSet;

use super::client::{CognitoClient, CognitoError, UserPage};
use super::spill::{RecordKind, UserSpill, UserSpillError};
use super::CognitoProvider;

/// Hex digits: the first character of every `sub`.
const HEX: &str = "0123456789abcdef";

/// Default `split_threshold`: 100 pages.
pub const DEFAULT_SPLIT_THRESHOLD: u64 = 6_000;

/// Errors while fetching.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Api(#[from] CognitoError),
    #[error(transparent)]
    Spill(#[from] UserSpillError),
    #[error("a listing task failed: {0}")]
    Task(String),
}

/// What to fetch.
#[derive(Debug, Clone, Copy)]
pub struct FetchPlan {
    pub users: bool,
    pub providers: bool,
    pub groups: bool,
    /// Pools estimated at this many users or more are listed in 16 chains.
    pub split_threshold: u64,
}

/// What was fetched for one pool (the users are in the spill).
#[derive(Debug, Clone, Default)]
pub struct PoolFetch {
    pub pool: String,
    pub providers: Vec<CognitoProvider>,
    /// Group names in `ListGroups` order.
    pub groups: Vec<String>,
    /// `ListUsers` records.
    pub users_listed: u64,
    /// `ListUsersInGroup` records.
    pub group_members_listed: u64,
    /// Chains `ListUsers` ran in (1, or 16 when split).
    pub chains: u32,
}

/// Running totals, for the progress display.
#[derive(Debug, Default)]
pub struct FetchProgress {
    pub users: AtomicU64,
}

/// The `ListUsers` filters of a pool with `estimated` users.
pub fn user_filters(estimated: u64, split_threshold: u64) -> Vec<Option<String>> {
    if estimated >= split_threshold {
        HEX.chars()
            .map(|c| Some(format!("sub ^= \"{c}\"")))
            .collect()
    } else {
        vec![None]
    }
}

/// One `ListUsers` chain into the spill, starting with `first` when the
/// first page was already fetched; returns the users listed.
async fn list_chain(
    client: Arc<CognitoClient>,
    spill: Arc<UserSpill>,
    index: usize,
    pool: Arc<str>,
    filter: Option<String>,
    first: Option<UserPage>,
    progress: Arc<FetchProgress>,
) -> Result<u64, FetchError> {
    let mut token: Option<String> = None;
    let mut listed = 0u64;
    let mut first = first;
    loop {
        let (users, next) = match first.take() {
            Some(page) => page,
            None => {
                client
                    .list_users_page(&pool, filter.as_deref(), token.as_deref())
                    .await?
            }
        };
        {
            let mut s = spill.pool(index);
            for u in &users {
                s.push(u.external_id(), RecordKind::User, 0, Some(u))?;
            }
        }
        listed += users.len() as u64;
        progress
            .users
            .fetch_add(users.len() as u64, Ordering::Relaxed);
        match next {
            Some(t) => token = Some(t),
            None => return Ok(listed),
        }
    }
}

/// One `ListUsersInGroup` chain into the spill. The user itself is stored
/// only when users are not listed (roles alone).
async fn group_chain(
    client: Arc<CognitoClient>,
    spill: Arc<UserSpill>,
    index: usize,
    pool: Arc<str>,
    group: (u32, String),
    keep_user: bool,
) -> Result<u64, FetchError> {
    let mut token: Option<String> = None;
    let mut listed = 0u64;
    loop {
        let (users, next) = client
            .list_users_in_group_page(&pool, &group.1, token.as_deref())
            .await?;
        {
            let mut s = spill.pool(index);
            for u in &users {
                let kept = keep_user.then_some(u);
                s.push(u.external_id(), RecordKind::Group, group.0, kept)?;
            }
        }
        listed += users.len() as u64;
        match next {
            Some(t) => token = Some(t),
            None => return Ok(listed),
        }
    }
}

/// The pool's estimated size; 0 when `DescribeUserPool` is not allowed
/// (the pool is then listed in one chain).
async fn estimated_users(client: &CognitoClient, pool: &str) -> Result<u64, CognitoError> {
    match client.estimated_users(pool).await {
        Ok(n) => Ok(n),
        Err(e)
            if matches!(
                e.code(),
                Some("AccessDeniedException") | Some("NotAuthorizedException")
            ) =>
        {
            Ok(0)
        }
        Err(e) => Err(e),
    }
}

/// What a listing task returns.
enum ChainResult {
    /// `ListUsers` records of one chain.
    Users(u64),
    /// `ListUsersInGroup` records of one group.
    Members(u64),
}

/// Fetches pool number `index` (see the module docs).
async fn fetch_pool(
    client: &Arc<CognitoClient>,
    spill: &Arc<UserSpill>,
    index: usize,
    pool: &str,
    plan: FetchPlan,
    progress: &Arc<FetchProgress>,
) -> Result<PoolFetch, FetchError> {
    let mut out = PoolFetch {
        pool: pool.to_string(),
        ..PoolFetch::default()
    };
    if plan.providers {
        out.providers = client.identity_providers(pool).await?;
    }
    if plan.groups {
        out.groups = client.list_groups(pool).await?;
    }
    let mut filters = if plan.users {
        let estimated = estimated_users(client, pool).await?;
        user_filters(estimated, plan.split_threshold)
    } else {
        Vec::new()
    };
    // The first page of the first chain checks that the filter is accepted;
    // if the service refuses it, the pool is listed in one chain.
    let mut first: Option<UserPage> = None;
    if filters.len() > 1 {
        match client
            .list_users_page(pool, filters[0].as_deref(), None)
            .await
        {
            Ok(page) => first = Some(page),
            Err(e) if e.code() == Some("InvalidParameterException") => filters = vec![None],
            Err(e) => return Err(e.into()),
        }
    }
    out.chains = filters.len() as u32;
    // Dropping the set (on the first error) aborts the other chains.
    let mut chains = JoinSet::new();
    let shared: Arc<str> = Arc::from(pool);
    for (i, filter) in filters.into_iter().enumerate() {
        let start = if i == 0 { first.take() } else { None };
        let chain = list_chain(
            client.clone(),
            spill.clone(),
            index,
            shared.clone(),
            filter,
            start,
            progress.clone(),
        );
        chains.spawn(async move { chain.await.map(ChainResult::Users) });
    }
    for (g, name) in out.groups.iter().enumerate() {
        let chain = group_chain(
            client.clone(),
            spill.clone(),
            index,
            shared.clone(),
            (g as u32, name.clone()),
            !plan.users,
        );
        chains.spawn(async move { chain.await.map(ChainResult::Members) });
    }
    while let Some(done) = chains.join_next().await {
        match done.map_err(|e| FetchError::Task(e.to_string()))?? {
            ChainResult::Users(n) => out.users_listed += n,
            ChainResult::Members(n) => out.group_members_listed += n,
        }
    }
    Ok(out)
}

/// Fetches every pool concurrently; results in pool order. Must run inside
/// a Tokio runtime (the chains are spawned on it).
pub async fn fetch_pools(
    client: &Arc<CognitoClient>,
    spill: &Arc<UserSpill>,
    pools: &[String],
    plan: FetchPlan,
    progress: &Arc<FetchProgress>,
) -> Result<Vec<PoolFetch>, FetchError> {
    try_join_all(
        pools
            .iter()
            .enumerate()
            .map(|(i, pool)| fetch_pool(client, spill, i, pool, plan, progress)),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_pools_are_split_by_the_first_hex_digit_of_sub() {
        assert_eq!(user_filters(5_999, 6_000), vec![None]);
        let split = user_filters(6_000, 6_000);
        assert_eq!(split.len(), 16);
        assert_eq!(split[0].as_deref(), Some("sub ^= \"0\""));
        assert_eq!(split[15].as_deref(), Some("sub ^= \"f\""));
    }
}
