//! Where a library lives: a directory (SQLite + image files) or a PostgreSQL URL (whose
//! catalogue records the object-storage URL of its images).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A library's location, as `--library` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// `DIR`: `DIR/catalogue.db` (SQLite) and `DIR/images/`.
    Embedded(PathBuf),
    /// `postgres://…`: the catalogue; the images are where the catalogue says.
    Postgres(String),
}

impl Location {
    /// The SQLite file of an embedded library.
    pub const CATALOGUE_FILE: &'static str = "catalogue.db";
    /// The image directory of an embedded library.
    pub const IMAGES_DIR: &'static str = "images";

    /// The database URL.
    pub fn database_url(&self) -> String {
        match self {
            Location::Embedded(dir) => format!(
                "sqlite://{}?mode=rwc",
                dir.join(Self::CATALOGUE_FILE).display()
            ),
            Location::Postgres(url) => url.clone(),
        }
    }
}

impl FromStr for Location {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("name a library: a directory, or a postgres:// URL".into());
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Location::Postgres(s.to_string()));
        }
        if s.contains("://") {
            return Err(format!(
                "{s}: a library is a directory or a postgres:// URL (images on S3 are named \
                 by the catalogue, see `fauxto library init --images`)"
            ));
        }
        Ok(Location::Embedded(PathBuf::from(s)))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Embedded(dir) => write!(f, "{}", dir.display()),
            // Never print a password.
            Location::Postgres(url) => match url::Url::parse(url) {
                Ok(mut u) if u.password().is_some() => {
                    let _ = u.set_password(Some("***"));
                    write!(f, "{u}")
                }
                _ => write!(f, "{url}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_and_postgres_urls() {
        assert_eq!(
            "lib".parse::<Location>().unwrap(),
            Location::Embedded("lib".into())
        );
        let pg: Location = "postgres://u:secret@localhost:5432/faces".parse().unwrap();
        assert!(matches!(pg, Location::Postgres(_)));
        assert!(!pg.to_string().contains("secret"));
        assert!("s3://bucket".parse::<Location>().is_err());
        assert!("".parse::<Location>().is_err());
    }
}
