//! The AWS adapter: the only module that talks to AWS — ECS and Application Auto Scaling, EC2
//! and EC2 Auto Scaling, RDS (and DocumentDB and Neptune through it), ElastiCache, Redshift,
//! ALB listener rules, and for the digest Cost Explorer, Budgets, the Price List, CloudWatch,
//! ELB, SES, SNS and SSM; DynamoDB for the shared store; the ALB's OIDC signing keys
//! (`elb_keys`, a plain HTTPS GET).
//!
//! Clients are built once per region from one shared configuration, with the SDK's adaptive
//! retry (client-side rate limiting on throttling) and timeouts on every call ([`CallLimits`]):
//! nothing lightsout asks of AWS can wait forever. The standard AWS configuration applies:
//! profiles, `AWS_REGION`, `AWS_ENDPOINT_URL`.

mod alb;
mod asg;
mod billing;
mod cloudwatch;
mod count;
mod docdb;
mod dynamo;
mod ec2;
mod ecs;
mod elasticache;
pub mod elb_keys;
pub mod events;
mod health;
pub mod outbox;
pub mod pace;
mod pricing;
mod rds;
mod redshift;

/// A plain HTTP client for webhooks, Slack answers and key fetches: bounded by `timeout` in all
/// (connect, send, read), every status an answer to read rather than an error.
pub fn http_agent(timeout: std::time::Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

pub use count::RequestCounter;
pub use dynamo::DynamoStore;
pub use outbox::AwsOutbox;
pub use pace::Pace;

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Arc, Mutex};

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

use crate::kinds::{Observation, Step};
use crate::model::Environment;
use crate::ports::{Cloud, CloudError};

/// Clients for one region.
#[derive(Clone)]
pub(crate) struct Clients {
    pub(crate) ecs: aws_sdk_ecs::Client,
    pub(crate) aas: aws_sdk_applicationautoscaling::Client,
    pub(crate) rds: aws_sdk_rds::Client,
    /// Cost Explorer (a global service, in us-east-1).
    pub(crate) ce: aws_sdk_costexplorer::Client,
    /// AWS Budgets (global, us-east-1).
    pub(crate) budgets: aws_sdk_budgets::Client,
    pub(crate) sts: aws_sdk_sts::Client,
    pub(crate) cw: aws_sdk_cloudwatch::Client,
    pub(crate) elb: aws_sdk_elasticloadbalancingv2::Client,
    pub(crate) elasticache: aws_sdk_elasticache::Client,
    pub(crate) autoscaling: aws_sdk_autoscaling::Client,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) redshift: aws_sdk_redshift::Client,
    pub(crate) eb: aws_sdk_eventbridge::Client,
    /// AWS's Price List (answers in us-east-1, eu-central-1 and ap-south-1 only: the nearest).
    pub(crate) pricing: aws_sdk_pricing::Client,
    /// This account and region's API budget, spent by every call of the resource kinds.
    pub(crate) pacer: Arc<pace::Pacer>,
}

impl Clients {
    /// Waits until `op` of `service` (the SDK's service name) may be sent; hold the permit until
    /// the call is answered. See [`pace`].
    pub(crate) async fn pace(&self, service: &'static str, op: &'static str) -> pace::Permit<'_> {
        self.pacer.pace(service, op).await
    }
}

/// The real cloud, through the AWS SDK.
pub struct AwsCloud {
    base: SdkConfig,
    regions: Mutex<HashMap<String, Arc<Clients>>>,
    counter: RequestCounter,
    pace: Pace,
    /// Throttling answers by operation, over every account and region.
    throttled: Arc<Mutex<std::collections::BTreeMap<String, u64>>>,
}

/// How long lightsout waits for AWS, and how often it tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Attempts per call (adaptive retry on throttling), at least 1.
    pub max_attempts: u32,
    /// The longest one attempt may take, from sending to the whole answer.
    pub attempt_timeout: Duration,
    /// The longest one call may take, every attempt and backoff included.
    pub call_timeout: Duration,
    /// The longest connecting may take.
    pub connect_timeout: Duration,
    /// How much of AWS's published API rate lightsout paces itself to.
    pub pace: Pace,
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            max_attempts: 5,
            attempt_timeout: Duration::from_secs(5),
            call_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(3),
            pace: Pace::default(),
        }
    }
}

impl CallLimits {
    /// The SDK's timeout configuration for these limits.
    pub fn timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout)
            .operation_attempt_timeout(self.attempt_timeout)
            .operation_timeout(self.call_timeout)
            .build()
    }
}

impl AwsCloud {
    /// Loads the standard AWS configuration with adaptive retry and the timeouts of `limits`.
    pub async fn from_env(limits: CallLimits) -> AwsCloud {
        let base = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::adaptive().with_max_attempts(limits.max_attempts.max(1)))
            .timeout_config(limits.timeouts())
            .load()
            .await;
        AwsCloud::new(base).with_pace(limits.pace)
    }

    /// Uses a ready configuration, unpaced (tests that prove something else than pacing, and
    /// tools that bring their own limits); [`AwsCloud::with_pace`] paces it, as
    /// [`AwsCloud::from_env`] does by default.
    pub fn new(base: SdkConfig) -> AwsCloud {
        AwsCloud {
            base,
            regions: Mutex::new(HashMap::new()),
            counter: RequestCounter::default(),
            pace: Pace::Off,
            throttled: Arc::default(),
        }
    }

    /// Paces calls to `pace` of AWS's published rates (all of them by default).
    pub fn with_pace(mut self, pace: Pace) -> AwsCloud {
        self.pace = pace;
        self
    }

    /// The digest's ports over AWS: billing, inspection and prices through these clients, the outbox
    /// through SES, SNS and the Slack webhook `slack_webhook`.
    pub fn ports(self: Arc<Self>, slack_webhook: Option<String>) -> crate::ports::Ports {
        let outbox = Arc::new(AwsOutbox::new(self.base.clone(), slack_webhook));
        crate::ports::Ports {
            billing: self.clone(),
            pricing: self.clone(),
            inspect: self,
            outbox,
        }
    }

    /// The shared SDK configuration (for other AWS clients, such as the DynamoDB store's).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.base
    }

    /// The clients for an environment's account (its role, if any) and region, built once and
    /// reused by every environment that shares them.
    pub(crate) async fn clients(&self, env: &Environment) -> Arc<Clients> {
        let key = format!("{}|{}", env.role_arn.as_deref().unwrap_or(""), env.region);
        // A poisoned lock only means another thread panicked while inserting; the map is intact.
        if let Some(c) = self
            .regions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return c.clone();
        }
        let config = match &env.role_arn {
            None => self.base.clone(),
            Some(role) => {
                let mut provider = aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name("lightsout")
                    .region(Region::new(env.region.clone()))
                    .configure(&self.base);
                if let Some(id) = &env.external_id {
                    provider = provider.external_id(id);
                }
                let provider = provider.build().await;
                self.base
                    .to_builder()
                    .credentials_provider(
                        aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                    )
                    .build()
            }
        };
        let region = Region::new(env.region.clone());
        let pacer = Arc::new(pace::Pacer::new(self.pace, self.throttled.clone()));
        let watch = pace::ThrottleWatch(pacer.clone());
        let clients = Arc::new(Clients {
            ecs: aws_sdk_ecs::Client::from_conf(
                aws_sdk_ecs::config::Builder::from(&config)
                    .region(region.clone())
                    .interceptor(self.counter.clone())
                    .interceptor(watch.clone())
                    .build(),
            ),
            aas: aws_sdk_applicationautoscaling::Client::from_conf(
                aws_sdk_applicationautoscaling::config::Builder::from(&config)
                    .region(region.clone())
                    .interceptor(self.counter.clone())
                    .interceptor(watch.clone())
                    .build(),
            ),
            rds: aws_sdk_rds::Client::from_conf(
                aws_sdk_rds::config::Builder::from(&config)
                    .region(region.clone())
                    .interceptor(self.counter.clone())
                    .interceptor(watch.clone())
                    .build(),
            ),
            // Cost Explorer bills every request, retries included: one attempt each, so a
            // digest stays within its 3 requests; what fails is said in the digest.
            ce: aws_sdk_costexplorer::Client::from_conf(
                aws_sdk_costexplorer::config::Builder::from(&config)
                    .region(Region::new("us-east-1"))
                    .retry_config(RetryConfig::standard().with_max_attempts(1))
                    // Its one attempt gets the whole call's time.
                    .timeout_config(single_attempt(&config))
                    .interceptor(self.counter.clone())
                    .build(),
            ),
            budgets: aws_sdk_budgets::Client::from_conf(
                aws_sdk_budgets::config::Builder::from(&config)
                    .region(Region::new("us-east-1"))
                    .interceptor(self.counter.clone())
                    .build(),
            ),
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(&config)
                    .region(region.clone())
                    .interceptor(self.counter.clone())
                    .build(),
            ),
            cw: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(&config)
                    .region(region.clone())
                    .interceptor(self.counter.clone())
                    .build(),
            ),
            elb: aws_sdk_elasticloadbalancingv2::Client::from_conf(
                aws_sdk_elasticloadbalancingv2::config::Builder::from(&config)
                    .region(region.clone())
                    .interceptor(self.counter.clone())
                    .interceptor(watch.clone())
                    .build(),
            ),
            elasticache: aws_sdk_elasticache::Client::from_conf(
                aws_sdk_elasticache::config::Builder::from(&config)
                    .region(region.clone())
                    .interceptor(self.counter.clone())
                    .interceptor(watch.clone())
                    .build(),
            ),
            autoscaling: aws_sdk_autoscaling::Client::from_conf(
                aws_sdk_autoscaling::config::Builder::from(&config)
                    .region(region.clone())
                    .interceptor(self.counter.clone())
                    .interceptor(watch.clone())
                    .build(),
            ),
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(&config)
                    .region(region.clone())
                    .interceptor(self.counter.clone())
                    .interceptor(watch.clone())
                    .build(),
            ),
            redshift: aws_sdk_redshift::Client::from_conf(
                aws_sdk_redshift::config::Builder::from(&config)
                    .region(region.clone())
                    .interceptor(self.counter.clone())
                    .build(),
            ),
            eb: aws_sdk_eventbridge::Client::from_conf(
                aws_sdk_eventbridge::config::Builder::from(&config)
                    .region(region)
                    .interceptor(self.counter.clone())
                    .interceptor(watch.clone())
                    .build(),
            ),
            // One attempt: a Price List that fails is answered from the shipped table at once
            // (and asked again by the next digest), never held up by retries.
            pricing: aws_sdk_pricing::Client::from_conf(
                aws_sdk_pricing::config::Builder::from(&config)
                    .region(Region::new(pricing::endpoint_region(&env.region)))
                    .retry_config(RetryConfig::standard().with_max_attempts(1))
                    .interceptor(self.counter.clone())
                    .build(),
            ),
            pacer,
        });
        self.regions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_insert(clients)
            .clone()
    }
}

impl Cloud for AwsCloud {
    fn requests(&self) -> std::collections::BTreeMap<String, u64> {
        self.counter.snapshot()
    }

    fn throttled(&self) -> std::collections::BTreeMap<String, u64> {
        self.throttled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn observe(&self, env: &Environment) -> Observation {
        let clients = self.clients(env).await;
        // Every kind is observed concurrently, then merged in kind order.
        let (mut obs, mut dbs) = (Observation::default(), Observation::default());
        let (mut caches, mut groups) = (Observation::default(), Observation::default());
        let (mut instances, mut warehouses) = (Observation::default(), Observation::default());
        let (mut engines, mut rules) = (Observation::default(), Observation::default());
        tokio::join!(
            alb::observe(&clients, env, &mut rules),
            ecs::observe(&clients, env, &mut obs),
            asg::observe(&clients, env, &mut groups),
            ec2::observe(&clients, env, &mut instances),
            rds::observe(&clients, env, &mut dbs),
            elasticache::observe(&clients, env, &mut caches),
            redshift::observe(&clients, env, &mut warehouses),
            docdb::observe(&clients, env, &mut engines),
        );
        obs.merge(groups);
        obs.merge(instances);
        obs.merge(dbs);
        obs.merge(caches);
        obs.merge(rules);
        obs.merge(warehouses);
        obs.merge(engines);
        obs
    }

    async fn execute(&self, env: &Environment, step: &Step) -> Result<(), CloudError> {
        let clients = self.clients(env).await;
        match step {
            Step::Alb(s) => alb::execute(&clients, s).await,
            Step::Ecs(s) => ecs::execute(&clients, s).await,
            Step::Asg(s) => asg::execute(&clients, s).await,
            Step::Ec2(s) => ec2::execute(&clients, s).await,
            Step::Rds(s) => rds::execute(&clients, s).await,
            Step::Redshift(s) => redshift::execute(&clients, s).await,
        }
    }

    async fn request_counts(
        &self,
        env: &Environment,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(chrono::DateTime<chrono::Utc>, f64)>, CloudError> {
        let clients = self.clients(env).await;
        cloudwatch::request_counts(&clients.cw, &env.kinds.alb.rules, from, to).await
    }

    async fn alarm_actions(
        &self,
        env: &Environment,
        enabled: bool,
        only: Option<&[String]>,
    ) -> Result<Vec<String>, CloudError> {
        if env.mute_alarms.is_empty() {
            return Ok(Vec::new());
        }
        let clients = self.clients(env).await;
        cloudwatch::alarm_actions(&clients.cw, &env.mute_alarms, enabled, only).await
    }

    async fn publish(&self, env: &Environment, t: &crate::model::Transition) -> Vec<String> {
        if !env.events.any() {
            return Vec::new();
        }
        let clients = self.clients(env).await;
        events::publish(&clients, env, t).await
    }
}

/// The configuration's timeouts with one attempt allowed the whole call's time.
fn single_attempt(config: &SdkConfig) -> TimeoutConfig {
    let base = config
        .timeout_config()
        .cloned()
        .unwrap_or_else(|| TimeoutConfig::builder().build());
    let call = base.operation_timeout().unwrap_or(Duration::from_secs(20));
    base.to_builder().operation_attempt_timeout(call).build()
}

/// Turns an SDK error into a [`CloudError`] with the AWS error code when there is one, and a
/// one-line cause when there is not (a timeout, a refused connection): never the SDK's debug dump.
pub(crate) fn cloud_error<E>(
    operation: &'static str,
    err: SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> CloudError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let code = err.code().map(String::from);
    let message = match (err.message(), err.raw_response()) {
        (Some(m), _) => m.to_string(),
        // An answer that is not an AWS error (a proxy's or an emulator's HTML page): its
        // status says enough; the SDK's own description would quote the whole response.
        (None, Some(raw)) if code.is_none() => format!(
            "HTTP {} with no AWS error in the answer",
            raw.status().as_u16()
        ),
        (None, _) => transport_cause(&err),
    };
    CloudError {
        operation,
        code,
        message,
    }
}

/// What went wrong below the AWS protocol, in one line: a timeout, or the innermost cause of a
/// failed connection (`Connection refused (os error 111)`), with where it happened.
pub(crate) fn transport_cause<E, R>(err: &SdkError<E, R>) -> String
where
    E: StdError + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::TimeoutError(_) => {
            "no answer in time (timed out; see --attempt-timeout and --call-timeout)".to_string()
        }
        SdkError::DispatchFailure(d) => {
            let what = if d.is_timeout() {
                "timed out"
            } else if d.is_io() {
                "cannot reach AWS"
            } else {
                "the request could not be sent"
            };
            let mut innermost: Option<String> = None;
            let mut source: Option<&(dyn StdError + 'static)> =
                d.as_connector_error().map(|c| c as _);
            while let Some(e) = source {
                innermost = Some(e.to_string());
                source = e.source();
            }
            match innermost {
                Some(cause) => format!("{what}: {cause}"),
                None => what.to_string(),
            }
        }
        SdkError::ConstructionFailure(_) => "the request could not be built".to_string(),
        SdkError::ResponseError(_) => "the answer could not be read".to_string(),
        other => {
            // A service error without a message: its code is reported beside this.
            let mut text = other.to_string();
            let mut source = other.source();
            while let Some(e) = source {
                text = e.to_string();
                source = e.source();
            }
            text
        }
    }
}

/// Follows `next` page tokens, refusing a token that repeats (a paginator that would loop).
pub(crate) struct Pages {
    seen: std::collections::HashSet<String>,
}

impl Pages {
    pub(crate) fn new() -> Pages {
        Pages {
            seen: std::collections::HashSet::new(),
        }
    }

    /// `Ok(Some(token))` to fetch another page, `Ok(None)` when done, `Err` on a repeated token.
    pub(crate) fn next(
        &mut self,
        operation: &'static str,
        token: Option<&str>,
    ) -> Result<Option<String>, CloudError> {
        match token.filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) if !self.seen.insert(t.to_string()) => Err(CloudError {
                operation,
                code: None,
                message: format!(
                    "the API returned page token {t:?} twice; stopping rather than looping"
                ),
            }),
            Some(t) => Ok(Some(t.to_string())),
        }
    }
}
