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
    // Uninterrupted, for the reference and to time the kills.
    let started = Instant::now();
    let straight = json(
        &start_add(reference.to_str().unwrap(), &[])
            .wait_with_output()
            .unwrap(),
    );
    let full = started.elapsed();
    assert_complete(reference.to_str().unwrap(), &[], &straight);
    // Killed three times, at different points of its work (each run continues the last).
    let mut kills = 0;
    for fraction in [0.45, 0.3, 0.35] {
        let mut child = start_add(killed.to_str().unwrap(), &[]);
        std::thread::sleep(full.mul_f64(fraction));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        kill9(&mut child);
        kills += 1;
    }
    assert!(
        kills >= 2,
        "killed mid-job at least twice ({full:?} for the whole job)"
    );
    let report = json(
        &start_add(killed.to_str().unwrap(), &[])
            .wait_with_output()
            .unwrap(),
    );
    assert!(report["resumed"].as_bool().unwrap(), "{report:#}");
    assert_complete(killed.to_str().unwrap(), &[], &report);
    // Interrupted or not, the same seeds give the same faces.
    assert_eq!(
        catalogued_seeds(killed.to_str().unwrap(), &[]),
        catalogued_seeds(reference.to_str().unwrap(), &[])
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
    // The survivor took over the killed worker's range and finished the job.
    assert_complete(&url, &env, &report);
    let duplicates = s.sql(
        &url,
        "SELECT COUNT(*) FROM (SELECT seed FROM faces GROUP BY model_sha256, seed, truncation \
         HAVING COUNT(*) > 1) d",
    );
    assert_eq!(duplicates, "0");
}
