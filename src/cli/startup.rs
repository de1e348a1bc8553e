//! The one composition root: every command, the daemon and the Lambda get their configuration,
//! AWS clients, store and clock from here, so no entry point can disagree with another about
//! what is true (a wake made anywhere is honoured everywhere, and every action lands in the same
//! audit trail).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;

use crate::api::ApiState;
use crate::aws::{AwsCloud, CallLimits, DynamoStore};
use crate::clock::{Clock, SystemClock};
use crate::config;
use crate::model::Config;
use crate::service::Service;
use crate::store::{SqliteStore, Store};

/// Loads the schedules, or says what is wrong with them.
pub fn load_config(schedules: &Path) -> anyhow::Result<Config> {
    config::load(schedules)
        .map_err(|d| anyhow::anyhow!("{d}\nfix the schedule files (see `lightsout check`)"))
}

/// Opens the store named on the command line: `dynamodb:TABLE` or a SQLite file.
pub fn open_store(store: &str, cloud: &AwsCloud) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match store.strip_prefix("dynamodb:") {
        Some(table) if !table.is_empty() => {
            Arc::new(DynamoStore::from_config(cloud.sdk_config(), table))
        }
        Some(_) => anyhow::bail!("--store dynamodb: needs a table name, like dynamodb:lightsout"),
        None => Arc::new(
            SqliteStore::open(Path::new(store))
                .with_context(|| format!("cannot open the store {store}"))?,
        ),
    })
}

/// Everything an entry point runs on.
pub struct Parts {
    /// The environments.
    pub config: Config,
    /// The AWS clients.
    pub cloud: AwsCloud,
    /// The shared store.
    pub store: Arc<dyn Store>,
    /// The wall clock.
    pub clock: Arc<dyn Clock>,
    /// The AWS call limits the clients were built with.
    pub limits: CallLimits,
}

impl Parts {
    /// Loads the schedules, builds the AWS clients with `limits`, and opens `store`.
    pub async fn open(schedules: &Path, limits: CallLimits, store: &str) -> anyhow::Result<Parts> {
        let config = load_config(schedules)?;
        let cloud = AwsCloud::from_env(limits).await;
        let store = open_store(store, &cloud)?;
        Ok(Parts {
            config,
            cloud,
            store,
            clock: Arc::new(SystemClock),
            limits,
        })
    }

    /// The service over these parts, for a copy named `instance` whose actions the audit trail
    /// names `actor`. A write starts only while more of its lease is left than one AWS call can
    /// take.
    pub fn app(self, instance: String, actor: String) -> Service<AwsCloud> {
        let mut app = Service::new(self.config, self.cloud, self.store, self.clock, instance);
        app.actor = actor;
        let call = chrono::TimeDelta::from_std(self.limits.call_timeout)
            .unwrap_or(chrono::TimeDelta::seconds(20));
        app.lease.margin = app.lease.margin.max(call + chrono::TimeDelta::seconds(10));
        app
    }
}

/// Who runs this command, for the audit trail: `cli:USER`.
pub fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// This process's name in leases: `HOST-PID` (a CLI run is `cli-HOST-PID`).
pub fn instance_name(prefix: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{prefix}{}-{}", host.trim(), std::process::id())
}

/// A secret from the environment variable `NAME`, from the file named by `NAME_FILE`, or from
/// the SSM parameter (SecureString, decrypted) named by `NAME_SSM`, read once at start-up.
/// Never logged: errors name the variable and the file or parameter, not the value.
pub async fn secret(name: &str, aws: &aws_config::SdkConfig) -> anyhow::Result<Option<String>> {
    secret_in(name, &|key| std::env::var(key).ok(), aws).await
}

/// [`secret`] with the environment read through `env` (tests pass a map: setting process
/// variables races every other thread that reads them).
pub async fn secret_in(
    name: &str,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    aws: &aws_config::SdkConfig,
) -> anyhow::Result<Option<String>> {
    if let Some(v) = env(name) {
        return Ok(Some(v));
    }
    if let Some(path) = env(&format!("{name}_FILE")) {
        return std::fs::read_to_string(&path)
            .map(|s| Some(s.trim().to_string()))
            .map_err(|e| anyhow::anyhow!("cannot read {name}_FILE ({path}): {e}"));
    }
    match env(&format!("{name}_SSM")) {
        Some(parameter) => crate::aws::outbox::parameter(aws, &parameter)
            .await
            .map(|s| Some(s.trim().to_string()))
            .map_err(|e| anyhow::anyhow!("cannot read {name}_SSM (parameter {parameter}): {e}")),
        None => Ok(None),
    }
}

/// The digester, with the Slack webhook secret read once.
pub async fn digester(
    cfg: Config,
    cloud: Arc<AwsCloud>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<crate::digest::Digester> {
    let webhook = secret("LIGHTSOUT_SLACK_WEBHOOK_URL", cloud.sdk_config()).await?;
    let uses_slack = cfg
        .environments
        .iter()
        .any(|e| e.digest.channels.contains(&crate::model::Channel::Slack));
    if uses_slack && webhook.is_none() {
        tracing::warn!(
            "a digest goes to Slack but LIGHTSOUT_SLACK_WEBHOOK_URL (or _FILE, _SSM) is not set: that channel will fail"
        );
    }
    if webhook.is_none() && cfg.environments.iter().any(|e| e.heads_up.is_some()) {
        tracing::warn!(
            "heads_up is set but LIGHTSOUT_SLACK_WEBHOOK_URL (or _FILE, _SSM) is not: no heads-up will be posted"
        );
    }
    Ok(crate::digest::Digester::new(
        cfg,
        cloud.ports(webhook),
        store,
        clock,
    ))
}

/// What `serve` and `lambda` run: the service, and what its API needs beside it.
pub struct Server {
    /// The service.
    pub service: Service<AwsCloud>,
    /// API tokens.
    pub tokens: crate::api::auth::Tokens,
    /// The Slack verifier, when a signing secret is configured.
    pub slack: Option<crate::api::slack::SlackVerifier>,
}

impl Server {
    /// The API over the service, with the default rate limit.
    pub fn api(self) -> ApiState<AwsCloud> {
        let mut api = ApiState::new(Arc::new(self.service), self.tokens);
        api.slack = self.slack;
        api
    }
}

/// The running service shared by `serve` and `lambda`: schedules, tokens, the Slack secret, the
/// store and the AWS clients, once.
pub async fn server(
    schedules: &Path,
    limits: CallLimits,
    store: &str,
    tokens_file: Option<&Path>,
    instance: String,
) -> anyhow::Result<Server> {
    let parts = Parts::open(schedules, limits, store).await?;
    let tokens_text = match tokens_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the tokens file {}", path.display()))?,
        None => secret("LIGHTSOUT_TOKENS", parts.cloud.sdk_config())
            .await?
            .unwrap_or_default(),
    };
    let tokens = crate::api::auth::Tokens::parse(&tokens_text)
        .map_err(|e| anyhow::anyhow!("API tokens: {e}"))?;
    if tokens.is_empty() {
        tracing::warn!(
            "no API tokens (LIGHTSOUT_TOKENS or --tokens-file): the API will refuse every request"
        );
    }
    let digest_cloud = Arc::new(AwsCloud::new(parts.cloud.sdk_config().clone()));
    let digester = digester(
        parts.config.clone(),
        digest_cloud,
        parts.store.clone(),
        parts.clock.clone(),
    )
    .await?;
    let signing = secret("LIGHTSOUT_SLACK_SIGNING_SECRET", parts.cloud.sdk_config()).await?;
    let slack = signing
        .as_deref()
        .map(crate::api::slack::SlackVerifier::new);
    // Wake links are signed with their own secret when one is set, else with Slack's.
    let link_secret = secret("LIGHTSOUT_LINK_SECRET", parts.cloud.sdk_config())
        .await?
        .or(signing);
    let mut service = parts.app(instance, "schedule".into());
    // Heads-ups before a sleep go where the digest's Slack messages go.
    service.notify = Some(digester.outbox.clone());
    service.links = link_secret
        .as_deref()
        .map(crate::service::links::WakeLinks::new);
    if service
        .config
        .environments
        .iter()
        .any(|e| e.heads_up.is_some())
        && slack.is_none()
    {
        tracing::warn!(
            "heads_up is set but LIGHTSOUT_SLACK_SIGNING_SECRET is not: the heads-up's buttons will be refused"
        );
    }
    service.digest = Some(Arc::new(digester));
    Ok(Server {
        service,
        tokens,
        slack,
    })
}
