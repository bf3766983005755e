//! The library's two search paths — SQL on the catalogue (`FaceQuery::run`) and the
//! in-memory facet index (`Library::search_facets`) — give the same totals and the same
//! pages, in the same order, for random queries over synthetic faces, on both backends.

mod common;

use common::services::services;
use fauxto_library::synthetic::{fill, Rng};
use fauxto_library::{AgeBand, FaceQuery, FacetIndex, Library, Location, Sort};

const EXPRESSIONS: [&str; 7] = [
    "neutral",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgusted",
    "surprised",
];

fn pick(rng: &mut Rng, values: &[&str]) -> Option<String> {
    let i = rng.next_u64() as usize % (values.len() + 1);
    values.get(i).map(|v| v.to_string())
}

fn random_query(rng: &mut Rng) -> FaceQuery {
    let age = rng.next_u64().is_multiple_of(3).then(|| {
        let lo = (rng.uniform() * 70.0).round();
        (lo, lo + (rng.uniform() * 30.0).round())
    });
    let band = rng
        .next_u64()
        .is_multiple_of(4)
        .then(|| AgeBand::ALL[rng.next_u64() as usize % 5]);
    FaceQuery {
        age,
        age_band: band,
        gender: pick(rng, &["male", "female"]),
        expression: pick(rng, &EXPRESSIONS[..]).filter(|_| rng.next_u64().is_multiple_of(2)),
        facing: pick(rng, &["left", "frontal", "right"])
            .filter(|_| rng.next_u64().is_multiple_of(2)),
        model: match rng.next_u64() % 6 {
            0 => Some("be9c".into()),
            1 => Some("ffff".into()),
            _ => None,
        },
        max_id: rng
            .next_u64()
            .is_multiple_of(5)
            .then(|| (rng.next_u64() % 1500) as i64),
        sort: match rng.next_u64() % 3 {
            0 => Sort::Newest,
            1 => Sort::Random(rng.next_u64() % 1000),
            _ => Sort::Diverse,
        },
        page: 1 + (rng.next_u64() % 4) as u32,
        per_page: [1, 7, 24, 100][rng.next_u64() as usize % 4],
    }
}

async fn agree(location: Location, images: Option<&str>) {
    let library = Library::init(&location, images).await.unwrap();
    fill(&library, 0..1200, 11).await.unwrap();
    let mut facets = FacetIndex::default();
    let mut rng = Rng(5);
    let mut nonempty = 0;
    for i in 0..300 {
        // Faces added midway are seen by the next refresh.
        if i == 150 {
            fill(&library, 1200..1500, 12).await.unwrap();
        }
        let query = random_query(&mut rng);
        let by_sql = query.run(&library.db).await.unwrap();
        let by_facets = library.search_facets(&mut facets, &query).await.unwrap();
        let ids =
            |p: &fauxto_library::search::Page| p.faces.iter().map(|f| f.id).collect::<Vec<_>>();
        assert_eq!(by_sql.total, by_facets.total, "{query:?}");
        assert_eq!(ids(&by_sql), ids(&by_facets), "{query:?}");
        assert_eq!(by_sql.faces, by_facets.faces);
        nonempty += usize::from(!by_sql.faces.is_empty());
    }
    assert!(nonempty > 100, "the queries find faces ({nonempty} of 300)");
    assert_eq!(facets.len(), 1500);
}

#[tokio::test]
async fn sql_and_facets_agree_on_sqlite() {
    let dir = common::scratch("library-search", "sqlite");
    agree(Location::Embedded(dir.join("lib")), None).await;
}

#[tokio::test]
async fn sql_and_facets_agree_on_postgres() {
    let s = services();
    let url = s.database("search");
    let images = format!(
        "file://{}",
        common::scratch("library-search", "pg").display()
    );
    agree(url.parse().unwrap(), Some(&images)).await;
}
