//! Stored responses, in Redis: what `GET /responses/{id}`, `DELETE`, `input_items` and
//! `previous_response_id` read.
//!
//! A stored response must outlive the process that produced it and be visible to every replica
//! behind a load balancer, so it lives in Redis (one JSON value per response, with a TTL),
//! never in gateway memory. The connection is opened on first use and shared; a Redis outage
//! fails retrievals with 503 but never the answer a client already paid for.

mod background;
mod flow;
mod items;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use serde_json::value::RawValue;

use crate::budget::sized;
use crate::config::StoreSettings;
use crate::error::GatewayError;
use crate::redis_conn::{IO_TIMEOUT, RedisConn};

pub(crate) use background::{Guard, Lease, LoggedEvent};
pub(crate) use flow::{Save, prepare};
pub(crate) use items::{ItemsPage, input_items, page};

/// Writes `ARGV[1]` under `KEYS[1]` for `ARGV[2]` seconds unless a record of another tenant
/// is there: a record's tenant is its `tenant` field, `ARGV[3]` the new one's (`""`, like an
/// absent or unreadable field, for none). 1 when written, 0 when refused.
const SAME_TENANT_PUT: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, doc = pcall(cjson.decode, cur)
  local tenant = ''
  if ok and type(doc) == 'table' and type(doc.tenant) == 'string' then tenant = doc.tenant end
  if tenant ~= ARGV[3] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
";

/// One stored response.
///
/// The items stay raw JSON until something needs them: reading, cancelling or replaying a
/// response's events parses its `response` only, so a record of many input items costs its
/// bytes there, not the many times more a parsed tree would take.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Stored {
    /// The response object as the client received it.
    pub response: Value,
    /// This request's own input items (what `input_items` lists), a JSON array.
    pub input_items: Box<RawValue>,
    /// The conversation before `input_items`: the chain behind `previous_response_id` (its
    /// inputs and outputs), empty for a first turn. A follow-up replays `earlier`,
    /// `input_items`, then this response's output.
    #[serde(default = "empty_array")]
    pub earlier: Box<RawValue>,
    /// The principal that created it (absent when access control was off).
    #[serde(default)]
    pub principal: Option<String>,
    /// Whose response it is: only that tenant's principals (and admins) see it; absent when
    /// access control was off, and then only admins (or anyone, with access control off) do.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The data zones it was served under (a zoned principal, router or conversation); a
    /// follow-up inherits them. Absent when nothing restricted it.
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    /// The record's length in Redis, in bytes.
    #[serde(skip)]
    pub record_len: usize,
}

fn empty_array() -> Box<RawValue> {
    RawValue::from_string("[]".to_owned()).expect("[] is JSON")
}

/// Parses one of a record's raw item arrays.
pub(crate) fn parse_items(raw: &RawValue) -> Result<Vec<Value>, GatewayError> {
    serde_json::from_str(raw.get()).map_err(|e| GatewayError::Internal {
        message: format!("a stored item list is corrupt: {e}"),
    })
}

/// A record's item arrays when saving: parsed (a new record) or raw (a rewrite, which copies
/// them through untouched).
#[derive(Clone, Copy)]
pub(crate) enum Items<'a> {
    Parsed(&'a [Value]),
    Raw(&'a RawValue),
}

impl Serialize for Items<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Parsed(items) => items.serialize(serializer),
            Self::Raw(raw) => raw.serialize(serializer),
        }
    }
}

/// [`Stored`] by reference, so saving copies nothing before encoding.
#[derive(Serialize)]
pub(crate) struct StoredRef<'a> {
    pub response: &'a Value,
    pub input_items: Items<'a>,
    pub earlier: Items<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zones: Option<&'a [String]>,
}

impl<'a> StoredRef<'a> {
    /// `response` replacing `stored`'s, with its items and owner.
    pub(crate) fn rewrite(stored: &'a Stored, response: &'a Value) -> Self {
        Self {
            response,
            input_items: Items::Raw(&stored.input_items),
            earlier: Items::Raw(&stored.earlier),
            principal: stored.principal.as_deref(),
            tenant: stored.tenant.as_deref(),
            zones: stored.zones.as_deref(),
        }
    }
}

/// The Redis-backed response store.
pub(crate) struct ResponseStore {
    redis: Arc<RedisConn>,
    ttl_secs: u64,
    prefix: String,
    /// The longest conversation a follow-up may continue (`max_body_bytes`).
    max_conversation: usize,
}

impl std::fmt::Debug for ResponseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseStore")
            .field("ttl_secs", &self.ttl_secs)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl ResponseStore {
    /// A store for `settings` on `redis` (its own connection, never the rate limiter's); no
    /// connection is made until the first call.
    pub(crate) fn new(settings: &StoreSettings, redis: Arc<RedisConn>) -> Self {
        Self {
            redis,
            ttl_secs: settings.ttl.as_secs().max(1),
            prefix: settings.key_prefix.clone(),
            max_conversation: usize::MAX,
        }
    }

    /// A conversation over `max_conversation` bytes (`max_body_bytes`) cannot be continued.
    pub(crate) fn with_max_conversation(mut self, max_conversation: usize) -> Self {
        self.max_conversation = max_conversation;
        self
    }

    /// The longest stored conversation a follow-up may continue, in bytes.
    pub(crate) fn max_conversation(&self) -> usize {
        self.max_conversation
    }

    fn key(&self, id: &str) -> String {
        format!("{}response:{id}", self.prefix)
    }

    /// A failed call as the client sees it; a connection failure also makes the next calls
    /// fail at once for a moment ([`crate::redis_conn::DOWN_FOR`]).
    fn unavailable(&self, e: redis::RedisError) -> GatewayError {
        self.redis.observe(&e);
        // The error text names the server but never the URL's password.
        GatewayError::StoreUnavailable {
            message: format!("The response store is unavailable: {}.", e.category()),
        }
    }

    async fn conn(&self) -> Result<redis::aio::ConnectionManager, GatewayError> {
        self.redis.get().await.map_err(|e| self.unavailable(e))
    }

    /// Saves `stored` under `id` with the configured lifetime: the first save of a foreground
    /// response, under the upstream's id. The newest response wins ("latest wins"), except
    /// that with `guard_tenant` (a multi-tenant gateway) a record of another tenant is never
    /// replaced: false then, and that record is left as it was. Ids come from the upstreams,
    /// and two upstreams (servers that count, or one restarted) may hand out the same one: an
    /// unguarded write would replace one tenant's record with another's, while refusing every
    /// collision would leave a tenant's own id naming an older, unrelated response.
    pub(crate) async fn save_first(
        &self,
        id: &str,
        stored: &StoredRef<'_>,
        guard_tenant: bool,
    ) -> Result<bool, GatewayError> {
        let json = serde_json::to_vec(stored).map_err(|e| GatewayError::Internal {
            message: format!("could not encode the stored response: {e}"),
        })?;
        self.bounded(async {
            let mut conn = self.conn().await?;
            if !guard_tenant {
                redis::cmd("SET")
                    .arg(self.key(id))
                    .arg(json)
                    .arg("EX")
                    .arg(self.ttl_secs)
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(|e| self.unavailable(e))?;
                return Ok(true);
            }
            let wrote: i64 = redis::Script::new(SAME_TENANT_PUT)
                .key(self.key(id))
                .arg(json)
                .arg(self.ttl_secs)
                .arg(stored.tenant.unwrap_or_default())
                .invoke_async(&mut conn)
                .await
                .map_err(|e| self.unavailable(e))?;
            Ok(wrote == 1)
        })
        .await
    }

    /// `call` within one [`IO_TIMEOUT`] in all: the connection manager's own timeouts bound
    /// each step, but waiting on a reconnect (three attempts) can take three times as long,
    /// and these calls sit in front of an answer. Running out counts as a lost connection;
    /// an answered call ends any outage.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, GatewayError>>,
    ) -> Result<T, GatewayError> {
        match tokio::time::timeout(IO_TIMEOUT, call).await {
            Ok(Ok(v)) => {
                self.redis.ok();
                Ok(v)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => {
                self.redis.observe_timeout(IO_TIMEOUT);
                Err(GatewayError::StoreUnavailable {
                    message: "The response store is unavailable: the call timed out.".into(),
                })
            }
        }
    }

    /// The stored record of `id` as written, if any (callers parse what they need of it).
    pub(crate) async fn raw(&self, id: &str) -> Result<Option<Vec<u8>>, GatewayError> {
        self.bounded(async {
            let mut conn = self.conn().await?;
            redis::cmd("GET")
                .arg(self.key(id))
                .query_async(&mut conn)
                .await
                .map_err(|e| self.unavailable(e))
        })
        .await
    }

    /// The response stored under `id`, if any, its items left raw ([`Stored`]). A record of
    /// [`LARGE_BODY`] or more is parsed on the blocking pool, so that reading it never stalls
    /// the other connections of a worker thread.
    pub(crate) async fn get(&self, id: &str) -> Result<Option<Stored>, GatewayError> {
        let Some(bytes) = self.raw(id).await? else {
            return Ok(None);
        };
        let owned_id = id.to_owned();
        sized(bytes.len(), move || parse_record(&owned_id, &bytes))
            .await?
            .map(Some)
    }
}

/// `bytes` as a [`Stored`], with its length noted.
fn parse_record(id: &str, bytes: &[u8]) -> Result<Stored, GatewayError> {
    let mut stored: Stored = serde_json::from_slice(bytes).map_err(|e| GatewayError::Internal {
        message: format!("the stored response {id:?} is corrupt: {e}"),
    })?;
    stored.record_len = bytes.len();
    Ok(stored)
}
