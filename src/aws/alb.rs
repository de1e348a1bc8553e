//! ALB listener rules (the front door): observed by listener (`DescribeRules`, one call per
//! listener of the listed rules), their tags (`DescribeTags`, 20 a call) and the app target
//! groups' health (`DescribeTargetHealth`, one call per app target group); switched with
//! `ModifyRule`, which replaces a rule's whole action list — so a switch reads the rule afresh
//! and rewrites only the weights of its forward action, keeping every other action (an
//! `authenticate-oidc` before it) and the forward's stickiness as they are.

use super::pace::Paced;
use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, Rule, TargetGroupTuple, TargetHealthStateEnum,
};

use super::{Clients, Pages, cloud_error};
use crate::kinds::alb::{DoorRule, ObservedRule, RuleRef, Step, TargetHealth, short};
use crate::kinds::{Kind, Observation, ResourceId};
use crate::model::Environment;
use crate::ports::CloudError;

/// `DescribeTags` takes at most 20 ARNs.
const TAGS_PER_CALL: usize = 20;
/// `DescribeRules` pages at most 400 rules.
const PAGE: i32 = 400;

/// The listener a rule belongs to: `…:listener-rule/app/N/LB/L/R` → `…:listener/app/N/LB/L`.
fn listener_of(rule: &str) -> Option<String> {
    let (head, _) = rule.rsplit_once('/')?;
    Some(head.replacen(":listener-rule/", ":listener/", 1))
}

/// A forward action's target groups and weights.
type Forward = Vec<(String, i32)>;

/// Observes the rules `env` lists into `obs`: each named by its ARN, or found on its listener by
/// its conditions.
pub(crate) async fn observe(c: &Clients, env: &Environment, obs: &mut Observation) {
    let sel = &env.kinds.alb;
    if sel.is_empty() {
        return;
    }
    let mut listeners: BTreeMap<String, Option<Vec<Rule>>> = BTreeMap::new();
    for r in &sel.rules {
        let listener = match &r.rule {
            RuleRef::Arn(arn) => listener_of(arn),
            RuleRef::Match { listener, .. } => Some(listener.clone()),
        };
        if let Some(l) = listener {
            listeners.insert(l, None);
        }
    }
    for (listener, rules) in listeners.iter_mut() {
        match describe_listener(c, listener).await {
            Ok(found) => *rules = found,
            Err(e) => {
                obs.errors
                    .push((Kind::Alb, format!("alb listener {}: {e}", short(listener))));
                return;
            }
        }
    }
    // Each listed rule, resolved to the rule ARN and its forward action.
    let mut resolved: Vec<(&DoorRule, String, Forward)> = Vec::new();
    for r in &sel.rules {
        let listener = match &r.rule {
            RuleRef::Arn(arn) => listener_of(arn),
            RuleRef::Match { listener, .. } => Some(listener.clone()),
        };
        // A listener that is gone: its rules are missing.
        let all = listener
            .and_then(|l| listeners.get(&l).cloned().flatten())
            .unwrap_or_default();
        let candidates: Vec<&Rule> = all
            .iter()
            .filter(|rule| {
                let Some(arn) = rule.rule_arn() else {
                    return false;
                };
                if matches!(r.rule, RuleRef::Match { .. }) && rule.is_default() == Some(true) {
                    return false;
                }
                let (hosts, paths, other) = conditions_of(rule);
                r.rule.matches(arn, &hosts, &paths, other)
            })
            .collect();
        match candidates.as_slice() {
            [] => obs.missing.push(ResourceId::AlbRule(rule_id(&r.rule))),
            [one] => resolved.push((
                r,
                one.rule_arn().unwrap_or_default().to_string(),
                forward_of(one),
            )),
            many => obs.errors.push((
                Kind::Alb,
                format!(
                    "alb {}: {} rules match ({}) — lightsout switches one rule per entry; make the conditions unique or name the rule by its ARN",
                    r.rule,
                    many.len(),
                    many.iter()
                        .filter_map(|m| m.rule_arn().map(short))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
    let arns: Vec<&str> = resolved.iter().map(|(_, arn, _)| arn.as_str()).collect();
    let mut tags = match describe_tags(c, &arns).await {
        Ok(t) => t,
        Err(e) => {
            obs.errors.push((Kind::Alb, format!("alb rule tags: {e}")));
            return;
        }
    };
    let apps: BTreeSet<&str> = resolved.iter().map(|(r, _, _)| r.app.as_str()).collect();
    let mut health = BTreeMap::new();
    for app in apps {
        health.insert(app, target_health(c, app).await);
    }
    for (r, arn, forward) in resolved {
        obs.rules.push(ObservedRule {
            tags: tags.remove(&arn).unwrap_or_default(),
            arn,
            app: r.app.clone(),
            wake: r.wake.clone(),
            forward,
            health: health
                .get(r.app.as_str())
                .cloned()
                .unwrap_or_else(|| TargetHealth::Unknown("not read".into())),
        });
    }
}

/// What a missing rule is called: its ARN, or its listener and conditions.
fn rule_id(r: &RuleRef) -> String {
    match r {
        RuleRef::Arn(arn) => arn.clone(),
        m => m.to_string(),
    }
}

/// A rule's host-header values, path-pattern values, and whether it has any other condition.
fn conditions_of(rule: &Rule) -> (Vec<String>, Vec<String>, bool) {
    let (mut hosts, mut paths, mut other) = (Vec::new(), Vec::new(), false);
    for c in rule.conditions() {
        match c.field() {
            Some("host-header") => hosts.extend(
                c.host_header_config()
                    .map(|h| h.values().to_vec())
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| c.values().to_vec()),
            ),
            Some("path-pattern") => paths.extend(
                c.path_pattern_config()
                    .map(|p| p.values().to_vec())
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| c.values().to_vec()),
            ),
            _ => other = true,
        }
    }
    (hosts, paths, other)
}

/// Every rule of a listener; `None` when the listener does not exist.
async fn describe_listener(c: &Clients, listener: &str) -> Result<Option<Vec<Rule>>, CloudError> {
    let mut out = Vec::new();
    let mut pages = Pages::new();
    let mut marker = None;
    loop {
        let page = match c
            .elb
            .describe_rules()
            .listener_arn(listener)
            .page_size(PAGE)
            .set_marker(marker)
            .send()
            .paced(c, "Elastic Load Balancing v2", "DescribeRules")
            .await
        {
            Ok(p) => p,
            Err(e) => {
                let err = cloud_error("DescribeRules", e);
                if err.code.as_deref() == Some("ListenerNotFound") {
                    return Ok(None);
                }
                return Err(err);
            }
        };
        out.extend(page.rules().iter().cloned());
        match pages.next("DescribeRules", page.next_marker())? {
            Some(m) => marker = Some(m),
            None => return Ok(Some(out)),
        }
    }
}

/// The target groups and weights of a rule's forward action (a plain forward to one target
/// group weighs 1).
fn forward_of(rule: &Rule) -> Vec<(String, i32)> {
    let Some(a) = rule
        .actions()
        .iter()
        .find(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
    else {
        return Vec::new();
    };
    let tuples: Vec<(String, i32)> = a
        .forward_config()
        .map(|f| {
            f.target_groups()
                .iter()
                .filter_map(|t| Some((t.target_group_arn()?.to_string(), t.weight().unwrap_or(1))))
                .collect()
        })
        .unwrap_or_default();
    if tuples.is_empty() {
        a.target_group_arn()
            .map(|t| vec![(t.to_string(), 1)])
            .unwrap_or_default()
    } else {
        tuples
    }
}

async fn describe_tags(
    c: &Clients,
    arns: &[&str],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, CloudError> {
    let mut out = BTreeMap::new();
    for chunk in arns.chunks(TAGS_PER_CALL) {
        let page = c
            .elb
            .describe_tags()
            .set_resource_arns(Some(chunk.iter().map(|a| a.to_string()).collect()))
            .send()
            .paced(c, "Elastic Load Balancing v2", "DescribeTags")
            .await
            .map_err(|e| cloud_error("DescribeTags", e))?;
        for d in page.tag_descriptions() {
            let Some(arn) = d.resource_arn() else {
                continue;
            };
            out.insert(
                arn.to_string(),
                d.tags()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.key()?.to_string(),
                            t.value().unwrap_or_default().to_string(),
                        ))
                    })
                    .collect(),
            );
        }
    }
    Ok(out)
}

/// How many of a target group's targets are healthy.
async fn target_health(c: &Clients, tg: &str) -> TargetHealth {
    match c
        .elb
        .describe_target_health()
        .target_group_arn(tg)
        .send()
        .paced(c, "Elastic Load Balancing v2", "DescribeTargetHealth")
        .await
    {
        Ok(out) => {
            let all = out.target_health_descriptions();
            let healthy = all
                .iter()
                .filter(|d| {
                    d.target_health().and_then(|h| h.state())
                        == Some(&TargetHealthStateEnum::Healthy)
                })
                .count();
            TargetHealth::Read {
                healthy: u32::try_from(healthy).unwrap_or(u32::MAX),
                total: u32::try_from(all.len()).unwrap_or(u32::MAX),
            }
        }
        Err(e) => TargetHealth::Unknown(cloud_error("DescribeTargetHealth", e).to_string()),
    }
}

/// Makes one ELB write call.
pub(crate) async fn execute(c: &Clients, step: &Step) -> Result<(), CloudError> {
    match step {
        Step::SetWeights {
            rule,
            app,
            wake,
            app_weight,
            wake_weight,
        } => {
            // ModifyRule replaces every action: read the rule as it is now and change only the
            // forward's weights.
            let now = c
                .elb
                .describe_rules()
                .rule_arns(rule)
                .send()
                .paced(c, "Elastic Load Balancing v2", "DescribeRules")
                .await
                .map_err(|e| cloud_error("DescribeRules", e))?;
            let Some(current) = now.rules().first() else {
                return Err(refusal(format!("rule {} is gone", short(rule))));
            };
            let forward = forward_of(current);
            if let Some((other, _)) = forward.iter().find(|(t, _)| t != app && t != wake) {
                return Err(refusal(format!(
                    "rule {} now forwards to {other} as well; not switched",
                    short(rule)
                )));
            }
            let actions: Vec<Action> = current
                .actions()
                .iter()
                .map(|a| {
                    if a.r#type() != Some(&ActionTypeEnum::Forward) {
                        return a.clone();
                    }
                    let sticky = a
                        .forward_config()
                        .and_then(|f| f.target_group_stickiness_config())
                        .cloned();
                    Action::builder()
                        .r#type(ActionTypeEnum::Forward)
                        .set_order(a.order())
                        .forward_config(
                            ForwardActionConfig::builder()
                                .target_groups(
                                    TargetGroupTuple::builder()
                                        .target_group_arn(app)
                                        .weight(*app_weight)
                                        .build(),
                                )
                                .target_groups(
                                    TargetGroupTuple::builder()
                                        .target_group_arn(wake)
                                        .weight(*wake_weight)
                                        .build(),
                                )
                                .set_target_group_stickiness_config(sticky)
                                .build(),
                        )
                        .build()
                })
                .collect();
            c.elb
                .modify_rule()
                .rule_arn(rule)
                .set_actions(Some(actions))
                .send()
                .paced(c, "Elastic Load Balancing v2", "ModifyRule")
                .await
                .map_err(|e| cloud_error("ModifyRule", e))?;
            Ok(())
        }
    }
}

fn refusal(message: String) -> CloudError {
    CloudError {
        operation: "ModifyRule",
        code: None,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The listener of a rule is its ARN with the rule's id dropped.
    #[test]
    fn a_rules_listener_is_its_arn_without_the_rule_id() {
        assert_eq!(
            listener_of(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/s/50dc/f2f7/9683"
            )
            .as_deref(),
            Some("arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/s/50dc/f2f7")
        );
    }
}
