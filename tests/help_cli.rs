//! `lightsout COMMAND --help`: each command lists only the flags it uses, with examples; the
//! Lambda form lists the environment variables it reads.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lightsout"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every command's help ends with examples; only the commands that call AWS take the AWS call
/// limits, and only those that read or write the store take `--store`.
#[test]
fn each_commands_help_lists_what_it_uses_with_examples() {
    for (cmd, aws, store) in [
        ("check", false, false),
        ("plan", true, true),
        ("apply", true, true),
        ("status", true, true),
        ("wake", true, true),
        ("sleep", true, true),
        ("serve", true, true),
        ("lambda", true, false),
        ("digest", true, true),
    ] {
        let text = help(&[cmd]);
        assert!(
            text.contains("Examples:") || text.contains("Environment variables:"),
            "{cmd}: {text}"
        );
        assert_eq!(text.contains("--max-attempts"), aws, "{cmd}: {text}");
        assert_eq!(text.contains("--store <STORE>"), store, "{cmd}: {text}");
        assert!(text.contains("Global options:"), "{cmd}: {text}");
    }
    assert!(help(&[]).contains("AWS_ENDPOINT_URL"));
}

/// `lambda --help` names every environment variable the Lambda form reads.
#[test]
fn lambda_help_lists_its_environment_variables() {
    let text = help(&["lambda"]);
    for var in [
        "LIGHTSOUT_STORE",
        "LIGHTSOUT_SCHEDULES",
        "LIGHTSOUT_TOKENS_SSM",
        "LIGHTSOUT_SLACK_SIGNING_SECRET_SSM",
        "LIGHTSOUT_SLACK_WEBHOOK_URL_SSM",
        "LIGHTSOUT_LOG",
        "LIGHTSOUT_LOG_FORMAT",
        "AWS_LAMBDA_RUNTIME_API",
    ] {
        assert!(text.contains(var), "{var} in {text}");
    }
}
