//! The studio's HTTP API on both backends — embedded (SQLite + files) and server
//! (PostgreSQL + S3, see `common::services`) — against a real `fauxto studio` process over
//! a library filled from the demo model: search with filters, one face, its labelled image,
//! look-alikes by face and by photo, verify, models, the OpenAPI document; keys and scopes,
//! anonymous reads, rate limits, upload limits, and JSON errors for bad input.

mod common;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::OnceLock;

use common::http::{self, agent, answer, get, post, Answer};
use common::services::services;
use common::studio::Server;
use common::{command, ok};
use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    common::scratch("studio", name)
}

/// A library, a studio serving it, and keys of each scope.
struct Fixture {
    /// Names this fixture's scratch directories (tests of both backends run at once).
    name: &'static str,
    location: String,
    env: Vec<(&'static str, String)>,
    studio: Server,
    read_key: String,
    generate_key: String,
    admin_key: String,
    /// Faces catalogued.
    faces: u64,
}

impl Fixture {
    fn get(&self, path: &str, key: Option<&str>) -> Answer {
        get(&self.studio.url, path, key)
    }

    fn post(&self, path: &str, key: Option<&str>, body: &[u8]) -> Answer {
        post(&self.studio.url, path, key, body)
    }

    /// GET with the read key; must succeed; the JSON body.
    fn read(&self, path: &str) -> Value {
        let a = self.get(path, Some(&self.read_key));
        assert_eq!(
            a.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&a.body)
        );
        a.json()
    }

    /// A fresh scratch directory of this fixture.
    fn scratch(&self, what: &str) -> PathBuf {
        scratch(&format!("{}-{what}", self.name))
    }

    fn fauxto(&self, args: &[&str]) -> String {
        ok(&command(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap())
    }

    fn make_key(&self, scope: &str) -> String {
        let out = self.fauxto(&[
            "studio",
            "keys",
            "create",
            "--scope",
            scope,
            "--name",
            scope,
            "--json",
            "--library",
            &self.location,
        ]);
        let key: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(key["scope"], scope);
        key["secret"].as_str().unwrap().to_string()
    }

    /// Another studio over the same library, with `args`.
    fn another_studio(&self, name: &str, args: &[&str]) -> Server {
        let mut all = vec!["--library", self.location.as_str()];
        all.extend_from_slice(args);
        Server::start(&all, &self.env, &self.scratch(name).join("studio.log"))
    }
}

/// Makes a library at `location`, fills it from seeds 0-31 of the demo model, makes keys
/// and starts a studio over it.
fn fixture(
    name: &'static str,
    location: String,
    init: &[&str],
    env: Vec<(&'static str, String)>,
) -> Fixture {
    let mut args = vec!["library", "init", location.as_str()];
    args.extend_from_slice(init);
    let run = |args: &[&str]| {
        ok(&command(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap())
    };
    run(&args);
    let added: Value = serde_json::from_str(&run(&[
        "library",
        "add",
        "--seeds",
        "0-31",
        "--json",
        "--library",
        &location,
    ]))
    .unwrap();
    let faces = added["this_run"]["added"].as_u64().unwrap();
    assert!(faces >= 8, "the demo model makes faces: {added:#}");
    let studio = Server::start(
        &["--library", &location],
        &env,
        &scratch(name).join("studio.log"),
    );
    let mut f = Fixture {
        name,
        location,
        env,
        studio,
        read_key: String::new(),
        generate_key: String::new(),
        admin_key: String::new(),
        faces,
    };
    f.read_key = f.make_key("read");
    f.generate_key = f.make_key("generate");
    f.admin_key = f.make_key("admin");
    f
}

fn embedded() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = scratch("embedded").join("faces");
        fixture(
            "embedded-studio",
            dir.to_str().unwrap().into(),
            &[],
            Vec::new(),
        )
    })
}

fn server() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let s = services();
        let images = format!("s3://{}/library", s.bucket("studio"));
        fixture(
            "server-studio",
            s.database("studio"),
            &["--images", &images],
            s.s3_env(),
        )
    })
}

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
    search_filters_sorts_and_pages,
    a_face_its_provenance_and_its_labelled_image,
    look_alikes_by_face_and_by_photo,
    verify_reports_credential_and_watermark,
    keys_and_scopes_decide_access,
    bad_input_is_a_json_4xx,
    generation_on_demand_is_labelled_batched_and_scoped,
);

fn search_filters_sorts_and_pages(f: &Fixture) {
    let all = f.read("/api/faces?per_page=100");
    assert_eq!(all["total"].as_u64(), Some(f.faces));
    let faces = all["faces"].as_array().unwrap();
    assert_eq!(faces.len() as u64, f.faces);
    // Newest first.
    let ids: Vec<i64> = faces.iter().map(|x| x["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

    // Every filter holds on every face it returns, and the counts add up.
    for gender in ["female", "male"] {
        let page = f.read(&format!(
            "/api/faces?gender={gender}&age=0-200&per_page=100"
        ));
        for face in page["faces"].as_array().unwrap() {
            assert_eq!(face["gender"], gender);
        }
    }
    let female = f.read("/api/faces?gender=female&per_page=1")["total"]
        .as_u64()
        .unwrap();
    let male = f.read("/api/faces?gender=male&per_page=1")["total"]
        .as_u64()
        .unwrap();
    assert_eq!(female + male, f.faces);
    let young = f.read("/api/faces?age=0-30&per_page=100");
    for face in young["faces"].as_array().unwrap() {
        assert!(face["age"].as_f64().unwrap() <= 30.0);
    }
    let expression = faces[0]["expression"].as_str().unwrap();
    let facing = faces[0]["facing"].as_str().unwrap();
    let both = f.read(&format!(
        "/api/faces?expression={expression}&facing={facing}&per_page=100"
    ));
    assert!(both["total"].as_u64().unwrap() >= 1);
    for face in both["faces"].as_array().unwrap() {
        assert_eq!(face["expression"], expression);
        assert_eq!(face["facing"], facing);
    }

    // Pages partition the result; the same seed gives the same random order.
    let mut paged = Vec::new();
    for page in 1..=f.faces.div_ceil(5) {
        let p = f.read(&format!("/api/faces?per_page=5&page={page}"));
        paged.extend(
            p["faces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["id"].as_i64().unwrap()),
        );
    }
    assert_eq!(paged, ids);
    let random = |seed: u32| -> Vec<i64> {
        f.read(&format!("/api/faces?sort=random&seed={seed}&per_page=100"))["faces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(random(7), random(7));
    assert_ne!(random(7), random(8));
    let mut sorted = random(7);
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(sorted, ids, "a random order holds every face once");
    let diverse = f.read("/api/faces?sort=diverse&per_page=100");
    assert_eq!(diverse["total"].as_u64(), Some(f.faces));
}

fn a_face_its_provenance_and_its_labelled_image(f: &Fixture) {
    let first = &f.read("/api/faces?per_page=1")["faces"][0];
    let id = first["id"].as_i64().unwrap();
    let detail = f.read(&format!("/api/faces/{id}"));
    assert_eq!(detail["face"], *first);
    let credential = &detail["credential"];
    assert_eq!(credential["present"], true);
    assert_eq!(credential["tampered"], false);
    assert!(credential["digital_source_type"]
        .as_str()
        .unwrap()
        .ends_with("trainedAlgorithmicMedia"));
    let model = &detail["model"];
    assert_eq!(model["sha256"], first["model_sha256"]);
    assert!(model["license"]
        .as_str()
        .unwrap()
        .contains("non-commercial"));
    assert_eq!(model["faces"].as_u64(), Some(f.faces));
    assert!(model["card"].as_str().unwrap().len() > 100);

    // The image: a PNG, never compressed in transit, carrying the face's labels.
    let link = first["images"][0]["url"].as_str().unwrap();
    let mut request = agent().get(format!("{}{link}&download=true", f.studio.url));
    request = request
        .header("Authorization", format!("Bearer {}", f.read_key))
        .header("Accept-Encoding", "gzip");
    let image = answer(request.call());
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), Some("image/png"));
    assert_eq!(image.header("content-encoding"), None);
    assert!(image
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(&image.body[..8], b"\x89PNG\r\n\x1a\n");
    let file = f.scratch(&format!("download-{id}")).join("face.png");
    std::fs::write(&file, &image.body).unwrap();
    let v: Value =
        serde_json::from_str(&f.fauxto(&["verify", "--json", file.to_str().unwrap()])).unwrap();
    assert!(v["credential"]["digital_source_type"]
        .as_str()
        .unwrap()
        .ends_with("trainedAlgorithmicMedia"));
    assert_eq!(v["watermark_payload"]["seed"], first["seed"]);
    assert_eq!(v["watermark"], first["watermark"]);

    // Only stored sizes, only catalogued faces.
    f.get(&format!("/api/faces/{id}/image?size=37"), Some(&f.read_key))
        .error(404, "not_found");
    f.get("/api/faces/999999", Some(&f.read_key))
        .error(404, "not_found");
    f.get("/api/faces/999999/image", Some(&f.read_key))
        .error(404, "not_found");

    let models = f.read("/api/models");
    assert_eq!(models.as_array().unwrap().len(), 1);
    assert_eq!(models[0]["faces"].as_u64(), Some(f.faces));
}

fn face_image(f: &Fixture, id: i64) -> Vec<u8> {
    let a = f.get(&format!("/api/faces/{id}/image"), Some(&f.read_key));
    assert_eq!(a.status, 200);
    a.body
}

fn look_alikes_by_face_and_by_photo(f: &Fixture) {
    let faces = f.read("/api/faces?per_page=100");
    let id = faces["faces"][0]["id"].as_i64().unwrap();
    let near = f.read(&format!("/api/faces/{id}/similar?limit=5"));
    let near = near["faces"].as_array().unwrap();
    assert_eq!(near.len(), 5.min(f.faces as usize - 1));
    let distances: Vec<f64> = near
        .iter()
        .map(|n| n["distance"].as_f64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert!(near.iter().all(|n| n["face"]["id"].as_i64() != Some(id)));

    // A photo of a catalogued face finds that face first, at almost no distance.
    let photo = face_image(f, id);
    let found = f.post("/api/similar?limit=3", Some(&f.read_key), &photo);
    assert_eq!(
        found.status,
        200,
        "{}",
        String::from_utf8_lossy(&found.body)
    );
    let found = found.json();
    assert_eq!(
        found["faces"][0]["face"]["id"].as_i64(),
        Some(id),
        "{found:#}"
    );
    // Its catalogued descriptor was read before the watermark went in, so not quite zero
    // (0.20 for this 64x64 face), but well within the same-person distance (0.35).
    let distance = found["faces"][0]["distance"].as_f64().unwrap();
    assert!(distance < 0.35, "{distance}");

    // A photo with no face in it.
    let blank = image::RgbImage::from_pixel(96, 96, image::Rgb([128, 128, 128]));
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(blank)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    f.post("/api/similar", Some(&f.read_key), &png)
        .error(422, "unprocessable");
}

fn verify_reports_credential_and_watermark(f: &Fixture) {
    let face = &f.read("/api/faces?per_page=1")["faces"][0];
    let bytes = face_image(f, face["id"].as_i64().unwrap());
    let report = f.post("/api/verify", Some(&f.read_key), &bytes);
    assert_eq!(
        report.status,
        200,
        "{}",
        String::from_utf8_lossy(&report.body)
    );
    let report = report.json();
    assert_eq!(report["credential"]["present"], true);
    assert_eq!(report["credential"]["tampered"], false);
    assert_eq!(report["watermark_payload"]["seed"], face["seed"]);
    assert_eq!(report["watermark_matches_credential"], true);
    assert_eq!(
        report["credential"]["generation"]["model_sha256"],
        face["model_sha256"]
    );
    // The same as `fauxto verify --json` says of the file.
    let file = f.scratch("verify-same").join("face.png");
    std::fs::write(&file, &bytes).unwrap();
    let cli: Value =
        serde_json::from_str(&f.fauxto(&["verify", "--json", file.to_str().unwrap()])).unwrap();
    for field in [
        "credential",
        "watermark",
        "watermark_payload",
        "watermark_score",
    ] {
        assert_eq!(report[field], cli[field], "{field}");
    }
    // An image that is not fauxto's: no credential, no mark.
    let plain = image::RgbImage::from_fn(128, 128, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(plain)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let report = f.post("/api/verify", Some(&f.read_key), &png).json();
    assert_eq!(report["credential"]["present"], false);
    assert_eq!(report["watermark"], Value::Null);
}

fn keys_and_scopes_decide_access(f: &Fixture) {
    // No key, a wrong key, a malformed header: 401. A key of a lower scope: 403.
    f.get("/api/faces", None).error(401, "unauthorized");
    f.get("/api/faces", Some("fxk_0000"))
        .error(401, "unauthorized");
    let malformed = answer(
        agent()
            .get(format!("{}/api/faces", f.studio.url))
            .header("Authorization", "Basic dXNlcjpwYXNz")
            .call(),
    );
    malformed.error(401, "unauthorized");
    f.post("/api/verify", None, b"x").error(401, "unauthorized");
    f.get("/api/keys", Some(&f.read_key))
        .error(403, "forbidden");
    let keys = f.get("/api/keys", Some(&f.admin_key));
    assert_eq!(keys.status, 200);
    let listed = keys.json();
    assert!(listed.as_array().unwrap().len() >= 2);
    assert!(
        !String::from_utf8_lossy(&keys.body).contains(&f.read_key),
        "secrets are never shown"
    );
    // The document describing the API is public.
    let doc = f.get("/api/openapi.json", None);
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/faces",
        "/api/faces/{id}",
        "/api/faces/{id}/image",
        "/api/similar",
        "/api/verify",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert_eq!(f.get("/api/docs", None).status, 200);
    assert_eq!(f.get("/", None).status, 200);

    // Revoked keys stop working (the studio trusts a looked-up key for at most 10 s).
    let key = f.make_key("read");
    assert_eq!(f.get("/api/faces?per_page=1", Some(&key)).status, 200);
    let listed = f.get("/api/keys", Some(&f.admin_key)).json();
    let id = listed.as_array().unwrap().last().unwrap()["id"]
        .as_i64()
        .unwrap();
    f.fauxto(&[
        "studio",
        "keys",
        "revoke",
        &id.to_string(),
        "--library",
        &f.location,
    ]);
    let fresh = f.another_studio("revoked", &[]);
    get(&fresh.url, "/api/faces", Some(&key)).error(401, "unauthorized");

    // Reads opened to anonymous callers; keys and the limit still count.
    let open = f.another_studio("anonymous", &["--anonymous-reads", "--rate-limit", "3"]);
    assert_eq!(get(&open.url, "/api/faces?per_page=1", None).status, 200);
    get(&open.url, "/api/keys", None).error(401, "unauthorized");
    get(&open.url, "/api/keys", Some(&f.read_key)).error(403, "forbidden");
    // 3 a second with bursts of 6: twenty requests at once run over.
    let answers: Vec<Answer> = (0..20)
        .map(|_| get(&open.url, "/api/faces?per_page=1", Some(&f.read_key)))
        .collect();
    let limited: Vec<&Answer> = answers.iter().filter(|a| a.status == 429).collect();
    assert!(!limited.is_empty(), "the rate limit holds");
    limited[0].error(429, "rate_limited");
    let wait: u64 = limited[0].header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert!(answers.iter().all(|a| a.status == 200 || a.status == 429));
}

/// A PNG of nothing but a header that declares `w`x`h` pixels.
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut chunk = b"IHDR".to_vec();
    chunk.extend(w.to_be_bytes());
    chunk.extend(h.to_be_bytes());
    chunk.extend([8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    // IHDR, then the start of the pixel data (decoders read up to it for the header).
    for (kind, data) in [
        (&b"IHDR"[..], chunk[4..].to_vec()),
        (b"IDAT", vec![0x78, 0x9c, 0, 0]),
    ] {
        let mut typed = kind.to_vec();
        typed.extend(&data);
        png.extend((data.len() as u32).to_be_bytes());
        png.extend(&typed);
        png.extend(crc32(&typed).to_be_bytes());
    }
    png
}

fn bad_input_is_a_json_4xx(f: &Fixture) {
    let key = Some(f.read_key.as_str());
    for (path, what) in [
        ("/api/faces?gender=robot", "gender"),
        ("/api/faces?age=old", "age"),
        ("/api/faces?age=40-20", "age"),
        ("/api/faces?per_page=101", "page"),
        ("/api/faces?page=0", "page"),
        ("/api/faces?page=abc", "page"),
        ("/api/faces?sort=best", "sort"),
        ("/api/faces?expression=bored", "expression"),
        ("/api/faces?model=xyz", "model"),
        ("/api/faces?age_band=teen", "age_band"),
        ("/api/faces/abc", "not an id"),
        ("/api/faces/1/similar?limit=0", "limit"),
    ] {
        let message = f.get(path, key).error(400, "bad_request");
        assert!(message.contains(what), "{path}: {message}");
    }
    f.get("/api/nothing-here", key).error(404, "not_found");
    f.get("/../../etc/passwd", key).error(404, "not_found");
    f.get("/api/faces/1/image?size=../../x", key)
        .error(400, "bad_request");

    // Uploads: empty, not an image, a header that declares 3.6 gigapixels (refused
    // before decoding), and a body over the studio's limit.
    f.post("/api/verify", key, b"").error(400, "bad_request");
    f.post("/api/verify", key, b"just text, not an image")
        .error(415, "unsupported_media_type");
    f.post("/api/similar", key, &png_declaring(60_000, 60_000))
        .error(413, "payload_too_large");
    f.post("/api/verify", key, &png_declaring(60_000, 60_000))
        .error(413, "payload_too_large");
    // A body over the limit is refused from its declared length, before it is sent.
    let small = f.another_studio("small-uploads", &["--max-upload-mb", "1"]);
    let address = small.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /api/verify HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: image/png\r\nContent-Length: {}\r\n\r\n",
        f.read_key,
        2 << 20
    )
    .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 413", "{}", String::from_utf8_lossy(&head));
}

fn pixels(png: &[u8]) -> image::RgbImage {
    image::load_from_memory(png).unwrap().to_rgb8()
}

fn generation_on_demand_is_labelled_batched_and_scoped(f: &Fixture) {
    let key = Some(f.generate_key.as_str());
    f.get("/api/generate/5?truncation=0.7", Some(&f.read_key))
        .error(403, "forbidden");
    f.get("/api/generate/5", None).error(401, "unauthorized");
    let one = f.get("/api/generate/5?truncation=0.7", key);
    assert_eq!(one.status, 200, "{}", String::from_utf8_lossy(&one.body));
    assert_eq!(one.header("content-type"), Some("image/png"));

    // The same pixels as `fauxto generate` writes for the seed, and the same labels.
    let dir = f.scratch("generate-cli");
    f.fauxto(&[
        "generate",
        "--seeds",
        "5",
        "--trunc",
        "0.7",
        "--no-guard",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let written = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "png"))
        .unwrap();
    let (a, b) = (pixels(&one.body), pixels(&std::fs::read(&written).unwrap()));
    let diff: Vec<u8> = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .collect();
    assert!(
        a == b,
        "studio and CLI differ: max {:?}, {} pixels",
        diff.iter().max(),
        diff.iter().filter(|d| **d > 0).count()
    );
    let file = f.scratch("generate-verify").join("seed5.png");
    std::fs::write(&file, &one.body).unwrap();
    let v: Value =
        serde_json::from_str(&f.fauxto(&["verify", "--json", file.to_str().unwrap()])).unwrap();
    assert!(v["credential"]["digital_source_type"]
        .as_str()
        .unwrap()
        .ends_with("trainedAlgorithmicMedia"));
    assert_eq!(v["watermark_payload"]["seed"], 5);
    assert_eq!(v["credential"]["generation"]["truncation"], 0.7);
    assert_eq!(one.header("x-fauxto-watermark"), v["watermark"].as_str());

    // Requests that arrive together are served together, each with its own seed.
    let seeds: Vec<u32> = (100..112).collect();
    let url = f.studio.url.clone();
    let together: Vec<(u32, Answer)> = std::thread::scope(|s| {
        let handles: Vec<_> = seeds
            .iter()
            .map(|&seed| {
                let url = url.clone();
                s.spawn(move || (seed, get(&url, &format!("/api/generate/{seed}"), key)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let batch = post_json(
        f,
        "/api/generate",
        key,
        &serde_json::json!({"seeds": seeds, "truncation": 1.0}),
    );
    assert_eq!(
        batch.status,
        200,
        "{}",
        String::from_utf8_lossy(&batch.body)
    );
    let batch = batch.json();
    let images = batch["images"].as_array().unwrap();
    assert_eq!(
        images.len() + batch["withheld"].as_array().unwrap().len(),
        seeds.len()
    );
    for image in images {
        let seed = image["seed"].as_u64().unwrap() as u32;
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(image["png_base64"].as_str().unwrap())
            .unwrap();
        let (_, single) = together.iter().find(|(s, _)| *s == seed).unwrap();
        assert_eq!(single.status, 200);
        // Batches of other sizes may round pixels differently (and the mark's strength
        // follows), never more: the same image.
        let (a, b) = (pixels(&png), pixels(&single.body));
        assert_eq!(a.dimensions(), b.dimensions());
        let mse = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
            .sum::<f64>()
            / a.as_raw().len() as f64;
        let psnr = 10.0 * (255.0f64.powi(2) / mse.max(1e-12)).log10();
        assert!(psnr > 35.0, "seed {seed}: batched vs alone at {psnr:.1} dB");
    }
    let distinct: std::collections::HashSet<Vec<u8>> = together
        .iter()
        .map(|(_, a)| pixels(&a.body).into_raw())
        .collect();
    assert_eq!(distinct.len(), seeds.len());

    // Bad requests.
    for (body, what) in [
        (serde_json::json!({"seeds": []}), "seeds"),
        (
            serde_json::json!({"seeds": (0..17).collect::<Vec<u32>>()}),
            "seeds",
        ),
        (
            serde_json::json!({"seeds": [1], "truncation": 5.0}),
            "truncation",
        ),
        (serde_json::json!({"seed": 1}), "seeds"),
    ] {
        let message = post_json(f, "/api/generate", key, &body).error(400, "bad_request");
        assert!(message.contains(what), "{body}: {message}");
    }
    f.get("/api/generate/1?model=ffff", key)
        .error(404, "not_found");
    f.get("/api/generate/-1", key).error(400, "bad_request");
}

fn post_json(f: &Fixture, path: &str, key: Option<&str>, body: &Value) -> Answer {
    http::post_json(&f.studio.url, path, key, body)
}
