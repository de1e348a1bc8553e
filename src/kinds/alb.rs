//! The front door: ALB listener rules whose weighted `forward` action lightsout switches between
//! the application's target group (`app 1 / wake 0`) and a wake target group (`app 0 / wake 1`:
//! lightsout's own waiting page), so a visitor to a sleeping environment meets a page that says
//! so instead of the load balancer's bare `503`.
//!
//! Tier: the door, before the apps. Going to sleep the rule flips to the wake target group
//! *before* any service scales down; waking it flips back *last*, only once every service and
//! database is up and the app target group reports healthy targets. The rule is level-triggered
//! like every kind: a half-done switch (both weights up, or neither) is just a difference the
//! next pass repairs. Only the rules the `[alb]` table lists are read or written, and only
//! their forward weights between the two target groups it names: every other action of the rule
//! (an `authenticate-oidc` before the forward, say) is kept as it is.
//!
//! ```toml
//! [[alb.rules]]
//! rule = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/staging/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
//! app  = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/staging-backend/73e2d6bc24d8a067"
//! wake = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/lightsout-wake/2453ed029918f21f"
//!
//! # or by its listener and conditions: the one rule of that listener whose host-header and
//! # path-pattern conditions are exactly these (found by DescribeRules on every pass)
//! [[alb.rules]]
//! listener = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/staging/50dc6c495c0c9188/f2f7dc8efc522ab2"
//! hosts    = ["staging.example.com"]
//! paths    = ["/*"]
//! app  = "…"
//! wake = "…"
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use toml::de::DeTable;

use super::{Ctx, Deps, Rule};
use crate::diag::{Reader, lookup};

const KEYS: &[&str] = &[
    "rules",
    "hosts",
    "wake_on_request",
    "allow_cidrs",
    "oidc_signer",
];
const RULE_KEYS: &[&str] = &["rule", "listener", "hosts", "paths", "app", "wake"];

/// Past this many, what the door waits for is counted, not listed.
const LIST_AT_MOST: usize = 3;

/// How the schedule file names a listener rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleRef {
    /// By its ARN.
    Arn(String),
    /// By its listener and conditions: the one rule of the listener whose host-header and
    /// path-pattern values are exactly these (as sets; hosts without regard to case) and that
    /// has no other condition.
    Match {
        /// The listener's ARN.
        listener: String,
        /// Its host-header values, lowercased and sorted; empty: no host-header condition.
        hosts: Vec<String>,
        /// Its path-pattern values, sorted; empty: no path-pattern condition.
        paths: Vec<String>,
    },
}

impl RuleRef {
    /// The load balancer it belongs to, as its metrics' `LoadBalancer` dimension names it:
    /// `app/staging/50dc…` (from the rule's ARN or its listener's).
    pub fn load_balancer(&self) -> Option<String> {
        let tail = match self {
            RuleRef::Arn(a) => a.split_once(":listener-rule/")?.1,
            RuleRef::Match { listener, .. } => listener.split_once(":listener/")?.1,
        };
        let parts: Vec<&str> = tail.split('/').take(3).collect();
        (parts.len() == 3 && parts.iter().all(|p| !p.is_empty())).then(|| parts.join("/"))
    }

    /// Whether a rule with these host-header and path-pattern values (and no other condition
    /// when `other` is false) is the one meant.
    pub fn matches(&self, arn: &str, hosts: &[String], paths: &[String], other: bool) -> bool {
        match self {
            RuleRef::Arn(a) => a == arn,
            RuleRef::Match {
                hosts: h, paths: p, ..
            } => {
                let mut hosts: Vec<String> = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
                hosts.sort();
                hosts.dedup();
                let mut paths = paths.to_vec();
                paths.sort();
                paths.dedup();
                !other && &hosts == h && &paths == p
            }
        }
    }
}

impl fmt::Display for RuleRef {
    /// The short ARN, or `listener app/staging/50dc…/f2f7… host staging.example.com path /*`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleRef::Arn(a) => f.write_str(short(a)),
            RuleRef::Match {
                listener,
                hosts,
                paths,
            } => {
                let l = listener
                    .split_once(":listener/")
                    .map_or(listener.as_str(), |(_, s)| s);
                write!(f, "listener {l}")?;
                if !hosts.is_empty() {
                    write!(f, " host {}", hosts.join(","))?;
                }
                if !paths.is_empty() {
                    write!(f, " path {}", paths.join(","))?;
                }
                Ok(())
            }
        }
    }
}

/// One listener rule and the two target groups it switches between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorRule {
    /// The listener rule: its ARN, or its listener and conditions.
    pub rule: RuleRef,
    /// The application's target group ARN.
    pub app: String,
    /// The wake target group's ARN (lightsout's waiting page).
    pub wake: String,
}

/// Who may wake a sleeping environment by knocking at its front door (`wake_on_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WakeOnRequest {
    /// A person clicks "Wake for 1 h", with an identity (an API token, or the OIDC identity
    /// header of an ALB `authenticate-oidc` action).
    #[default]
    Button,
    /// Any request from an allow-listed source address wakes it (office VPN, CI); others get
    /// the button.
    Auto,
    /// The page says it is asleep; waking is only through the API, Slack or the CLI.
    Off,
}

/// An IPv4 or IPv6 network, `10.0.0.0/8`. (Addresses from `core::net`: the address types
/// alone, no sockets.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// Its address.
    pub addr: core::net::IpAddr,
    /// Prefix length.
    pub len: u8,
}

impl Cidr {
    /// Parses `ADDR/LEN` (or a bare address: one host).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, l) = s.split_once('/').unwrap_or((s, ""));
        let addr: core::net::IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = if l.is_empty() { max } else { l.parse().ok()? };
        (len <= max).then_some(Cidr { addr, len })
    }

    /// Whether `ip` is in it.
    pub fn contains(&self, ip: core::net::IpAddr) -> bool {
        use core::net::IpAddr::{V4, V6};
        match (self.addr, ip) {
            (V4(n), V4(i)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(n) & mask == u32::from(i) & mask
            }
            (V6(n), V6(i)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

/// The `[alb]` table.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// The rules lightsout switches, in the order written.
    pub rules: Vec<DoorRule>,
    /// Host names whose requests reach lightsout through the wake target group: a request with
    /// one of them in its `Host` header is a knock at this environment's front door.
    pub hosts: Vec<String>,
    /// Who may wake it by knocking.
    pub wake_on_request: WakeOnRequest,
    /// Source networks whose requests wake it with `wake_on_request = "auto"`.
    pub allow_cidrs: Vec<Cidr>,
    /// The ARN of the load balancer whose `authenticate-oidc` action signs the
    /// `x-amzn-oidc-data` header the button trusts; `None`: that header is not an identity.
    pub oidc_signer: Option<String>,
}

impl Selection {
    /// Whether it lists no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Reads `[alb]`.
    pub fn parse(rd: &mut Reader<'_, '_>, t: &DeTable<'_>) -> Selection {
        rd.check_keys(t, KEYS, "[alb]");
        let mut sel = Selection::default();
        if let Some(v) = lookup(t, "hosts") {
            for (h, span) in rd.strings(v, "alb.hosts") {
                let host = h.trim().to_ascii_lowercase();
                if host.is_empty()
                    || !host
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
                {
                    rd.err(
                        span,
                        format!("\"{h}\" is not a host name"),
                        Some("write the name visitors use, like \"staging.example.com\" (no scheme, port or path)".to_string()),
                    );
                } else if !sel.hosts.contains(&host) {
                    // Named like a resource, so two environments cannot claim one host.
                    rd.named.push((format!("host:{host}"), span));
                    sel.hosts.push(host);
                }
            }
        }
        if let Some(v) = lookup(t, "wake_on_request") {
            match rd.string(v, "wake_on_request") {
                Some("button") => sel.wake_on_request = WakeOnRequest::Button,
                Some("auto") => sel.wake_on_request = WakeOnRequest::Auto,
                Some("off") => sel.wake_on_request = WakeOnRequest::Off,
                Some(other) => rd.err(
                    v.span(),
                    format!("wake_on_request = \"{other}\" is not a choice"),
                    Some("write \"button\" (a person with a token or an OIDC identity clicks), \"auto\" (allow_cidrs wake it) or \"off\"".to_string()),
                ),
                None => {}
            }
        }
        if let Some(v) = lookup(t, "allow_cidrs") {
            for (c, span) in rd.strings(v, "alb.allow_cidrs") {
                match Cidr::parse(c) {
                    Some(n) => sel.allow_cidrs.push(n),
                    None => rd.err(
                        span,
                        format!("\"{c}\" is not a network"),
                        Some(
                            "write ADDRESS/LENGTH, like \"10.8.0.0/16\" or \"2001:db8::/32\""
                                .to_string(),
                        ),
                    ),
                }
            }
        }
        if let Some(v) = lookup(t, "oidc_signer")
            && let Some(s) = rd.string(v, "alb.oidc_signer")
        {
            if is_elb_arn(s, "loadbalancer/app/") {
                sel.oidc_signer = Some(s.to_string());
            } else {
                rd.err(
                    v.span(),
                    format!("\"{s}\" is not an application load balancer ARN"),
                    Some("write the ARN of the load balancer whose authenticate-oidc action signs in, like \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/staging/50dc6c495c0c9188\"".to_string()),
                );
            }
        }
        if sel.wake_on_request == WakeOnRequest::Auto
            && sel.allow_cidrs.is_empty()
            && let Some(v) = lookup(t, "wake_on_request")
        {
            rd.err(
                v.span(),
                "wake_on_request = \"auto\" with no allow_cidrs wakes for nobody",
                Some(
                    "add allow_cidrs = [\"10.8.0.0/16\"] (your VPN or CI), or use \"button\""
                        .to_string(),
                ),
            );
        }
        let Some(v) = lookup(t, "rules") else {
            rd.err(
                t.iter().next().map_or(0..0, |(k, _)| k.span()),
                "[alb] lists no rules",
                Some("add [[alb.rules]] with rule, app and wake (ARNs of the listener rule and of its two target groups)".to_string()),
            );
            return sel;
        };
        for item in rd.array(v, "alb.rules").unwrap_or_default() {
            let Some(rt) = rd.table(item, "alb.rules") else {
                continue;
            };
            rd.check_keys(rt, RULE_KEYS, "[[alb.rules]]");
            let arn = |rd: &mut Reader<'_, '_>,
                       key: &str,
                       marker: &str,
                       example: &str|
             -> Option<(String, std::ops::Range<usize>)> {
                let Some(v) = lookup(rt, key) else {
                    rd.err(
                        item.span(),
                        format!("[[alb.rules]] needs `{key}`"),
                        Some(format!("add {key} = \"{example}\"")),
                    );
                    return None;
                };
                let s = rd.string(v, key)?;
                if is_elb_arn(s, marker) {
                    Some((s.to_string(), v.span()))
                } else {
                    rd.err(
                        v.span(),
                        format!(
                            "\"{s}\" is not an ELB {} ARN",
                            marker.split('/').next().unwrap_or(marker)
                        ),
                        Some(format!("write the whole ARN, like \"{example}\" (aws elbv2 describe-rules / describe-target-groups show it)")),
                    );
                    None
                }
            };
            const RULE_EXAMPLE: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/staging/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
            const LISTENER_EXAMPLE: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/staging/50dc6c495c0c9188/f2f7dc8efc522ab2";
            let rule = match (lookup(rt, "rule"), lookup(rt, "listener")) {
                (Some(_), Some(l)) => {
                    rd.err(
                        l.span(),
                        "[[alb.rules]] names both `rule` and `listener`",
                        Some(
                            "keep one: the rule's ARN, or its listener with hosts and/or paths"
                                .to_string(),
                        ),
                    );
                    None
                }
                (None, Some(_)) => {
                    let listener = arn(rd, "listener", "listener/app/", LISTENER_EXAMPLE);
                    let hosts = condition_values(rd, rt, "hosts");
                    let paths = condition_values(rd, rt, "paths");
                    match listener {
                        Some((_, span)) if hosts.is_empty() && paths.is_empty() => {
                            rd.err(
                                span,
                                "[[alb.rules]] names a listener without conditions",
                                Some("add hosts = [\"staging.example.com\"] and/or paths = [\"/*\"]: the host-header and path-pattern values of the rule to switch".to_string()),
                            );
                            None
                        }
                        Some((listener, span)) => Some((
                            RuleRef::Match {
                                listener,
                                hosts,
                                paths,
                            },
                            span,
                        )),
                        None => None,
                    }
                }
                _ => {
                    for key in ["hosts", "paths"] {
                        if let Some(v) = lookup(rt, key) {
                            rd.err(
                                v.span(),
                                format!("`{key}` chooses a rule of a `listener`, and this entry names none"),
                                Some(format!("add listener = \"{LISTENER_EXAMPLE}\", or remove {key} (a `rule` ARN needs no conditions)")),
                            );
                        }
                    }
                    arn(rd, "rule", "listener-rule/app/", RULE_EXAMPLE)
                        .map(|(a, span)| (RuleRef::Arn(a), span))
                }
            };
            let app = arn(
                rd,
                "app",
                "targetgroup/",
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/staging-backend/73e2d6bc24d8a067",
            );
            let wake = arn(
                rd,
                "wake",
                "targetgroup/",
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/lightsout-wake/2453ed029918f21f",
            );
            let (Some((rule, rule_span)), Some((app, _)), Some((wake, wake_span))) =
                (rule, app, wake)
            else {
                continue;
            };
            if app == wake {
                rd.err(
                    wake_span,
                    "`wake` is the same target group as `app`",
                    Some("name the wake target group (the one lightsout answers for), not the application's".to_string()),
                );
                continue;
            }
            if sel.rules.iter().any(|r| r.rule == rule) {
                rd.err(
                    rule_span,
                    format!("rule \"{rule}\" is listed twice"),
                    Some("remove one of them".to_string()),
                );
                continue;
            }
            rd.named.push((format!("alb:{rule}"), rule_span));
            sel.rules.push(DoorRule { rule, app, wake });
        }
        sel
    }
}

/// A rule's `hosts` (lowercased) or `paths` values, sorted, each checked for what ALB accepts.
fn condition_values(rd: &mut Reader<'_, '_>, rt: &DeTable<'_>, key: &str) -> Vec<String> {
    let Some(v) = lookup(rt, key) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (raw, span) in rd.strings(v, &format!("alb.rules.{key}")) {
        let value = if key == "hosts" {
            raw.trim().to_ascii_lowercase()
        } else {
            raw.trim().to_string()
        };
        let ok = if key == "hosts" {
            !value.is_empty()
                && value
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-.*?".contains(&c))
        } else {
            value.starts_with('/') && value.len() <= 128 && !value.contains(char::is_whitespace)
        };
        if ok {
            out.push(value);
        } else if key == "hosts" {
            rd.err(
                span,
                format!("\"{raw}\" is not a host-header value"),
                Some("write a host name as the rule's condition has it, like \"staging.example.com\" or \"*.staging.example.com\" (no scheme, port or path)".to_string()),
            );
        } else {
            rd.err(
                span,
                format!("\"{raw}\" is not a path-pattern value"),
                Some("write the path as the rule's condition has it, starting with /, like \"/*\" or \"/api/*\"".to_string()),
            );
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `arn:PARTITION:elasticloadbalancing:REGION:ACCOUNT:<marker>...`.
fn is_elb_arn(s: &str, marker: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "elasticloadbalancing"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|c| c.is_ascii_digit())
        && parts[5].starts_with(marker)
        && parts[5].len() > marker.len()
        && !s.contains(char::is_whitespace)
}

/// A rule ARN without its prefix: `app/staging/50dc…/f2f7…/9683…` (what ids and lines show).
pub fn short(arn: &str) -> &str {
    arn.split_once(":listener-rule/").map_or(arn, |(_, s)| s)
}

/// A target group ARN's name: `staging-backend`.
pub fn group_name(arn: &str) -> &str {
    arn.split_once(":targetgroup/")
        .and_then(|(_, s)| s.split('/').next())
        .unwrap_or(arn)
}

/// What the app target group says of its targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetHealth {
    /// Targets registered, and how many of them are healthy.
    Read {
        /// Healthy targets.
        healthy: u32,
        /// Registered targets.
        total: u32,
    },
    /// `DescribeTargetHealth` failed: why.
    Unknown(String),
}

/// A listener rule, as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRule {
    /// Its ARN.
    pub arn: String,
    /// The application's target group (from the schedule file).
    pub app: String,
    /// The wake target group (from the schedule file).
    pub wake: String,
    /// Its forward action's target groups and weights; empty when it has no forward action.
    pub forward: Vec<(String, i32)>,
    /// The app target group's targets.
    pub health: TargetHealth,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// Where a rule sends visitors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Door {
    /// To the application (`app > 0 / wake 0`).
    App,
    /// To the wake page (`app 0 / wake > 0`).
    Wake,
    /// Half-switched: both or neither weighted.
    Half {
        /// App weight.
        app: i32,
        /// Wake weight.
        wake: i32,
    },
    /// Not a forward between exactly the two target groups: why.
    Foreign(String),
}

impl ObservedRule {
    /// Where it sends visitors now.
    pub fn door(&self) -> Door {
        if self.forward.is_empty() {
            return Door::Foreign("it has no forward action".into());
        }
        let weight = |tg: &str| self.forward.iter().find(|(a, _)| a == tg).map(|(_, w)| *w);
        let others: Vec<&str> = self
            .forward
            .iter()
            .filter(|(a, _)| *a != self.app && *a != self.wake)
            .map(|(a, _)| group_name(a))
            .collect();
        if !others.is_empty() {
            return Door::Foreign(format!("it forwards to {} as well", others.join(", ")));
        }
        let (Some(app), Some(wake)) = (weight(&self.app), weight(&self.wake)) else {
            let lacks = if weight(&self.app).is_none() {
                group_name(&self.app)
            } else {
                group_name(&self.wake)
            };
            return Door::Foreign(format!("its forward action does not include {lacks}"));
        };
        match (app > 0, wake > 0) {
            (true, false) => Door::App,
            (false, true) => Door::Wake,
            _ => Door::Half { app, wake },
        }
    }

    /// Visitors see the wake page.
    pub fn slept(&self) -> bool {
        self.door() == Door::Wake
    }

    /// `serving backend (2/2 healthy)`, `serving the wake page (wake)`, `half-switched: app 1 / wake 1`.
    pub fn describe(&self) -> String {
        let health = match &self.health {
            TargetHealth::Read { healthy, total } => format!("{healthy}/{total} healthy"),
            TargetHealth::Unknown(_) => "health unknown".into(),
        };
        match self.door() {
            Door::App => format!("serving {} ({health})", group_name(&self.app)),
            Door::Wake => format!("serving the wake page ({})", group_name(&self.wake)),
            Door::Half { app, wake } => format!("half-switched: app {app} / wake {wake}"),
            Door::Foreign(why) => format!("not switchable: {why}"),
        }
    }

    /// `wake page`, `serving the app`: its state in a word or two.
    pub fn status(&self) -> String {
        match self.door() {
            Door::App => "serving the app".into(),
            Door::Wake => "wake page".into(),
            Door::Half { .. } => "half-switched".into(),
            Door::Foreign(_) => "not switchable".into(),
        }
    }
}

/// One ELB write call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Step {
    /// ELB `ModifyRule`: the forward action's weights (every other action of the rule is kept).
    SetWeights {
        /// The rule ARN.
        rule: String,
        /// The app target group ARN.
        app: String,
        /// The wake target group ARN.
        wake: String,
        /// The app's new weight.
        app_weight: i32,
        /// The wake target group's new weight.
        wake_weight: i32,
    },
}

impl Step {
    /// The AWS API operation it calls.
    pub fn operation(&self) -> &'static str {
        match self {
            Step::SetWeights { .. } => "ModifyRule",
        }
    }

    /// A word or two for plan tables.
    pub fn label(&self) -> String {
        match self {
            Step::SetWeights { wake_weight, .. } if *wake_weight > 0 => "to wake page".into(),
            Step::SetWeights { .. } => "to app".into(),
        }
    }

    /// Neither: the door does not run or stop anything (the services behind it do).
    pub fn effect(&self) -> Option<super::Effect> {
        None
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::SetWeights {
                app_weight,
                wake_weight,
                ..
            } => write!(f, "forward app {app_weight} / wake {wake_weight}"),
        }
    }
}

fn act(r: &ObservedRule, to_wake: bool, reason: String) -> Rule {
    let (app_weight, wake_weight) = if to_wake { (0, 1) } else { (1, 0) };
    Rule::Act(
        vec![super::Step::Alb(Step::SetWeights {
            rule: r.arn.clone(),
            app: r.app.clone(),
            wake: r.wake.clone(),
            app_weight,
            wake_weight,
        })],
        reason,
    )
}

/// What should be done with a rule: going to sleep, send visitors to the wake page (before the
/// services scale down: the planner orders it); waking, back to the app once everything behind
/// it is up and its target group has healthy targets.
pub fn rule(r: &ObservedRule, ctx: &Ctx<'_>, deps: &Deps) -> Rule {
    let state = ctx.state_reason;
    let door = r.door();
    if let Door::Foreign(why) = &door {
        let at = ctx
            .named
            .as_deref()
            .map(|n| format!("{n}: "))
            .unwrap_or_default();
        return Rule::Blocked(format!(
            "{at}rule {} is not switchable: {why} — lightsout only switches a forward action between {} and {}; fix the rule or the [alb] table",
            short(&r.arn),
            group_name(&r.app),
            group_name(&r.wake)
        ));
    }
    let half = match door {
        Door::Half { app, wake } => format!(" (half-switched: app {app} / wake {wake})"),
        _ => String::new(),
    };
    if !ctx.awake {
        return if door == Door::Wake {
            Rule::InSync(format!("{state}; visitors see the wake page"))
        } else {
            act(
                r,
                true,
                format!("{state}; visitors to the wake page{half}, before the services scale down"),
            )
        };
    }
    if door == Door::App {
        return Rule::InSync(format!("{state}; visitors reach {}", group_name(&r.app)));
    }
    match deps {
        Deps::Ready => {}
        Deps::Missing(id) => {
            return Rule::Wait(format!("{state}; waiting for {id}, which was not found"));
        }
        Deps::Unknown => {
            return Rule::Wait(format!(
                "{state}; waiting: the services or databases could not be observed"
            ));
        }
        Deps::Pending(p) => {
            let which = if p.len() > LIST_AT_MOST {
                format!("{} resources (see their lines)", p.len())
            } else {
                p.join(", ")
            };
            return Rule::Wait(format!(
                "{state}; wake page stays up{half}: waiting for {which}"
            ));
        }
    }
    match &r.health {
        TargetHealth::Unknown(why) => Rule::Wait(format!(
            "{state}; wake page stays up{half}: the health of {} could not be read ({why})",
            group_name(&r.app)
        )),
        TargetHealth::Read { healthy: 0, total } => Rule::Wait(format!(
            "{state}; wake page stays up{half}: {} has no healthy targets yet (0 of {total})",
            group_name(&r.app)
        )),
        TargetHealth::Read { healthy, total } => act(
            r,
            false,
            format!(
                "{state}; {healthy}/{total} targets of {} healthy: visitors back to the app{half}",
                group_name(&r.app)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;
    use std::path::Path;

    const RULE: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/s/50dc/f2f7/9683";
    const TG: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup";

    fn errors(alb: &str) -> String {
        let src = format!(
            "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[rds]\ninstances = [\"db\"]\n{alb}"
        );
        match parse_str(Path::new("staging.toml"), &src) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn check_names_the_line_and_the_fix() {
        let e = errors(&format!(
            "[[alb.rules]]\nrule = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/s/1\"\napp = \"{TG}/a/1\"\nwake = \"{TG}/a/1\"\n"
        ));
        assert!(
            e.contains("staging.toml:7:8: \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/s/1\" is not an ELB listener-rule ARN"),
            "{e}"
        );
        let e = errors(&format!(
            "[[alb.rules]]\nrule = \"{RULE}\"\napp = \"{TG}/a/1\"\nwake = \"{TG}/a/1\"\n"
        ));
        assert!(
            e.contains("staging.toml:9:8: `wake` is the same target group as `app`"),
            "{e}"
        );
        let e = errors(&format!(
            "[alb]\nwake_on_request = \"knock\"\nallow_cidrs = [\"10.0.0.0/33\"]\n[[alb.rules]]\nrule = \"{RULE}\"\napp = \"{TG}/a/1\"\nwake = \"{TG}/w/2\"\n"
        ));
        assert!(
            e.contains("staging.toml:7:19: wake_on_request = \"knock\" is not a choice"),
            "{e}"
        );
        assert!(
            e.contains("staging.toml:8:16: \"10.0.0.0/33\" is not a network"),
            "{e}"
        );
        let e = errors(&format!(
            "[alb]\nwake_on_request = \"auto\"\n[[alb.rules]]\nrule = \"{RULE}\"\napp = \"{TG}/a/1\"\nwake = \"{TG}/w/2\"\n"
        ));
        assert!(e.contains("with no allow_cidrs wakes for nobody"), "{e}");
        assert_eq!(
            errors(&format!(
                "[alb]\nhosts = [\"Staging.Example.com\"]\n[[alb.rules]]\nrule = \"{RULE}\"\napp = \"{TG}/a/1\"\nwake = \"{TG}/w/2\"\n"
            )),
            ""
        );
    }

    /// `oidc_signer` must be a load balancer's ARN; the error says what to write.
    #[test]
    fn oidc_signer_is_a_load_balancer_arn() {
        let lb =
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/staging/50dc";
        let rules =
            format!("[[alb.rules]]\nrule = \"{RULE}\"\napp = \"{TG}/a/1\"\nwake = \"{TG}/w/2\"\n");
        assert_eq!(
            errors(&format!("[alb]\noidc_signer = \"{lb}\"\n{rules}")),
            ""
        );
        let e = errors(&format!("[alb]\noidc_signer = \"{TG}/a/1\"\n{rules}"));
        assert!(
            e.contains("staging.toml:7:15:")
                && e.contains("is not an application load balancer ARN"),
            "{e}"
        );
    }

    #[test]
    fn a_rule_by_listener_needs_conditions_and_only_one_way() {
        const L: &str =
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/s/50dc/f2f7";
        let tgs = format!("app = \"{TG}/a/1\"\nwake = \"{TG}/w/2\"\n");
        let e = errors(&format!("[[alb.rules]]\nlistener = \"{L}\"\n{tgs}"));
        assert!(
            e.contains("staging.toml:7:12: [[alb.rules]] names a listener without conditions")
                && e.contains("add hosts = [\"staging.example.com\"] and/or paths"),
            "{e}"
        );
        let e = errors(&format!(
            "[[alb.rules]]\nrule = \"{RULE}\"\nlistener = \"{L}\"\n{tgs}"
        ));
        assert!(
            e.contains("staging.toml:8:12: [[alb.rules]] names both `rule` and `listener`"),
            "{e}"
        );
        let e = errors(&format!(
            "[[alb.rules]]\nrule = \"{RULE}\"\npaths = [\"/*\"]\n{tgs}"
        ));
        assert!(
            e.contains("staging.toml:8:9: `paths` chooses a rule of a `listener`"),
            "{e}"
        );
        let e = errors(&format!(
            "[[alb.rules]]\nlistener = \"{L}\"\nhosts = [\"https://x.example.com\"]\npaths = [\"api\"]\n{tgs}"
        ));
        assert!(
            e.contains("\"https://x.example.com\" is not a host-header value")
                && e.contains("\"api\" is not a path-pattern value"),
            "{e}"
        );
        let cfg = parse_str(
            Path::new("staging.toml"),
            &format!(
                "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[[alb.rules]]\nlistener = \"{L}\"\nhosts = [\"Staging.Example.com\", \"*.preview.example.com\"]\npaths = [\"/*\"]\n{tgs}"
            ),
        )
        .unwrap();
        let r = &cfg.kinds.alb.rules[0].rule;
        assert_eq!(
            r.to_string(),
            "listener app/s/50dc/f2f7 host *.preview.example.com,staging.example.com path /*"
        );
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(r.matches(
            "x",
            &v(&["staging.example.com", "*.PREVIEW.example.com"]),
            &v(&["/*"]),
            false
        ));
        assert!(!r.matches("x", &v(&["staging.example.com"]), &v(&["/*"]), false));
        assert!(!r.matches(
            "x",
            &v(&["staging.example.com", "*.preview.example.com"]),
            &v(&["/*"]),
            true
        ));
    }

    #[test]
    fn two_environments_cannot_claim_one_host() {
        let dir = tempfile::tempdir().unwrap();
        for (name, n) in [("staging", 1), ("preview", 2)] {
            std::fs::write(
                dir.path().join(format!("{name}.toml")),
                format!(
                    "name = \"{name}\"\nregion = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[alb]\nhosts = [\"app.example.com\"]\n[[alb.rules]]\nrule = \"{RULE}{n}\"\napp = \"{TG}/a/1\"\nwake = \"{TG}/w/2\"\n"
                ),
            )
            .unwrap();
        }
        let e = crate::config::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("staging.toml:6:10: host:app.example.com is also selected by environment \"preview\""),
            "{e}"
        );
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let n = Cidr::parse("10.8.0.0/16").unwrap();
        assert!(n.contains("10.8.255.1".parse().unwrap()));
        assert!(!n.contains("10.9.0.1".parse().unwrap()));
        assert!(!n.contains("::ffff:10.8.0.1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("192.0.2.1".parse().unwrap())
        );
        let one = Cidr::parse("192.0.2.7").unwrap();
        assert!(
            one.contains("192.0.2.7".parse().unwrap())
                && !one.contains("192.0.2.8".parse().unwrap())
        );
        assert!(
            Cidr::parse("2001:db8::/32")
                .unwrap()
                .contains("2001:db8:1::1".parse().unwrap())
        );
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("staging"), None);
    }
}
