//! The DynamoDB store: one on-demand table for the Lambda and for several daemons side by side.
//!
//! Items (partition key `pk`, sort key `sk`, both strings; `expires_at` is the TTL attribute):
//!
//! | item | pk | sk |
//! |---|---|---|
//! | override | `env#{env}` | `override` |
//! | lease | `env#{env}` | `lease` |
//! | audit event | `audit#{env}` and `audit` (written to both) | `{at}#{env}#{n}` |
//! | cache entry | `cache#{key}` | `cache` |
//! | a key claimed once (Slack replay protection) | `once#{key}` | `once` |
//!
//! Override and lease writes are conditional, so two copies cannot both win: an override is only
//! replaced when the one in force ends earlier (or holds the other way, or has ended), and a lease
//! only taken when free, expired, or already ours.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, PutRequest,
    ReturnValue, ScalarAttributeType, TimeToLiveSpecification, WriteRequest,
};
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::{BoxFuture, FutureExt};

use crate::model::{Hold, Override};
use crate::store::{AuditEvent, LeaseHolder, Put, Store, StoreError, parse_ts, ts};

/// How long audit events are kept before DynamoDB's TTL removes them.
const AUDIT_RETENTION: TimeDelta = TimeDelta::days(90);

/// The DynamoDB store.
pub struct DynamoStore {
    client: Client,
    table: String,
    seq: AtomicU64,
}

type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get(item: &Item, key: &str) -> Result<String, StoreError> {
    match item.get(key) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(StoreError(format!("item lacks the string attribute {key}"))),
    }
}

fn err<E>(op: &'static str, e: aws_sdk_dynamodb::error::SdkError<E>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    StoreError(format!("DynamoDB {}", super::cloud_error(op, e)))
}

fn is_condition_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    e: &aws_sdk_dynamodb::error::SdkError<E>,
) -> bool {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata as _;
    e.code() == Some("ConditionalCheckFailedException")
}

/// A conditional `PutItem`'s answer: `true` when written, `false` when its condition did not
/// hold (another holder, an earlier claim), an error otherwise.
fn put_if<T>(
    put: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError>,
    >,
) -> Result<bool, StoreError> {
    match put {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failed(&e) => Ok(false),
        Err(e) => Err(err("PutItem", e)),
    }
}

fn event_json(e: &AuditEvent) -> Result<String, StoreError> {
    serde_json::to_string(e)
        .map_err(|err| StoreError(format!("cannot encode an audit event: {err}")))
}

fn override_from(env: &str, item: &Item) -> Result<Override, StoreError> {
    Ok(Override {
        env: env.to_string(),
        hold: if get(item, "hold")? == "asleep" {
            Hold::Asleep
        } else {
            Hold::Awake
        },
        created: parse_ts(&get(item, "created")?)?,
        until: parse_ts(&get(item, "until")?)?,
        by: get(item, "by")?,
        reason: get(item, "reason")?,
    })
}

impl DynamoStore {
    /// A store on an existing table.
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
            seq: AtomicU64::new(0),
        }
    }

    /// A store on an existing table, with a client built from `config`.
    pub fn from_config(config: &aws_config::SdkConfig, table: impl Into<String>) -> DynamoStore {
        DynamoStore::new(Client::new(config), table)
    }

    /// Creates the table (on demand, TTL on `expires_at`), as the deploy module does; for tests
    /// and the demo.
    pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk").map_err(|e| StoreError(e.to_string()))?)
            .attribute_definitions(attr("sk").map_err(|e| StoreError(e.to_string()))?)
            .key_schema(key("pk", KeyType::Hash).map_err(|e| StoreError(e.to_string()))?)
            .key_schema(key("sk", KeyType::Range).map_err(|e| StoreError(e.to_string()))?)
            .send()
            .await
            .map_err(|e| err("CreateTable", e))?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("expires_at")
                    .build()
                    .map_err(|e| StoreError(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| err("UpdateTimeToLive", e))?;
        Ok(())
    }

    /// One conditional write of an override: `Some` with what is in force after it, or `None`
    /// when the write was refused and the override that refused it is gone already.
    async fn try_put_override(&self, ov: &Override) -> Result<Option<Put>, StoreError> {
        let put = self
            .client
            .put_item()
                .table_name(&self.table)
                .item("pk", s(format!("env#{}", ov.env)))
                .item("sk", s("override"))
                .item("hold", s(if ov.hold == Hold::Asleep { "asleep" } else { "awake" }))
                .item("created", s(ts(ov.created)))
                .item("until", s(ts(ov.until)))
                .item("by", s(&ov.by))
                .item("reason", s(&ov.reason))
                .item("expires_at", n((ov.until + TimeDelta::days(1)).timestamp()))
                // Replace only what is not an active override holding the same way and ending
                // at or after the new one.
                .condition_expression(
                    "attribute_not_exists(pk) OR #hold <> :hold OR #until < :until OR #until <= :now OR created > :now",
                )
                .expression_attribute_names("#hold", "hold")
                .expression_attribute_names("#until", "until")
                .expression_attribute_values(":hold", s(if ov.hold == Hold::Asleep { "asleep" } else { "awake" }))
                .expression_attribute_values(":until", s(ts(ov.until)))
                .expression_attribute_values(":now", s(ts(ov.created)))
                .send()
                .await;
        match put {
            Ok(_) => Ok(Some(Put::Stored(ov.clone()))),
            Err(e) if is_condition_failed(&e) => {
                Ok(self.read_override(&ov.env).await?.map(Put::KeptLater))
            }
            Err(e) => Err(err("PutItem", e)),
        }
    }

    async fn read_override(&self, env: &str) -> Result<Option<Override>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("env#{env}")))
            .key("sk", s("override"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| err("GetItem", e))?;
        out.item().map(|i| override_from(env, i)).transpose()
    }
}

/// Audit events read per Query page by [`Store::audit_since`].
const AUDIT_PAGE_ITEMS: i32 = 500;
/// Pages [`Store::audit_since`] reads at most (200,000 events).
const AUDIT_PAGES: usize = 400;

/// An audit item, typed; items from before the typed trail are read from their text.
fn audit_event(i: &HashMap<String, AttributeValue>) -> Result<AuditEvent, StoreError> {
    match i.get("event") {
        Some(AttributeValue::S(json)) => serde_json::from_str(json)
            .map_err(|e| StoreError(format!("unreadable audit event: {e}"))),
        _ => Ok(AuditEvent::from_legacy(
            parse_ts(&get(i, "at")?)?,
            get(i, "env")?,
            get(i, "resource")?,
            &get(i, "action")?,
            get(i, "reason")?,
            get(i, "actor")?,
            &get(i, "outcome")?,
        )),
    }
}

impl Store for DynamoStore {
    fn active_override(
        &self,
        env: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Override>, StoreError>> {
        let env = env.to_string();
        async move { Ok(self.read_override(&env).await?.filter(|o| o.is_active(now))) }.boxed()
    }

    fn put_override(&self, ov: Override) -> BoxFuture<'_, Result<Put, StoreError>> {
        async move {
            // A conditional write refused because a later override is in force, which a
            // concurrent sleep then deleted, is simply tried again (a few times).
            for _ in 0..3 {
                if let Some(result) = self.try_put_override(&ov).await? {
                    return Ok(result);
                }
            }
            Err(StoreError(
                "the override changed under three conditional writes in a row; try again".into(),
            ))
        }
        .boxed()
    }

    fn clear_override(
        &self,
        env: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Override>, StoreError>> {
        let env = env.to_string();
        async move {
            let out = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(format!("env#{env}")))
                .key("sk", s("override"))
                .return_values(ReturnValue::AllOld)
                .send()
                .await
                .map_err(|e| err("DeleteItem", e))?;
            Ok(out
                .attributes()
                .map(|i| override_from(&env, i))
                .transpose()?
                .filter(|o| o.is_active(now)))
        }
        .boxed()
    }

    fn record(&self, events: Vec<AuditEvent>) -> BoxFuture<'_, Result<(), StoreError>> {
        async move {
            let mut requests = Vec::new();
            for e in &events {
                let n_ = self.seq.fetch_add(1, Ordering::Relaxed);
                let sk = format!("{}#{}#{n_:08}", ts(e.at), e.env);
                for pk in [format!("audit#{}", e.env), "audit".to_string()] {
                    let item: Item = [
                        ("pk", s(pk)),
                        ("sk", s(&sk)),
                        ("at", s(ts(e.at))),
                        ("env", s(&e.env)),
                        ("resource", s(&e.resource)),
                        // The typed event, as JSON; the text columns are for people reading
                        // the table.
                        ("event", s(event_json(e)?)),
                        ("action", s(e.action.to_string())),
                        ("reason", s(&e.reason)),
                        ("actor", s(&e.actor)),
                        ("outcome", s(e.outcome.to_string())),
                        ("expires_at", n((e.at + AUDIT_RETENTION).timestamp())),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                    let put = PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map_err(|e| StoreError(e.to_string()))?;
                    requests.push(WriteRequest::builder().put_request(put).build());
                }
            }
            for chunk in requests.chunks(25) {
                let mut pending: HashMap<String, Vec<WriteRequest>> =
                    HashMap::from([(self.table.clone(), chunk.to_vec())]);
                // Unprocessed items are retried a few times; then the failure is reported.
                for _ in 0..5 {
                    let out = self
                        .client
                        .batch_write_item()
                        .set_request_items(Some(pending.clone()))
                        .send()
                        .await
                        .map_err(|e| err("BatchWriteItem", e))?;
                    match out.unprocessed_items() {
                        Some(left) if left.values().any(|v| !v.is_empty()) => {
                            pending = left.clone()
                        }
                        _ => {
                            pending.clear();
                            break;
                        }
                    }
                }
                if !pending.is_empty() {
                    return Err(StoreError(
                        "DynamoDB left audit events unprocessed after 5 tries".into(),
                    ));
                }
            }
            Ok(())
        }
        .boxed()
    }

    fn audit(
        &self,
        env: Option<&str>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<AuditEvent>, StoreError>> {
        let pk = env.map_or_else(|| "audit".to_string(), |e| format!("audit#{e}"));
        async move {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
                .scan_index_forward(false)
                .limit(limit.clamp(1, 1000) as i32)
                .send()
                .await
                .map_err(|e| err("Query", e))?;
            out.items().iter().map(audit_event).collect()
        }
        .boxed()
    }

    fn audit_since(
        &self,
        env: &str,
        since: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Vec<AuditEvent>, StoreError>> {
        let (pk, env) = (format!("audit#{env}"), env.to_string());
        async move {
            let mut out = Vec::new();
            let mut start: Option<HashMap<String, AttributeValue>> = None;
            // Sort keys begin with the event's time (RFC 3339, text order is time order).
            for _ in 0..AUDIT_PAGES {
                let page = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk AND sk >= :since")
                    .expression_attribute_values(":pk", s(&pk))
                    .expression_attribute_values(":since", s(ts(since)))
                    .scan_index_forward(true)
                    .limit(AUDIT_PAGE_ITEMS)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| err("Query", e))?;
                for item in page.items() {
                    out.push(audit_event(item)?);
                }
                match page.last_evaluated_key() {
                    Some(k) if !k.is_empty() => start = Some(k.clone()),
                    _ => return Ok(out),
                }
            }
            Err(StoreError(format!(
                "the audit trail of {env} since {since} runs past {AUDIT_PAGES} pages of {AUDIT_PAGE_ITEMS} events"
            )))
        }
        .boxed()
    }

    fn acquire_lease(
        &self,
        env: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        let (env, holder) = (env.to_string(), holder.to_string());
        async move {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(format!("env#{env}")))
                .item("sk", s("lease"))
                .item("holder", s(&holder))
                .item("until", s(ts(until)))
                .item("expires_at", n((until + TimeDelta::days(1)).timestamp()))
                .condition_expression(
                    "attribute_not_exists(pk) OR holder = :holder OR #until <= :now",
                )
                .expression_attribute_names("#until", "until")
                .expression_attribute_values(":holder", s(&holder))
                .expression_attribute_values(":now", s(ts(now)))
                .send()
                .await;
            put_if(put)
        }
        .boxed()
    }

    fn renew_lease(
        &self,
        env: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        let (env, holder) = (env.to_string(), holder.to_string());
        async move {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(format!("env#{env}")))
                .item("sk", s("lease"))
                .item("holder", s(&holder))
                .item("until", s(ts(until)))
                .item("expires_at", n((until + TimeDelta::days(1)).timestamp()))
                .condition_expression("holder = :holder AND #until > :now")
                .expression_attribute_names("#until", "until")
                .expression_attribute_values(":holder", s(&holder))
                .expression_attribute_values(":now", s(ts(now)))
                .send()
                .await;
            put_if(put)
        }
        .boxed()
    }

    fn lease_holder(
        &self,
        env: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<LeaseHolder>, StoreError>> {
        let env = env.to_string();
        async move {
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", s(format!("env#{env}")))
                .key("sk", s("lease"))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| err("GetItem", e))?;
            let Some(item) = out.item() else {
                return Ok(None);
            };
            let until = parse_ts(&get(item, "until")?)?;
            Ok((until > now).then_some(LeaseHolder {
                holder: get(item, "holder")?,
                until,
            }))
        }
        .boxed()
    }

    fn release_lease(&self, env: &str, holder: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        let (env, holder) = (env.to_string(), holder.to_string());
        async move {
            let del = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(format!("env#{env}")))
                .key("sk", s("lease"))
                .condition_expression("holder = :holder")
                .expression_attribute_values(":holder", s(holder))
                .send()
                .await;
            match del {
                Ok(_) => Ok(()),
                Err(e) if is_condition_failed(&e) => Ok(()),
                Err(e) => Err(err("DeleteItem", e)),
            }
        }
        .boxed()
    }

    fn cache_get(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        let key = key.to_string();
        async move {
            let out = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", s(format!("cache#{key}")))
                .key("sk", s("cache"))
                .send()
                .await
                .map_err(|e| err("GetItem", e))?;
            let Some(item) = out.item() else {
                return Ok(None);
            };
            if parse_ts(&get(item, "expires")?)? <= now {
                return Ok(None);
            }
            Ok(Some(get(item, "value")?))
        }
        .boxed()
    }

    fn cache_put(
        &self,
        key: &str,
        value: &str,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        let (key, value) = (key.to_string(), value.to_string());
        async move {
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(format!("cache#{key}")))
                .item("sk", s("cache"))
                .item("value", s(value))
                .item("expires", s(ts(expires)))
                .item("expires_at", n(expires.timestamp()))
                .send()
                .await
                .map_err(|e| err("PutItem", e))?;
            Ok(())
        }
        .boxed()
    }

    fn claim_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        let key = key.to_string();
        async move {
            // Written only when absent or expired: two copies claiming at once cannot both win.
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(format!("once#{key}")))
                .item("sk", s("once"))
                .item("expires", s(ts(expires)))
                .item("expires_at", n(expires.timestamp() + 1))
                .condition_expression("attribute_not_exists(pk) OR #expires <= :now")
                .expression_attribute_names("#expires", "expires")
                .expression_attribute_values(":now", s(ts(now)))
                .send()
                .await;
            put_if(put)
        }
        .boxed()
    }
}
