//! A credential cached until shortly before it expires, refreshed once for
//! all the calls that need it at the same moment (single flight).
//!
//! Calls that find a fresh value take it without waiting. When it is
//! missing or about to expire, one call refreshes it while the others wait
//! for that refresh instead of starting their own. A failed refresh is not
//! cached: the next call tries again. A refresh runs inside its call's
//! attempt, so cancelling that call (or its timeout) drops the refresh; the
//! next waiter then starts a new one. A value fetched while it was being
//! invalidated (the server rejected the old one mid-refresh) is handed to
//! its caller but not kept: it may come from the same stale source.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::Error;

/// A value and when it stops being usable.
#[derive(Clone)]
pub struct Expiring<T> {
    pub value: T,
    /// `None`: it does not expire (e.g. static keys from a file).
    pub expires_at: Option<Instant>,
}

impl<T> Expiring<T> {
    /// A value valid for `lifetime` from now.
    pub fn for_duration(value: T, lifetime: Duration) -> Self {
        Expiring {
            value,
            expires_at: Some(Instant::now() + lifetime),
        }
    }
}

pub struct CachedCredential<T> {
    current: Mutex<Option<Expiring<T>>>,
    /// Held while refreshing; what makes concurrent refreshes one.
    refreshing: tokio::sync::Mutex<()>,
    /// Refresh this long before expiry, so no request leaves with a
    /// credential that expires on the way.
    margin: Duration,
    /// Counts invalidations; a refresh keeps its value only if none
    /// happened while it ran.
    generation: AtomicU64,
}

impl<T> fmt::Debug for CachedCredential<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedCredential")
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

impl<T: Clone> CachedCredential<T> {
    pub fn new(margin: Duration) -> Self {
        CachedCredential {
            current: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            margin,
            generation: AtomicU64::new(0),
        }
    }

    fn fresh(&self) -> Option<T> {
        let current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        current
            .as_ref()
            .filter(|c| {
                c.expires_at
                    .is_none_or(|at| Instant::now() + self.margin < at)
            })
            .map(|c| c.value.clone())
    }

    /// The cached value, or the one `refresh` fetches when there is none
    /// fresh; concurrent callers share one `refresh`.
    pub async fn get<F, Fut>(&self, refresh: F) -> Result<T, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Expiring<T>, Error>>,
    {
        if let Some(value) = self.fresh() {
            return Ok(value);
        }
        let _gate = self.refreshing.lock().await;
        // Whoever held the gate before us may have refreshed it.
        if let Some(value) = self.fresh() {
            return Ok(value);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let fetched = refresh().await?;
        let value = fetched.value.clone();
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Checked under the lock invalidate() takes, so none slips between.
        if self.generation.load(Ordering::SeqCst) == generation {
            *current = Some(fetched);
        }
        Ok(value)
    }

    /// Forgets the value, e.g. after the server rejected it.
    pub fn invalidate(&self) {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        *current = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::error::ErrorKind;

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_refresh_until_near_expiry() {
        let cache = Arc::new(CachedCredential::new(Duration::from_secs(60)));
        let fetches = Arc::new(AtomicUsize::new(0));
        let fetch = |fetches: Arc<AtomicUsize>| async move {
            let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(Expiring::for_duration(
                format!("token-{n}"),
                Duration::from_secs(3600),
            ))
        };
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let (cache, fetches) = (cache.clone(), fetches.clone());
                tokio::spawn(async move { cache.get(|| fetch(fetches)).await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), "token-1");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        // Within the margin of expiry, the next call refreshes, once.
        tokio::time::advance(Duration::from_secs(3600 - 59)).await;
        let f = fetches.clone();
        assert_eq!(cache.get(|| fetch(f)).await.unwrap(), "token-2");
        let f = fetches.clone();
        assert_eq!(cache.get(|| fetch(f)).await.unwrap(), "token-2");
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_refresh_is_not_cached_and_a_dropped_one_releases_the_gate() {
        let cache: CachedCredential<String> = CachedCredential::new(Duration::ZERO);
        let failed = cache
            .get(|| async { Err(Error::new(ErrorKind::Auth, "token endpoint said 500")) })
            .await;
        assert_eq!(failed.unwrap_err().kind, ErrorKind::Auth);
        // A caller cancelled mid-refresh (its future dropped) leaves no lock behind.
        let slow = cache.get(|| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(Expiring::for_duration(
                "never".to_owned(),
                Duration::from_secs(60),
            ))
        });
        assert!(tokio::time::timeout(Duration::from_secs(1), slow)
            .await
            .is_err());
        let ok = cache
            .get(|| async {
                Ok(Expiring {
                    value: "key".to_owned(),
                    expires_at: None,
                })
            })
            .await;
        assert_eq!(ok.unwrap(), "key");
    }

    #[tokio::test(start_paused = true)]
    async fn a_value_fetched_across_an_invalidation_is_not_kept() {
        let cache = Arc::new(CachedCredential::new(Duration::ZERO));
        let slow = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get(|| async {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        Ok(Expiring {
                            value: "stale".to_owned(),
                            expires_at: None,
                        })
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        cache.invalidate();
        // Its own caller gets it; the cache does not keep it.
        assert_eq!(slow.await.unwrap().unwrap(), "stale");
        let next = cache
            .get(|| async {
                Ok(Expiring {
                    value: "fresh".to_owned(),
                    expires_at: None,
                })
            })
            .await;
        assert_eq!(next.unwrap(), "fresh");
    }
}
