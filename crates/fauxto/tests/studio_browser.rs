//! The web studio in a real browser: headless Chromium (Debian's `chromium`) driven through
//! WebDriver (`chromium-driver`) as a person would use it — give the API key, filter the
//! gallery, open a face and read its provenance, download it and check the download's
//! credential, search look-alikes by uploading a photo, verify an uploaded image, generate
//! images on demand, and start a job that adds faces and watch it finish.
//! Screenshots of each page go to `$FAUXTO_SCREENSHOTS` when set (`docs/studio/`).

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::studio::Server;
use common::{command, ok};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

fn scratch(name: &str) -> PathBuf {
    common::scratch("browser", name)
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver (Debian: chromium-driver) runs; run tools/install-test-services.sh",
            );
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < WAIT, "chromedriver does not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver, downloads: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,960"],
            "prefs": {
                "download.default_directory": downloads.to_str().unwrap(),
                "download.prompt_for_download": false,
            },
        }),
    );
    ClientBuilder::rustls()
        .expect("the WebDriver client")
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("chromium starts under chromedriver")
}

fn chromium() -> String {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .find(|p| Path::new(p).exists())
        .expect("chromium is installed (Debian: chromium)")
        .to_string()
}

/// Waits for the element `at` to appear.
async fn appear(c: &Client, at: Locator<'_>) -> fantoccini::elements::Element {
    c.wait().at_most(WAIT).for_element(at).await.unwrap()
}

/// Clicks the element `css` selects.
async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Replaces the text of the input with id `id` by `text`.
async fn fill(c: &Client, id: &str, text: &str) {
    let input = c.find(Locator::Id(id)).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

/// Polls `check` until it holds.
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.text().await.unwrap_or_default());
    }
    out
}

/// Waits until every `<img>` on the page has loaded.
async fn images_loaded(c: &Client) {
    until("images to load", || async {
        let done = c
            .execute(
                "return [...document.images].every(i => i.complete && i.naturalWidth > 0);",
                vec![],
            )
            .await
            .unwrap();
        done == Value::Bool(true)
    })
    .await;
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    let dir = std::env::var_os("FAUXTO_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| scratch("screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The credential of an image file, as `fauxto verify --json` reads it.
fn verify(file: &Path) -> Value {
    serde_json::from_str(&ok(&common::fauxto(&[
        "verify",
        "--json",
        file.to_str().unwrap(),
    ])))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_designer_filters_opens_downloads_searches_and_verifies() {
    // A library of the demo model's faces and a studio over it.
    let dir = scratch("library");
    let library = dir.join("faces");
    let lib = library.to_str().unwrap();
    ok(&common::fauxto(&["library", "init", lib]));
    ok(&common::fauxto(&[
        "library",
        "add",
        "--seeds",
        "0-47",
        "--library",
        lib,
    ]));
    let key_out = ok(&command(&[
        "studio",
        "keys",
        "create",
        "--scope",
        "read",
        "--name",
        "browser",
        "--library",
        lib,
    ])
    .output()
    .unwrap());
    let key = key_out.trim().to_string();
    let admin_key = ok(&command(&[
        "studio",
        "keys",
        "create",
        "--scope",
        "admin",
        "--name",
        "browser-admin",
        "--library",
        lib,
    ])
    .output()
    .unwrap())
    .trim()
    .to_string();
    let studio = Server::start(&["--library", lib], &[], &dir.join("studio.log"));
    let driver = Driver::start();
    let downloads = scratch("downloads");
    let c = browser(&driver, &downloads).await;

    // Without a key the gallery says what is missing; with one it shows faces.
    c.goto(&format!("{}/", studio.url)).await.unwrap();
    appear(&c, Locator::Css("main .error")).await;
    let message = c
        .find(Locator::Css("main .error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(message.contains("API key"), "{message}");
    fill(&c, "api-key", &key).await;
    click(&c, "#key-form button").await;
    appear(&c, Locator::Css("ul.grid li.card img")).await;
    images_loaded(&c).await;
    let count = c
        .find(Locator::Id("count"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(count.contains("faces"), "{count}");
    screenshot(&c, "gallery").await;

    // Filter: women, 20 to 60, by the form's labelled controls.
    click(&c, "#f-gender option[value=female]").await;
    fill(&c, "f-age-min", "20").await;
    fill(&c, "f-age-max", "60").await;
    click(&c, "form.filters button[type=submit]").await;
    until("the filtered gallery", || async {
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .contains("gender=female")
            && !texts(&c, "ul.grid .caption").await.is_empty()
    })
    .await;
    images_loaded(&c).await;
    for caption in texts(&c, "ul.grid .caption").await {
        let parts: Vec<&str> = caption.split(" · ").collect();
        assert_eq!(parts[1], "female", "{caption}");
        let age: f32 = parts[0].parse().unwrap();
        assert!((19.5..=60.5).contains(&age), "{caption}");
    }
    screenshot(&c, "gallery-filtered").await;

    // Open the first face: attributes and provenance.
    click(&c, "ul.grid li.card a").await;
    appear(&c, Locator::Css("section.provenance table")).await;
    images_loaded(&c).await;
    let provenance = texts(&c, "section.provenance td").await.join(" | ");
    assert!(
        provenance.contains("trainedAlgorithmicMedia"),
        "{provenance}"
    );
    assert!(provenance.contains("non-commercial"), "{provenance}");
    let heading = c
        .find(Locator::Css("main h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let face_id: i64 = heading.trim_start_matches("Face ").parse().unwrap();
    screenshot(&c, "face").await;

    // Download it: the file carries its credential and watermark.
    click(&c, ".downloads button").await;
    let expected = downloads.join(format!("fauxto-face-{face_id}-64.png"));
    until("the download", || async { expected.exists() }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let v = verify(&expected);
    assert!(v["credential"]["digital_source_type"]
        .as_str()
        .unwrap()
        .ends_with("trainedAlgorithmicMedia"));
    assert!(v["watermark_payload"]["seed"].is_u64(), "{v:#}");

    // Look-alikes of an uploaded photo: the face itself comes first.
    c.goto(&format!("{}/#/similar", studio.url)).await.unwrap();
    let upload = appear(&c, Locator::Id("upload")).await;
    upload.send_keys(expected.to_str().unwrap()).await.unwrap();
    appear(&c, Locator::Css("#results li.card")).await;
    images_loaded(&c).await;
    let first = c
        .find(Locator::Css("#results li.card a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap();
    assert_eq!(first.as_deref(), Some(format!("#/face/{face_id}").as_str()));
    let captions = texts(&c, "#results .caption").await;
    let nearest: f32 = captions
        .iter()
        .find_map(|t| t.strip_prefix("distance "))
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no distance shown: {captions:?}"));
    assert!(nearest < 0.35, "{captions:?}");
    screenshot(&c, "look-alikes").await;

    // Verify the downloaded file on the verify page.
    c.goto(&format!("{}/#/verify", studio.url)).await.unwrap();
    let upload = appear(&c, Locator::Id("upload")).await;
    upload.send_keys(expected.to_str().unwrap()).await.unwrap();
    appear(&c, Locator::Css("#report table")).await;
    let report = texts(&c, "#report td").await.join(" | ");
    assert!(report.contains("trainedAlgorithmicMedia"), "{report}");
    assert!(
        report.contains(v["watermark"].as_str().unwrap()),
        "{report}"
    );
    assert!(report.contains("probably generated"), "{report}");
    screenshot(&c, "verify").await;

    // With an admin key: generate on demand, then a job that adds faces, watched to the end.
    fill(&c, "api-key", &admin_key).await;
    click(&c, "#key-form button").await;
    c.goto(&format!("{}/#/generate", studio.url)).await.unwrap();
    appear(&c, Locator::Id("g-seeds")).await;
    fill(&c, "g-seeds", "3-6").await;
    click(&c, "form.filters button[type=submit]").await;
    appear(&c, Locator::Css("#generated li.card img")).await;
    images_loaded(&c).await;
    let made = texts(&c, "#generated .caption").await;
    for seed in 3..=6 {
        assert!(
            made.iter().any(|t| t.starts_with(&format!("seed {seed} "))),
            "{made:?}"
        );
    }
    assert!(
        made.iter()
            .any(|t| t.starts_with("watermark ") && !t.ends_with('—')),
        "{made:?}"
    );
    screenshot(&c, "generate").await;

    c.goto(&format!("{}/#/jobs", studio.url)).await.unwrap();
    appear(&c, Locator::Id("j-seeds")).await;
    fill(&c, "j-seeds", "48-79").await;
    click(&c, "form.filters button[type=submit]").await;
    // The library's first job (the `library add` above) is listed; the new one goes on top.
    until("the new job's row", || async {
        c.find_all(Locator::Css("ul.jobs li.job"))
            .await
            .unwrap()
            .len()
            == 2
    })
    .await;
    // Progress arrives through the event stream; the row turns done without a reload.
    let done = appear(
        &c,
        Locator::Css("ul.jobs li.job:first-child[data-state=done]"),
    )
    .await;
    let caption = done.text().await.unwrap();
    assert!(caption.contains("32 / 32 seeds"), "{caption}");
    let progress = c
        .execute(
            "const p = document.querySelector('ul.jobs li.job:first-child progress'); \
             return [p.value, p.max];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(progress, json!([32, 32]));
    screenshot(&c, "jobs").await;

    // The API reference page lists the endpoints from the OpenAPI document.
    c.goto(&format!("{}/api/docs", studio.url)).await.unwrap();
    appear(&c, Locator::Css("section.op")).await;
    let ops = texts(&c, "section.op h2").await.join("\n");
    assert!(ops.contains("GET /api/faces"), "{ops}");
    assert!(ops.contains("POST /api/verify"), "{ops}");

    // Readable on a phone: the gallery in a 390 px wide window, without sideways scrolling.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{}/#/", studio.url)).await.unwrap();
    appear(&c, Locator::Css("ul.grid li.card img")).await;
    images_loaded(&c).await;
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "sideways overflow {overflow}"
    );
    screenshot(&c, "gallery-phone").await;

    // Keyboard: Tab reaches the filter controls, the search button and the faces.
    c.set_window_size(1280, 960).await.unwrap();
    let mut reached = Vec::new();
    for _ in 0..40 {
        c.active_element()
            .await
            .unwrap()
            .send_keys("\u{E004}")
            .await
            .unwrap();
        let here = c
            .execute(
                "const e = document.activeElement; \
                 return e.id || (e.closest('li.card') ? 'card' : e.tagName + ':' + e.textContent);",
                vec![],
            )
            .await
            .unwrap();
        reached.push(here.as_str().unwrap_or_default().to_string());
    }
    for control in [
        "api-key",
        "f-age-min",
        "f-gender",
        "f-expression",
        "f-facing",
        "f-sort",
        "card",
    ] {
        assert!(
            reached.iter().any(|r| r == control),
            "Tab never reaches {control}: {reached:?}"
        );
    }
    assert!(reached.iter().any(|r| r == "BUTTON:Search"), "{reached:?}");
    c.close().await.unwrap();
}
