//! `fauxto library` on both backends — embedded (SQLite + files) and server (a real
//! PostgreSQL + a real S3-compatible store, see `common::services`): init, add with the demo
//! model, search with filters and sorts, similar, export, stats, check, and `add` run again
//! after it finished (nothing twice).

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::process::Output;
use std::sync::OnceLock;

use common::services::services;
use common::{command, ok};
use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    common::scratch("library", name)
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).unwrap()
}

/// A library, the environment its commands need, and the report of the `add` that filled
/// it.
struct Lib {
    /// Names its scratch directories (the tests of both backends run at once).
    name: &'static str,
    location: String,
    env: Vec<(&'static str, String)>,
    added: Value,
}

impl Lib {
    /// `fauxto library ACTION --library LOCATION ARGS…`.
    fn run(&self, action: &str, args: &[&str]) -> Output {
        let mut all = vec!["library", action, "--library", &self.location];
        all.extend_from_slice(args);
        self.fauxto(&all)
    }

    fn json(&self, action: &str, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        json(&self.run(action, &all))
    }

    fn fauxto(&self, args: &[&str]) -> Output {
        command(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("fauxto runs")
    }

    /// A fresh scratch directory of this library's tests.
    fn scratch(&self, what: &str) -> PathBuf {
        scratch(&format!("{}-{what}", self.name))
    }

    /// The images of an export with `filter`, by file name in the zip.
    fn exported(&self, name: &str, filter: &[&str]) -> Vec<(String, Vec<u8>)> {
        let out = self.scratch(name).join("export.zip");
        let mut args = filter.to_vec();
        args.extend(["--out", out.to_str().unwrap()]);
        ok(&self.run("export", &args));
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
        let mut images = Vec::new();
        for i in 0..zip.len() {
            let mut file = zip.by_index(i).unwrap();
            let name = file.name().unwrap().to_string();
            if name.starts_with("faces/") {
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes).unwrap();
                images.push((name, bytes));
            }
        }
        images
    }
}

/// Makes a library at `location` (`init_args` added to `init`) and fills it from seeds
/// 0-47 of the demo model.
fn fill(
    name: &'static str,
    location: String,
    init_args: &[&str],
    env: Vec<(&'static str, String)>,
) -> Lib {
    let mut lib = Lib {
        name,
        location,
        env,
        added: Value::Null,
    };
    let mut init = vec!["library", "init", lib.location.as_str()];
    init.extend_from_slice(init_args);
    ok(&lib.fauxto(&init));
    lib.added = lib.json("add", &["--seeds", "0-47"]);
    lib
}

/// SQLite + image files in a directory.
fn embedded() -> &'static Lib {
    static LIB: OnceLock<Lib> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = scratch("embedded").join("faces");
        fill("embedded", dir.to_str().unwrap().into(), &[], Vec::new())
    })
}

/// PostgreSQL + S3.
fn server() -> &'static Lib {
    static LIB: OnceLock<Lib> = OnceLock::new();
    LIB.get_or_init(|| {
        let s = services();
        let images = format!("s3://{}/library", s.bucket("faces"));
        fill(
            "server",
            s.database("faces"),
            &["--images", &images],
            s.s3_env(),
        )
    })
}

/// Runs a test body on both backends, as two tests.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn embedded() {
                super::$name(super::embedded());
            }
            #[test]
            fn postgres_s3() {
                super::$name(super::server());
            }
        }
    )*};
}

on_both_backends!(
    add_catalogues_faces_and_accounts_for_every_output,
    search_filters_sorts_and_pages,
    similar_finds_look_alikes_by_id_and_by_photo,
    export_streams_images_metadata_and_licence,
);

fn add_catalogues_faces_and_accounts_for_every_output(lib: &Lib) {
    let report = &lib.added;
    let c = &report["this_run"];
    let total: u64 = [
        "added",
        "no_face",
        "several_faces",
        "weak_detection",
        "memorised",
        "near_duplicate",
        "already_there",
    ]
    .iter()
    .map(|k| c[k].as_u64().unwrap())
    .sum();
    assert_eq!(total, 48, "{report:#}");
    let added = c["added"].as_u64().unwrap();
    assert!(added >= 10, "the demo model makes faces: {report:#}");
    assert_eq!(report["job_status"]["done_seeds"], 48);
    // Each catalogued face has its labelled image in the library, and nothing else is
    // there.
    let check = lib.json("check", &[]);
    assert_eq!(check["faces"].as_u64(), Some(added), "{check:#}");
    assert_eq!(
        check["images"].as_u64(),
        Some(added),
        "one 64x64 image per face"
    );
    assert_eq!(check["missing"].as_array().unwrap().len(), 0, "{check:#}");
    assert_eq!(check["orphans"].as_array().unwrap().len(), 0, "{check:#}");
    assert_eq!(check["unfinished_ranges"].as_u64(), Some(0));
    let images = lib.exported("verify", &[]);
    assert_eq!(images.len() as u64, added);
    let file = lib.scratch("verify").join("face.png");
    std::fs::write(&file, &images[0].1).unwrap();
    let v = json(&lib.fauxto(&["verify", "--json", file.to_str().unwrap()]));
    assert!(v["credential"]["digital_source_type"]
        .as_str()
        .unwrap()
        .ends_with("trainedAlgorithmicMedia"));
    assert!(v["watermark_payload"]["seed"].is_u64(), "{v:#}");

    // Running the same add again catalogues nothing twice.
    let again = lib.json("add", &["--seeds", "0-47"]);
    assert_eq!(again["this_run"]["added"], 0, "{again:#}");
    let chart = lib.scratch("stats").join("stats.png");
    let stats = lib.json("stats", &["--chart", chart.to_str().unwrap()]);
    assert_eq!(stats["faces"].as_u64().unwrap(), added);
    let counted: u64 = stats["attributes"]["gender"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counted, added);
    let v = json(&lib.fauxto(&["verify", "--json", chart.to_str().unwrap()]));
    assert!(
        v["credential"]["digital_source_type"]
            .as_str()
            .unwrap()
            .ends_with("dataDrivenMedia"),
        "{v:#}"
    );
    assert_eq!(stats["models"][0]["faces"].as_u64().unwrap(), added);
    assert!(stats["models"][0]["license"]
        .as_str()
        .unwrap()
        .contains("non-commercial"));
}

fn search_filters_sorts_and_pages(lib: &Lib) {
    let ids_of = |v: &Value| -> Vec<i64> {
        v["faces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_i64().unwrap())
            .collect()
    };
    let all = lib.json("search", &["--per-page", "100"]);
    let faces = all["faces"].as_array().unwrap();
    assert_eq!(all["total"].as_u64().unwrap() as usize, faces.len());
    let ids = ids_of(&all);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    for gender in ["male", "female"] {
        let some = lib.json("search", &["--gender", gender, "--per-page", "100"]);
        let n = some["total"].as_u64().unwrap();
        let want = faces.iter().filter(|f| f["gender"] == gender).count() as u64;
        assert_eq!(n, want, "{gender}");
        assert!(some["faces"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["gender"] == gender));
    }
    let young = lib.json("search", &["--age", "20-40", "--per-page", "100"]);
    for f in young["faces"].as_array().unwrap() {
        let age = f["age"].as_f64().unwrap();
        assert!((20.0..=40.0).contains(&age), "{age}");
    }
    // A seeded random order is a permutation, the same for the same seed.
    let order = |seed: &str| {
        ids_of(&lib.json(
            "search",
            &["--sort", "random", "--seed", seed, "--per-page", "100"],
        ))
    };
    let (a, b) = (order("1"), order("1"));
    assert_eq!(a, b);
    let mut sorted = a.clone();
    sorted.sort();
    let mut all_ids = ids.clone();
    all_ids.sort();
    assert_eq!(sorted, all_ids);
    // Pages partition the result.
    let page = |p: &str| ids_of(&lib.json("search", &["--per-page", "5", "--page", p]));
    let two: Vec<i64> = page("1").into_iter().chain(page("2")).collect();
    assert_eq!(two, ids[..10.min(ids.len())]);
    // A diverse page shows as many (age band, gender, expression) groups as it can hold.
    let group = |f: &Value| format!("{}/{}/{}", f["age_band"], f["gender"], f["expression"]);
    let distinct = |faces: &[Value]| {
        let mut g: Vec<String> = faces.iter().map(group).collect();
        g.sort();
        g.dedup();
        g.len()
    };
    let diverse = lib.json("search", &["--sort", "diverse", "--per-page", "8"]);
    assert_eq!(
        distinct(diverse["faces"].as_array().unwrap()),
        distinct(faces).min(8),
        "{diverse:#}"
    );
    // Bad filters are clear errors.
    let out = lib.run("search", &["--gender", "robot"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("male, female"));
}

fn similar_finds_look_alikes_by_id_and_by_photo(lib: &Lib) {
    let first = lib.json("search", &["--per-page", "1"]);
    let face = &first["faces"][0];
    let id = face["id"].as_i64().unwrap();
    let near = lib.json("similar", &[&id.to_string(), "--limit", "3"]);
    let near = near.as_array().unwrap();
    assert!(!near.is_empty());
    assert!(
        near.iter().all(|n| n["id"].as_i64().unwrap() != id),
        "itself excluded"
    );
    let d: Vec<f64> = near
        .iter()
        .map(|n| n["distance"].as_f64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "nearest first: {d:?}");
    // A photo of the face itself finds it first.
    let images = lib.exported("similar", &[]);
    let (_, own) = images
        .iter()
        .find(|(name, _)| *name == format!("faces/{id:08}.png"))
        .expect("the face is exported");
    let photo = lib.scratch("similar").join("photo.png");
    std::fs::write(&photo, own).unwrap();
    let by_photo = lib.json("similar", &[photo.to_str().unwrap(), "--limit", "1"]);
    assert_eq!(by_photo[0]["id"].as_i64().unwrap(), id, "{by_photo:#}");
    // The stored file carries the watermark, so its descriptor is near, not equal, to the
    // catalogued one; it is still far nearer than the nearest other face.
    let own_distance = by_photo[0]["distance"].as_f64().unwrap();
    assert!(
        own_distance < d[0] / 2.0,
        "{own_distance} vs nearest other {d:?}"
    );
}

fn export_streams_images_metadata_and_licence(lib: &Lib) {
    let out = lib.scratch("export").join("female.zip");
    let report = lib.json(
        "export",
        &["--gender", "female", "--out", out.to_str().unwrap()],
    );
    let n = report["faces"].as_u64().unwrap() as usize;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let names: Vec<String> = zip.file_names().map(|s| s.unwrap().to_string()).collect();
    assert_eq!(names.iter().filter(|n| n.starts_with("faces/")).count(), n);
    for needed in ["metadata.csv", "metadata.jsonl", "LICENSE.txt"] {
        assert!(names.iter().any(|x| x == needed), "{needed}: {names:?}");
    }
    let mut csv = String::new();
    zip.by_name("metadata.csv")
        .unwrap()
        .read_to_string(&mut csv)
        .unwrap();
    assert_eq!(csv.lines().count(), n + 1);
    assert!(csv.lines().skip(1).all(|l| l.contains(",female,")), "{csv}");
    let mut licence = String::new();
    zip.by_name("LICENSE.txt")
        .unwrap()
        .read_to_string(&mut licence)
        .unwrap();
    assert!(licence.contains("non-commercial"), "{licence}");
    let out = lib.run("export", &["--out", "x.tar"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_missing_library_is_a_clear_error() {
    let dir = scratch("missing");
    let out = common::fauxto(&[
        "library",
        "stats",
        "--library",
        dir.join("nope").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("library init"), "{err}");
    ok(&common::fauxto(&[
        "library",
        "init",
        dir.join("a").to_str().unwrap(),
    ]));
    let again = common::fauxto(&["library", "init", dir.join("a").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a library"));
    // $FAUXTO_LIBRARY names the library when --library does not.
    let stats = command(&["library", "stats", "--json"])
        .env("FAUXTO_LIBRARY", dir.join("a"))
        .output()
        .unwrap();
    assert_eq!(json(&stats)["faces"], 0);
}

#[test]
fn a_postgres_library_needs_an_image_store_and_a_reachable_server() {
    let s = services();
    let url = s.database("noimages");
    let out = common::fauxto(&["library", "init", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--images s3://"));
    // A server that is not there is a clear error, with no password shown.
    let out = common::fauxto(&[
        "library",
        "stats",
        "--library",
        "postgres://fauxto:hunter2@127.0.0.1:1/nowhere",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot open the catalogue"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
