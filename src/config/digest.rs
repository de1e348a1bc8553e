//! The `[digest]` table of a schedule file: when the daily digest is made, which costs are the
//! environment's, and where it goes.

use toml::de::DeTable;

use crate::diag::{Reader, lookup, suggest};
use crate::kinds::Guard;
use crate::model::{Channel, CostFilter, DigestConfig};

const DIGEST_KEYS: &[&str] = &[
    "at",
    "cost_tag",
    "cost_account",
    "budget_name",
    "health_urls",
    "alarm_prefix",
    "channels",
    "email_from",
    "email_to",
    "sns_topic_arn",
    "combined",
];

impl Reader<'_, '_> {
    /// The `[digest]` table. Without `cost_tag` or `cost_account`, costs are filtered by the
    /// first `require_tags` tag when there is one; alarms default to names starting with the
    /// environment's name and a dash.
    pub(super) fn digest(
        &mut self,
        t: &DeTable<'_>,
        guard: &Guard,
        env_name: &str,
    ) -> DigestConfig {
        self.check_keys(t, DIGEST_KEYS, "[digest]");
        let mut d = DigestConfig {
            alarm_prefix: format!("{env_name}-"),
            ..DigestConfig::default()
        };
        if let Some(v) = lookup(t, "at")
            && let Some(s) = self.string(v, "digest.at")
        {
            match chrono::NaiveTime::parse_from_str(s, "%H:%M") {
                Ok(at) => d.at = at,
                Err(_) => self.err(
                    v.span(),
                    format!("\"{s}\" is not a time of day"),
                    Some(
                        "write at = \"08:30\" (24-hour local time of the environment)".to_string(),
                    ),
                ),
            }
        }
        let tag = lookup(t, "cost_tag");
        let account = lookup(t, "cost_account");
        if let (Some(_), Some(a)) = (tag, account) {
            self.err(
                a.span(),
                "`cost_tag` and `cost_account` are both set",
                Some("keep one: a cost-allocation tag, or the linked account the environment has to itself".to_string()),
            );
        }
        if let Some(v) = tag {
            if let Some(s) = self.string(v, "digest.cost_tag") {
                match s.split_once('=') {
                    Some((k, val)) if !k.trim().is_empty() && !val.trim().is_empty() => {
                        d.cost_filter = CostFilter::Tag(k.trim().into(), val.trim().into())
                    }
                    _ => self.err(
                        v.span(),
                        format!("\"{s}\" is not a tag"),
                        Some("write cost_tag = \"Environment=staging\" (an activated cost-allocation tag)".to_string()),
                    ),
                }
            }
        } else if let Some(v) = account {
            if let Some(s) = self.string(v, "digest.cost_account") {
                if s.len() == 12 && s.bytes().all(|c| c.is_ascii_digit()) {
                    d.cost_filter = CostFilter::Account(s.to_string());
                } else {
                    self.err(
                        v.span(),
                        format!("\"{s}\" is not an AWS account id"),
                        Some(
                            "write the 12 digits, quoted: cost_account = \"123456789012\""
                                .to_string(),
                        ),
                    );
                }
            }
        } else if let Some((k, v)) = guard.require_tags.iter().next() {
            d.cost_filter = CostFilter::Tag(k.clone(), v.clone());
        }
        if let Some(v) = lookup(t, "budget_name")
            && let Some(s) = self.string(v, "digest.budget_name")
        {
            if s.trim().is_empty() || s.len() > 100 {
                self.err(v.span(), "`budget_name` must name an AWS Budgets budget", Some("write budget_name = \"staging-monthly\", or delete it to use monthly_budget".to_string()));
            } else {
                d.budget_name = Some(s.to_string());
            }
        }
        if let Some(v) = lookup(t, "health_urls") {
            for (s, span) in self.strings(v, "digest.health_urls") {
                if s.starts_with("http://") || s.starts_with("https://") {
                    d.health_urls.push(s.to_string());
                } else {
                    self.err(
                        span,
                        format!("\"{s}\" is not an http(s) URL"),
                        Some("write the full URL, like \"https://staging.example.com/api/v1/utils/health-check/\"".to_string()),
                    );
                }
            }
        }
        if let Some(v) = lookup(t, "alarm_prefix")
            && let Some(s) = self.string(v, "digest.alarm_prefix")
        {
            d.alarm_prefix = s.to_string();
        }
        if let Some(v) = lookup(t, "combined") {
            match v.get_ref() {
                toml::de::DeValue::Boolean(b) => d.combined = *b,
                _ => self.err(
                    v.span(),
                    "`combined` must be true or false",
                    Some(
                        "write combined = true to send these channels the digest of every environment, for finance"
                            .to_string(),
                    ),
                ),
            }
        }
        if let Some(v) = lookup(t, "channels") {
            d.channels.clear();
            for (s, span) in self.strings(v, "digest.channels") {
                match Channel::ALL.iter().find(|(n, _)| *n == s) {
                    Some((_, c)) if !d.channels.contains(c) => d.channels.push(*c),
                    Some(_) => self.err(
                        span,
                        format!("channel \"{s}\" is listed twice"),
                        Some("list each channel once".to_string()),
                    ),
                    None => {
                        let names = Channel::ALL.map(|(n, _)| n);
                        let help = match suggest(s, names.iter().copied()) {
                            Some(n) => format!("did you mean \"{n}\"?"),
                            None => format!("channels are {}", names.join(", ")),
                        };
                        self.err(span, format!("unknown channel \"{s}\""), Some(help));
                    }
                }
            }
        }
        if let Some(v) = lookup(t, "email_from")
            && let Some(s) = self.string(v, "digest.email_from")
        {
            if is_email(s) {
                d.email_from = Some(s.to_string());
            } else {
                self.err(
                    v.span(),
                    format!("\"{s}\" is not an email address"),
                    Some(
                        "write email_from = \"lightsout@example.com\" (an SES-verified identity)"
                            .to_string(),
                    ),
                );
            }
        }
        if let Some(v) = lookup(t, "email_to") {
            for (s, span) in self.strings(v, "digest.email_to") {
                if is_email(s) {
                    d.email_to.push(s.to_string());
                } else {
                    self.err(
                        span,
                        format!("\"{s}\" is not an email address"),
                        Some("write email_to = [\"leads@example.com\"]".to_string()),
                    );
                }
            }
        }
        if let Some(v) = lookup(t, "sns_topic_arn")
            && let Some(s) = self.string(v, "digest.sns_topic_arn")
        {
            if s.starts_with("arn:aws")
                && s.split(':').nth(2) == Some("sns")
                && s.split(':').count() == 6
            {
                d.sns_topic_arn = Some(s.to_string());
            } else {
                self.err(v.span(), format!("\"{s}\" is not an SNS topic ARN"), Some("write sns_topic_arn = \"arn:aws:sns:eu-west-1:123456789012:lightsout-digest\"".to_string()));
            }
        }
        let at = lookup(t, "channels").map_or(0..0, |v| v.span());
        let missing_email = lookup(t, "email_from").is_none() || lookup(t, "email_to").is_none();
        if d.channels.contains(&Channel::Email) && missing_email {
            self.err(at.clone(), "the email channel needs `email_from` and `email_to`", Some("add email_from = \"lightsout@example.com\" and email_to = [\"leads@example.com\"] to [digest]".to_string()));
        }
        if d.channels.contains(&Channel::Sns)
            && d.sns_topic_arn.is_none()
            && lookup(t, "sns_topic_arn").is_none()
        {
            self.err(
                at,
                "the sns channel needs `sns_topic_arn`",
                Some(
                    "add sns_topic_arn = \"arn:aws:sns:REGION:ACCOUNT:TOPIC\" to [digest]"
                        .to_string(),
                ),
            );
        }
        d
    }
}

/// A plausible email address: `local@domain.tld`, no spaces.
fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s
                    .chars()
                    .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',')
        }
        None => false,
    }
}
