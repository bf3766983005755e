//! Who is calling and what they may do: `Authorization: Bearer fxk_…` names an API key
//! (stored in the catalogue as a digest, see `fauxto_library::keys`); its scope decides what
//! it may do (read < generate < admin). Reads may be opened to callers without a key; writes
//! and generation never are. Every caller — a key, or the address of one without — has its
//! own request rate; beyond it the answer is 429 with `Retry-After`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use fauxto_library::{ApiKey, Library, Scope};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::RwLock;

use crate::error::ApiError;
use crate::state::Studio;

/// How long a key looked up in the catalogue is trusted without asking again (a revoked
/// key stops working within this time).
const KEY_CACHE_TTL: Duration = Duration::from_secs(10);

/// Keys by secret digest, as last read from the catalogue (`None`: no such key).
#[derive(Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<String, (Option<ApiKey>, Instant)>>,
}

impl KeyCache {
    /// The unrevoked key with `secret`, if any.
    async fn lookup(&self, library: &Library, secret: &str) -> anyhow::Result<Option<ApiKey>> {
        let digest = fauxto_library::keys::secret_digest(secret);
        if let Some((key, at)) = self.entries.read().await.get(&digest) {
            if at.elapsed() < KEY_CACHE_TTL {
                return Ok(key.clone());
            }
        }
        let key = library.key_by_secret(secret).await?;
        let mut entries = self.entries.write().await;
        // Unknown secrets are remembered too (so that guessing costs no database reads),
        // but never without bound.
        if entries.len() > 10_000 {
            entries.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
        }
        entries.insert(digest, (key.clone(), Instant::now()));
        Ok(key)
    }
}

/// Requests per second each caller may make, with bursts of twice that.
pub struct Limiter {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl Limiter {
    /// `per_second` of 0 turns the limit off.
    pub fn new(per_second: u32) -> Self {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = rate.saturating_mul(NonZeroU32::new(2).unwrap());
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Limiter { limiter }
    }

    /// Counts one request of `caller`; the seconds to wait when it is over its rate.
    fn check(&self, caller: &str) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(&caller.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    /// Forgets callers that have been quiet long enough to be back at a full burst.
    pub fn forget_quiet(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
        }
    }
}

/// The caller of a request: its key, if it gave one.
#[derive(Clone, Debug)]
pub struct Caller {
    pub key: Option<ApiKey>,
}

impl Caller {
    /// Refuses the request unless the caller may do what `scope` allows: 401 without a key
    /// (unless `scope` is read and reads are open), 403 with a key of a lower scope.
    pub fn require(&self, studio: &Studio, scope: Scope) -> Result<(), ApiError> {
        match &self.key {
            Some(key) if key.scope >= scope => Ok(()),
            Some(key) => Err(ApiError::forbidden(format!(
                "key {:?} has the {} scope; this needs {scope}",
                key.name, key.scope
            ))),
            None if scope == Scope::Read && studio.options.anonymous_reads => Ok(()),
            None => Err(ApiError::unauthorized(format!(
                "this needs an API key with the {scope} scope: Authorization: Bearer fxk_… \
                 (make one with `fauxto studio keys create --scope {scope}`)"
            ))),
        }
    }
}

impl FromRequestParts<Arc<Studio>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        studio: &Arc<Studio>,
    ) -> Result<Self, Self::Rejection> {
        let key = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(value) => {
                let secret = value
                    .to_str()
                    .ok()
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::trim)
                    .ok_or_else(|| {
                        ApiError::unauthorized("the Authorization header is `Bearer fxk_…`")
                    })?;
                let key = studio.keys.lookup(&studio.library, secret).await?;
                Some(key.ok_or_else(|| ApiError::unauthorized("unknown or revoked API key"))?)
            }
        };
        let who = match &key {
            Some(k) => format!("key:{}", k.id),
            None => parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "anonymous".into(), |c| format!("ip:{}", c.0.ip())),
        };
        studio.limiter.check(&who).map_err(ApiError::rate_limited)?;
        Ok(Caller { key })
    }
}
