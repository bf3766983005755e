//! `fauxto library add` as a resumable job: killed with SIGKILL at any moment it loses no
//! face and catalogues none twice, leaves no orphan image, and the next run (or another
//! worker) finishes its work — on the embedded backend, and with two workers sharing a job
//! on PostgreSQL + S3.

mod common;

use std::collections::BTreeSet;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::services::services;
use common::{command, ok};
use serde_json::Value;

const SEEDS: &str = "0-63";
const SEED_COUNT: u64 = 64;

fn json(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).unwrap()
}

fn library_command(env: &[(&'static str, String)], args: &[&str]) -> std::process::Command {
    let mut cmd = command(args);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

/// `library add` of [`SEEDS`] in small ranges, started in the background.
fn start_add(location: &str, env: &[(&'static str, String)]) -> Child {
    library_command(
        env,
        &[
            "library",
            "add",
            "--library",
            location,
            "--seeds",
            SEEDS,
            "--range",
            "8",
            "--batch",
            "4",
            "--json",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("fauxto starts")
}

fn kill9(child: &mut Child) {
    let status = std::process::Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = child.wait();
}

/// The catalogued seeds, through the CLI.
fn catalogued_seeds(location: &str, env: &[(&'static str, String)]) -> BTreeSet<u64> {
    let page = json(
        &library_command(
            env,
            &[
                "library",
                "search",
                "--library",
                location,
                "--per-page",
                "100",
                "--json",
            ],
        )
        .output()
        .unwrap(),
    );
    page["faces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["seed"].as_u64().unwrap())
        .collect()
}

/// The job is done, every seed accounted for once, and the catalogue and the images agree.
fn assert_complete(location: &str, env: &[(&'static str, String)], report: &Value) {
    let status = &report["job_status"];
    assert_eq!(
        status["done_seeds"].as_u64(),
        Some(SEED_COUNT),
        "{report:#}"
    );
    assert_eq!(status["done_ranges"], status["ranges"], "{report:#}");
    let counts = &status["counts"];
    let accounted: u64 = counts
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(accounted, SEED_COUNT, "each seed once: {report:#}");
    let check = json(
        &library_command(env, &["library", "check", "--library", location, "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(check["orphans"].as_array().unwrap().len(), 0, "{check:#}");
    assert_eq!(check["missing"].as_array().unwrap().len(), 0, "{check:#}");
    assert_eq!(check["faces"], counts["added"], "{check:#} vs {report:#}");
    assert_eq!(check["unfinished_ranges"], 0, "{check:#}");
}

#[test]
fn add_killed_at_any_moment_finishes_on_the_next_run_with_nothing_lost_or_twice() {
    let dir = common::scratch("library-workers", "embedded");
    let (killed, reference) = (dir.join("killed"), dir.join("reference"));
    for lib in [&killed, &reference] {
        ok(&common::fauxto(&["library", "init", lib.to_str().unwrap()]));
    }
    // Killed three times, each time a moment after it catalogued a range (so mid-way
    // through the next one, at different points of it); each run continues the last.
    let location = killed.to_str().unwrap();
    let catalogued = || -> u64 {
        json(&common::fauxto(&[
            "library",
            "check",
            "--library",
            location,
            "--json",
        ]))["faces"]
            .as_u64()
            .unwrap()
    };
    for delay_ms in [0, 200, 450] {
        let before = catalogued();
        let mut child = start_add(location, &[]);
        let started = Instant::now();
        while catalogued() == before {
            assert!(child.try_wait().unwrap().is_none(), "the run ended early");
            assert!(started.elapsed() < Duration::from_secs(300), "no progress");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        assert!(
            child.try_wait().unwrap().is_none(),
            "the job ended before the kill"
        );
        kill9(&mut child);
    }
    let report = json(&start_add(location, &[]).wait_with_output().unwrap());
    assert!(report["resumed"].as_bool().unwrap(), "{report:#}");
    assert_complete(location, &[], &report);
    // Uninterrupted, the same seeds give the same faces.
    let reference = reference.to_str().unwrap();
    let straight = json(&start_add(reference, &[]).wait_with_output().unwrap());
    assert_complete(reference, &[], &straight);
    assert_eq!(
        catalogued_seeds(location, &[]),
        catalogued_seeds(reference, &[])
    );
}

#[test]
fn two_workers_on_postgres_share_a_job_and_one_killed_mid_range_loses_nothing() {
    let s = services();
    let url = s.database("workers");
    let images = format!("s3://{}/faces", s.bucket("workers"));
    let env = s.s3_env();
    ok(
        &library_command(&env, &["library", "init", &url, "--images", &images])
            .output()
            .unwrap(),
    );
    let mut doomed = start_add(&url, &env);
    let survivor = start_add(&url, &env);
    // Wait until the doomed worker holds a range, then give it a moment into that range.
    let claimed = format!(
        "SELECT COUNT(*) FROM ranges WHERE state = 'claimed' AND worker LIKE '%:{}'",
        doomed.id()
    );
    let started = Instant::now();
    while s.sql(&url, &claimed) == "0" {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the worker never claimed a range"
        );
        assert!(
            doomed.try_wait().unwrap().is_none(),
            "the worker ended early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    kill9(&mut doomed);
    let report = json(&survivor.wait_with_output().unwrap());
    // Started together, the workers agreed on one job; the survivor took over the killed
    // worker's range and finished it.
    assert_eq!(s.sql(&url, "SELECT COUNT(*) FROM jobs"), "1");
    assert_complete(&url, &env, &report);
    let duplicates = s.sql(
        &url,
        "SELECT COUNT(*) FROM (SELECT seed FROM faces GROUP BY model_sha256, seed, truncation \
         HAVING COUNT(*) > 1) d",
    );
    assert_eq!(duplicates, "0");
}
