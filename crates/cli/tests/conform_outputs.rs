//! `lambda-stream conform --json-output`: one run writes the report in the chosen format and the
//! JSON report beside it (CI's HTML report and the matrix read the same run).

use std::path::PathBuf;

#[tokio::test]
async fn one_run_writes_the_chosen_report_and_the_json_one() {
    let dir = std::env::temp_dir().join(format!("lambda-stream-conform-outputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (html, json): (PathBuf, PathBuf) = (dir.join("report.html"), dir.join("report.json"));
    let fixture = lambda_stream_fixtures::bootstrap_path();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_lambda-stream"))
        .args(["conform", "--label", "outputs", "--scenario", "url-ok-streams", "--format", "html", "--output"])
        .arg(&html)
        .arg("--json-output")
        .arg(&json)
        .arg("--bootstrap")
        .arg(format!("conditional-streaming={} --handler conditional-streaming", fixture.display()))
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    let page = std::fs::read_to_string(&html).unwrap_or_else(|e| panic!("{}: {e}\n{stderr}", html.display()));
    assert!(
        page.starts_with("<!DOCTYPE html>") || page.starts_with("<!doctype html>"),
        "{}",
        &page[..80.min(page.len())]
    );
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["label"], "outputs");
    let scenarios: Vec<&str> =
        report["scenarios"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(scenarios, ["url-ok-streams"], "the JSON is the same run, one scenario");
    // The rules the scenario judged: named on the page too, and the exit status follows them.
    let judged: Vec<(&str, &str)> = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["verdict"].as_str().unwrap()))
        .filter(|(_, verdict)| *verdict != "not-run")
        .collect();
    assert!(!judged.is_empty(), "url-ok-streams judges rules");
    for (id, _) in &judged {
        assert!(page.contains(id), "the page names {id}");
    }
    let failed = judged.iter().any(|(_, verdict)| *verdict == "fail");
    assert_eq!(run.status.success(), !failed, "exit status follows the verdicts {judged:?}: {stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
