//! Bulk jobs through the studio's API on both backends (embedded, and PostgreSQL + S3):
//! start one and follow its progress as server-sent events to the end; refuse bad input,
//! the wrong scope and overlapping jobs; `kill -9` the studio in the middle of a job and see
//! the restarted studio resume it with no committed face lost or catalogued twice; cancel
//! one and see it stop with nothing left half-done.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::http::{delete, events, get, post_json};
use common::services::services;
use common::studio::Server;
use common::{command, ok};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(300);

/// A library with an admin and a read key.
struct Setup {
    dir: PathBuf,
    location: String,
    env: Vec<(&'static str, String)>,
    admin: String,
    read: String,
}

impl Setup {
    fn new(
        name: &str,
        location: Option<String>,
        init: &[&str],
        env: Vec<(&'static str, String)>,
    ) -> Setup {
        let dir = common::scratch("studio-jobs", name);
        let location = location.unwrap_or_else(|| dir.join("faces").to_str().unwrap().to_string());
        let mut setup = Setup {
            dir,
            location,
            env,
            admin: String::new(),
            read: String::new(),
        };
        let mut args = vec!["library", "init", setup.location.as_str()];
        args.extend_from_slice(init);
        setup.fauxto(&args);
        setup.admin = setup.key("admin");
        setup.read = setup.key("read");
        setup
    }

    fn fauxto(&self, args: &[&str]) -> String {
        ok(&command(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap())
    }

    fn key(&self, scope: &str) -> String {
        self.fauxto(&[
            "studio",
            "keys",
            "create",
            "--scope",
            scope,
            "--library",
            &self.location,
        ])
        .trim()
        .to_string()
    }

    fn studio(&self, name: &str) -> Server {
        Server::start(
            &["--library", &self.location],
            &self.env,
            &self.dir.join(format!("{name}.log")),
        )
    }

    /// `library check --json`: asserts the catalogue and the images agree.
    fn check(&self) -> Value {
        let report: Value = serde_json::from_str(&self.fauxto(&[
            "library",
            "check",
            "--json",
            "--library",
            &self.location,
        ]))
        .unwrap();
        assert_eq!(report["missing"], json!([]), "{report:#}");
        assert_eq!(report["orphans"], json!([]), "{report:#}");
        assert_eq!(report["faces"], report["images"], "{report:#}");
        report
    }
}

fn start(studio: &Server, setup: &Setup, seeds: &str) -> i64 {
    let answer = post_json(
        &studio.url,
        "/api/jobs",
        Some(&setup.admin),
        &json!({ "seeds": seeds }),
    );
    assert_eq!(
        answer.status,
        202,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let job = answer.json();
    assert_eq!(job["origin"], "studio", "{job:#}");
    job["id"].as_i64().unwrap()
}

/// Follows job `id`'s events to the end; checks that progress never goes back.
fn follow(studio: &Server, setup: &Setup, id: i64) -> Value {
    let mut last = 0;
    for (name, data) in events(
        &studio.url,
        &format!("/api/jobs/{id}/events"),
        Some(&setup.read),
    ) {
        let view: Value = serde_json::from_str(&data).unwrap();
        let done = view["done_seeds"].as_u64().unwrap();
        assert!(done >= last, "progress went back: {last} → {done}");
        last = done;
        match name.as_str() {
            "progress" => {}
            "end" => return view,
            other => panic!("unexpected event {other}: {data}"),
        }
    }
    panic!("the event stream of job {id} closed without an end event");
}

fn counted(job: &Value) -> u64 {
    job["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum()
}

fn jobs_run_resume_after_a_kill_and_cancel(setup: &Setup) {
    let mut studio = setup.studio("first");
    let url = studio.url.clone();

    // Access and bad input.
    let seeds = json!({ "seeds": "0-3" });
    post_json(&url, "/api/jobs", None, &seeds).error(401, "unauthorized");
    post_json(&url, "/api/jobs", Some(&setup.read), &seeds).error(403, "forbidden");
    for (body, what) in [
        (json!({ "seeds": "9-1" }), "backwards"),
        (json!({ "seeds": "0-99999999" }), "more than"),
        (json!({ "seeds": "0-3", "truncation": 3.0 }), "truncation"),
        (json!({ "seed": "0-3" }), "seeds"),
    ] {
        let message =
            post_json(&url, "/api/jobs", Some(&setup.admin), &body).error(400, "bad_request");
        assert!(message.contains(what), "{body}: {message}");
    }
    get(&url, "/api/jobs/999", Some(&setup.read)).error(404, "not_found");
    get(&url, "/api/jobs/x", Some(&setup.read)).error(400, "bad_request");
    delete(&url, "/api/jobs/999", Some(&setup.admin)).error(404, "not_found");

    // A job followed to its end: every seed accounted for, its faces in the gallery.
    let first = start(&studio, setup, "0-39");
    let end = follow(&studio, setup, first);
    assert_eq!(end["state"], "done", "{end:#}");
    assert_eq!(
        (end["done_seeds"].as_u64(), end["total_seeds"].as_u64()),
        (Some(40), Some(40))
    );
    assert_eq!(counted(&end), 40, "{end:#}");
    let added_first = end["counts"]["added"].as_u64().unwrap();
    assert!(added_first >= 10, "the demo model makes faces: {end:#}");
    let started = Instant::now();
    while get(&url, "/api/faces", Some(&setup.read)).json()["total"].as_u64() != Some(added_first) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the gallery shows the new faces"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    delete(&url, &format!("/api/jobs/{first}"), Some(&setup.admin)).error(409, "conflict");

    // kill -9 in the middle of a job.
    let second = start(&studio, setup, "100-259");
    post_json(
        &url,
        "/api/jobs",
        Some(&setup.admin),
        &json!({ "seeds": "250-300" }),
    )
    .error(409, "conflict");
    let started = Instant::now();
    loop {
        let job = get(&url, &format!("/api/jobs/{second}"), Some(&setup.read)).json();
        let done = job["done_seeds"].as_u64().unwrap();
        if done >= 16 {
            assert!(
                done < 160,
                "the job finished before it could be interrupted"
            );
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "job {second} makes no progress: {job:#}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    studio.kill();
    let committed = setup.check()["faces"].as_u64().unwrap();
    assert!(
        committed > added_first,
        "faces of the second job were committed"
    );

    // The restarted studio resumes it by itself.
    let studio = setup.studio("restarted");
    let end = follow(&studio, setup, second);
    assert_eq!(end["state"], "done", "{end:#}");
    assert_eq!(end["done_seeds"].as_u64(), Some(160));
    assert_eq!(counted(&end), 160, "every seed counted once: {end:#}");
    let added_second = end["counts"]["added"].as_u64().unwrap();
    let report = setup.check();
    assert_eq!(report["unfinished_ranges"], 0, "{report:#}");
    assert_eq!(
        report["faces"].as_u64(),
        Some(added_first + added_second),
        "{report:#}"
    );

    // Cancelled at once: the range in flight finishes, no other starts.
    let third = start(&studio, setup, "1000-1999");
    let cancelled = delete(
        &studio.url,
        &format!("/api/jobs/{third}"),
        Some(&setup.admin),
    );
    assert_eq!(
        cancelled.status,
        200,
        "{}",
        String::from_utf8_lossy(&cancelled.body)
    );
    assert_eq!(cancelled.json()["state"], "cancelled");
    let end = follow(&studio, setup, third);
    assert_eq!(end["state"], "cancelled", "{end:#}");
    let done = end["done_seeds"].as_u64().unwrap();
    assert!(done < 1000 && done.is_multiple_of(16), "{end:#}");
    assert_eq!(counted(&end), done, "{end:#}");
    let report = setup.check();
    assert_eq!(report["unfinished_ranges"], 0, "{report:#}");
    assert_eq!(
        report["faces"].as_u64(),
        Some(added_first + added_second + end["counts"]["added"].as_u64().unwrap()),
        "{report:#}"
    );
    let listed = get(&studio.url, "/api/jobs", Some(&setup.read)).json();
    let states: Vec<&str> = listed["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["cancelled", "done", "done"],
        "newest first: {listed:#}"
    );
}

#[test]
fn embedded() {
    jobs_run_resume_after_a_kill_and_cancel(&Setup::new("embedded", None, &[], Vec::new()));
}

#[test]
fn postgres_s3() {
    let s = services();
    let images = format!("s3://{}/library", s.bucket("studio-jobs"));
    jobs_run_resume_after_a_kill_and_cancel(&Setup::new(
        "server",
        Some(s.database("studio_jobs")),
        &["--images", &images],
        s.s3_env(),
    ));
}
