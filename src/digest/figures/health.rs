//! Health: services, Auto Scaling groups and instances, databases, target groups, alarms and HTTP checks, each with a verdict.

use super::*;

pub(super) fn health(h: &Health, tz: Tz) -> HealthFigures {
    let line = |subject: &str, status: Status, text: String| HealthLine {
        subject: subject.to_string(),
        status,
        text,
    };
    let services = h.services.as_ref().map_err(Clone::clone).map(|list| {
        list.iter()
            .map(|s| {
                let asleep = s.asleep || (h.asleep && s.desired == 0);
                let mut problems = Vec::new();
                if !asleep && s.running < s.desired {
                    problems.push(format!(
                        "degraded: {} of {} tasks running",
                        s.running, s.desired
                    ));
                }
                if let Some(d) = &s.stuck_deployment {
                    problems.push(format!("deployment stuck: {d}"));
                }
                if !s.failed_tasks.is_empty() {
                    let t = &s.failed_tasks[0];
                    let more = s.failed_tasks.len() - 1;
                    problems.push(format!(
                        "{} failed task{}: {} ({}){}",
                        s.failed_tasks.len(),
                        if s.failed_tasks.len() == 1 { "" } else { "s" },
                        t.reason,
                        t.task,
                        if more > 0 {
                            format!(" and {more} more")
                        } else {
                            String::new()
                        }
                    ));
                }
                if !problems.is_empty() {
                    let asleep = if asleep { "asleep; " } else { "" };
                    line(
                        &s.name,
                        Status::Problem,
                        format!("{asleep}{}", problems.join("; ")),
                    )
                } else if asleep {
                    line(&s.name, Status::Asleep, "asleep".to_string())
                } else {
                    line(
                        &s.name,
                        Status::Ok,
                        format!("{}/{} tasks running", s.running, s.desired),
                    )
                }
            })
            .collect()
    });
    let instances = h.instances.as_ref().map(|r| {
        r.as_ref()
            .map_err(Clone::clone)
            .map(|list| list.iter().map(|m| machine(m, h.asleep)).collect())
    });
    let databases = h.databases.as_ref().map_err(Clone::clone).map(|list| {
        list.iter()
            .map(|d| {
                if d.status == "available" {
                    line(&d.resource, Status::Ok, "available".to_string())
                } else if d.asleep {
                    // Stopped by lightsout: asleep, whatever step of stopping it is at.
                    line(
                        &d.resource,
                        Status::Asleep,
                        format!("asleep ({})", d.status),
                    )
                } else {
                    line(&d.resource, Status::Problem, d.status.clone())
                }
            })
            .collect()
    });
    let target_groups = h.target_groups.as_ref().map_err(Clone::clone).map(|list| {
        list.iter()
            .map(|t| {
                if !t.unhealthy.is_empty() {
                    line(
                        &t.name,
                        Status::Problem,
                        format!(
                            "{} healthy, {} not: {}",
                            t.healthy,
                            t.unhealthy.len(),
                            t.unhealthy.join("; ")
                        ),
                    )
                } else if t.healthy == 0 && h.asleep {
                    line(&t.name, Status::Asleep, "no targets (asleep)".to_string())
                } else if t.healthy == 0 {
                    line(&t.name, Status::Problem, "no healthy targets".to_string())
                } else {
                    line(&t.name, Status::Ok, format!("{} healthy", t.healthy))
                }
            })
            .collect()
    });
    let alarms = h.alarms.as_ref().map_err(Clone::clone).map(|list| {
        list.iter()
            .map(|a| {
                let since = a
                    .since
                    .map(|s| {
                        format!(
                            " (since {})",
                            s.with_timezone(&tz).format("%a %-d %b %H:%M %Z")
                        )
                    })
                    .unwrap_or_default();
                line(
                    &a.name,
                    Status::Problem,
                    format!("in ALARM{since}: {}", a.reason),
                )
            })
            .collect()
    });
    let probes = Ok(h
        .probes
        .iter()
        .map(|p| match &p.result {
            Ok((code, ms)) if (200..400).contains(code) => {
                line(&p.url, Status::Ok, format!("{code} in {ms} ms"))
            }
            Ok((code, ms)) if h.asleep => line(
                &p.url,
                Status::Asleep,
                format!("{code} in {ms} ms (asleep)"),
            ),
            Ok((code, ms)) => line(&p.url, Status::Problem, format!("{code} in {ms} ms")),
            Err(why) if h.asleep => {
                line(&p.url, Status::Asleep, format!("no answer (asleep): {why}"))
            }
            Err(why) => line(&p.url, Status::Problem, format!("no answer: {why}")),
        })
        .collect());
    let mut sections = vec![HealthSection {
        title: "Services".into(),
        lines: services,
    }];
    if let Some(lines) = instances {
        sections.push(HealthSection {
            title: "Instances".into(),
            lines,
        });
    }
    sections.extend([
        HealthSection {
            title: "Databases".into(),
            lines: databases,
        },
        HealthSection {
            title: "Target groups".into(),
            lines: target_groups,
        },
        HealthSection {
            title: "Alarms".into(),
            lines: alarms,
        },
    ]);
    if !h.probes.is_empty() {
        sections.push(HealthSection {
            title: "Health checks".into(),
            lines: probes,
        });
    }
    let problems = sections
        .iter()
        .filter_map(|s| s.lines.as_ref().ok())
        .flatten()
        .filter(|l| l.status == Status::Problem)
        .count();
    let unknown = sections.iter().filter(|s| s.lines.is_err()).count();
    let verdict = if problems > 0 {
        Verdict::Problems
    } else if h.asleep {
        Verdict::Asleep
    } else {
        Verdict::Healthy
    };
    HealthFigures {
        verdict,
        problems,
        unknown,
        sections,
    }
}

/// An Auto Scaling group or an instance: in service (or running) against what the schedule
/// wants. Asleep by schedule is "asleep", not a problem; up while the schedule has it asleep,
/// or held up by instances protected from scale-in, is one (it keeps costing).
fn machine(m: &MachineHealth, env_asleep: bool) -> HealthLine {
    let line = |status: Status, text: String| HealthLine {
        subject: m.resource.clone(),
        status,
        text,
    };
    let asleep = m.asleep || (env_asleep && !m.ready);
    if let Some(why) = &m.held_up {
        let asleep = if asleep { "asleep, but " } else { "" };
        return line(Status::Problem, format!("{asleep}{why}"));
    }
    match m.in_service {
        _ if asleep && m.in_service.is_some() => line(Status::Asleep, "asleep".into()),
        _ if asleep => line(Status::Asleep, format!("asleep ({})", m.status)),
        Some((up, want)) if env_asleep && want > 0 => line(
            Status::Problem,
            format!("{up}/{want} instances in service while the schedule has it asleep"),
        ),
        None if env_asleep => line(
            Status::Problem,
            format!("{} while the schedule has it asleep", m.status),
        ),
        Some((up, want)) if !m.ready => line(
            Status::Problem,
            format!("degraded: {up} of {want} instances in service"),
        ),
        None if !m.ready => line(
            Status::Problem,
            format!("{} while the schedule has it awake", m.status),
        ),
        Some((up, want)) => line(Status::Ok, format!("{up}/{want} instances in service")),
        None => line(Status::Ok, m.status.clone()),
    }
}
